"""Each checker of 06_ign_digits accepts the worked solution and rejects typical mistakes."""
import math

import pytest
import torch

from ign_lessons import data, losses
from ign_lessons.exercises import Wrong
from ign_lessons.exercises import ign_digits as checks


def stub(*args):
    raise NotImplementedError


def solution_frequency(images, n, seed):
    m = images.mean()
    amplitude = torch.fft.fft2(images - m).abs().pow(2).mean(0).sqrt()
    g = torch.Generator().manual_seed(seed)
    eps = torch.randn(n, *images.shape[1:], generator=g)
    h, w = images.shape[-2:]
    return torch.fft.ifft2(torch.fft.fft2(eps) * amplitude / math.sqrt(h * w)).real + m


def test_frequency_noise():
    assert checks.check_frequency_noise(solution_frequency)
    assert checks.check_frequency_noise(stub).status == "not attempted"
    images = data.digits(split="train")[0]
    seeded = lambda seed: torch.Generator().manual_seed(seed)
    for wrong, words in [
        (lambda im, n, seed: solution_frequency(im, n, seed)[:, 0], "shape"),
        (lambda im, n, seed: solution_frequency(im, n, seed) - im.mean(), "mean pixel value"),
        (lambda im, n, seed: (solution_frequency(im, n, seed) - im.mean()) * 8 + im.mean(), "times their amplitude"),
        (lambda im, n, seed: torch.randn(n, 1, 8, 8, generator=seeded(seed)) * im.std() + im.mean(),
         "differs from the digits'"),
        (lambda im, n, seed: (im.mean(0) + im.std(0) * torch.randn(n, 1, 8, 8, generator=seeded(seed))),
         "differs from the digits'|per-pixel means"),
        (lambda im, n, seed: solution_frequency(im, n, 0), "different seeds"),
    ]:
        with pytest.raises(Wrong, match=words):
            checks.check_frequency_noise.strict(wrong)
    assert images.shape[1:] == (1, 8, 8)


def solution_coverage(f, x, pool):
    with torch.no_grad():
        table = torch.cdist(x.flatten(1), f(pool).flatten(1), p=1)
        chosen = table.argmin(1)
    return (f(pool[chosen]) - x).abs().flatten(1).mean(1).mean()


def test_coverage():
    assert checks.check_coverage(solution_coverage)
    assert checks.check_coverage(losses.coverage_loss)
    assert checks.check_coverage(stub).status == "not attempted"

    def reverse(f, x, pool):
        fz = f(pool)
        return torch.cdist(fz.flatten(1), x.flatten(1), p=1).min(1).values.mean() / 64

    def by_input(f, x, pool):
        chosen = torch.cdist(x.flatten(1), pool.flatten(1), p=1).argmin(1)
        return (f(pool[chosen]) - x).abs().flatten(1).mean(1).mean()

    def all_candidates(f, x, pool):
        return (f(pool).flatten(1)[None] - x.flatten(1)[:, None]).abs().mean(2).mean()

    def detached(f, x, pool):
        return solution_coverage(f, x, pool).detach()

    for wrong, words in [(reverse, "mode-seeking"), (by_input, "source z"), (all_candidates, "every candidate"),
                         (detached, "no gradient"), (lambda f, x, pool: solution_coverage(f, x, pool) * 2, "value"),
                         (lambda f, x, pool: solution_coverage(f, x, pool).reshape(1), "one number")]:
        with pytest.raises(Wrong, match=words):
            checks.check_coverage.strict(wrong)


def solution_nearest(images, reference):
    return torch.cdist(images.flatten(1), reference.flatten(1), p=1).min(1).values / images[0].numel()


def test_nearest_distance():
    assert checks.check_nearest_distance(solution_nearest)
    assert checks.check_nearest_distance(stub).status == "not attempted"
    for wrong, words in [
        (lambda im, ref: solution_nearest(im, ref) * 64, "64 times"),
        (lambda im, ref: solution_nearest(im, ref)[:, None], "shape"),
        (lambda im, ref: torch.cdist(im.flatten(1), ref.flatten(1)).min(1).values / 64, "some distances"),
        (lambda im, ref: solution_nearest(im, ref) + 0.1, "distance 0"),
    ]:
        with pytest.raises(Wrong, match=words):
            checks.check_nearest_distance.strict(wrong)
