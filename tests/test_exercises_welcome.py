import math

import numpy as np
import pytest
import torch

from ign_lessons import data
from ign_lessons.exercises import Wrong
from ign_lessons.exercises import welcome as checks


def good_means():
    images, labels = data.digits()
    return torch.stack([images[labels == k].mean(0) for k in range(10)])


def good_ring(n, seed):
    g = torch.Generator().manual_seed(seed)
    angle = torch.randint(8, (n,), generator=g) * 2 * math.pi / 8
    return 2 * torch.stack([angle.cos(), angle.sin()], 1) + 0.05 * torch.randn(n, 2, generator=g)


def test_checkers_accept_the_solutions():
    assert checks.check_class_means(good_means)
    assert checks.check_ring_sampler(good_ring)


def test_stubs_are_reported_not_failed():
    def stub(*args):
        raise NotImplementedError
    assert checks.check_class_means(stub).status == "not attempted"


@pytest.mark.parametrize("answer, words", [
    (lambda: good_means().numpy(), "torch tensor"),
    (lambda: good_means()[:, 0], "shape"),
    (lambda: good_means().flip(0), "class"),
])
def test_class_means_checker_rejects_wrong_answers(answer, words):
    with pytest.raises(Wrong, match=words):
        checks.check_class_means.strict(answer)


@pytest.mark.parametrize("answer, words", [
    (lambda n, s: torch.randn(n, 2), "too far"),
    (lambda n, s: data.toy2d("ring", n, seed=s, noise=0.01), "spread"),
    (lambda n, s: good_ring(n, 0), "different seeds"),
    (lambda n, s: good_ring(n, s) + 1e-3 * torch.randn(n, 2), "same seed"),
    (lambda n, s: np.zeros((n, 2)), "torch tensor"),
])
def test_ring_checker_rejects_wrong_answers(answer, words):
    with pytest.raises(Wrong, match=words):
        checks.check_ring_sampler.strict(answer)
