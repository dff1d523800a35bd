import pytest
import torch
import torch.nn.functional as F

from ign_lessons.exercises import Wrong
from ign_lessons.exercises import gan_2d as checks


def test_nonsaturating_loss_checker():
    assert checks.check_nonsaturating_loss(lambda t: F.softplus(-t).mean())
    wrong = {
        "naive, overflows": lambda t: -torch.log(torch.sigmoid(t)).mean(),
        "minimax": lambda t: -F.softplus(t).mean(),
        "sign": lambda t: -F.softplus(-t).mean(),
        "sum": lambda t: F.softplus(-t).sum(),
        "python float": lambda t: F.softplus(-t).mean().item(),
        "detached": lambda t: F.softplus(-t).mean().detach(),
    }
    for answer in wrong.values():
        with pytest.raises(Wrong):
            checks.check_nonsaturating_loss.strict(answer)
    assert not checks.check_nonsaturating_loss(lambda t: (_ for _ in ()).throw(NotImplementedError))


def _push(D, fake, sign=-1.0, reduce="sum", loss=lambda t: F.softplus(-t)):
    fake = fake.detach().clone().requires_grad_(True)
    values = loss(D(fake))
    grad, = torch.autograd.grad(values.sum() if reduce == "sum" else values.mean(), fake)
    return sign * grad


def test_push_on_fakes_checker():
    assert checks.check_push_on_fakes(_push)
    with pytest.raises(Wrong, match="wrong way"):
        checks.check_push_on_fakes.strict(lambda D, fake: _push(D, fake, sign=1.0))
    with pytest.raises(Wrong, match="too short"):
        checks.check_push_on_fakes.strict(lambda D, fake: _push(D, fake, reduce="mean"))
    with pytest.raises(Wrong, match="minimax"):
        checks.check_push_on_fakes.strict(lambda D, fake: _push(D, fake, loss=lambda t: -F.softplus(t)))
    with pytest.raises(Wrong, match="shape"):
        checks.check_push_on_fakes.strict(lambda D, fake: _push(D, fake)[:, 0])


def _covered(samples, modes, radius=0.15, min_share=0.01, use_radius=True, of_all=True, use_share=True):
    distance = torch.cdist(samples, modes)
    near = distance.min(1).values < radius if use_radius else torch.ones(len(samples), dtype=torch.bool)
    counts = torch.bincount(distance.argmin(1)[near], minlength=len(modes))
    total = len(samples) if of_all else int(near.sum())
    return int((counts >= (min_share * total if use_share else 1)).sum())


def test_modes_covered_checker():
    assert checks.check_modes_covered(_covered)
    with pytest.raises(Wrong, match="handful"):
        checks.check_modes_covered.strict(lambda *a: _covered(*a, use_share=False))
    with pytest.raises(Wrong, match="far from every mode"):
        checks.check_modes_covered.strict(lambda *a: _covered(*a, use_radius=False))
    with pytest.raises(Wrong, match="ALL samples"):
        checks.check_modes_covered.strict(lambda *a: _covered(*a, of_all=False))
