"""IGN's gradient routing, checked numerically against independently built expectations.

Expected gradients are built by hand with torch.autograd.grad and explicit deep copies, never
with the package's own helpers, so a regression in losses.py cannot hide behind itself.
"""
import copy

import pytest
import torch

from ign_lessons import losses, models

DISTANCES = ("l1", "l2", "l2sq")


def nets(seed):
    torch.manual_seed(seed)
    mlp = models.build("mlp-ign", hidden=16, depth=2).double()
    conv = models.build("conv-ign", size=8, width=8, latent=4).double()
    return [(mlp, torch.randn(12, 2, dtype=torch.double), torch.randn(12, 2, dtype=torch.double)),
            (conv, torch.rand(6, 1, 8, 8, dtype=torch.double) * 2 - 1, torch.randn(6, 1, 8, 8, dtype=torch.double))]


def grads(f, scalar):
    """Gradient of a scalar with respect to f's parameters, as one flat vector (zeros where unused)."""
    params = list(f.parameters())
    got = torch.autograd.grad(scalar, params, allow_unused=True)
    return torch.cat([(g if g is not None else torch.zeros_like(p)).flatten() for g, p in zip(got, params)])


def d(a, b, kind):
    diff = (a - b).flatten(1)
    return {"l1": diff.abs().mean(1), "l2": (diff.pow(2).mean(1) + 1e-12).sqrt(),
            "l2sq": diff.pow(2).mean(1)}[kind]


def expected(f, x, z, kind):
    """(rec, idem, tight) gradients as IGN_NOTES routes them, built by hand."""
    rec = grads(f, d(f(x), x, kind).mean())
    twin = copy.deepcopy(f).requires_grad_(False)
    u = f(z).detach().requires_grad_(True)
    du = torch.autograd.grad(d(twin(u), u, kind).mean(), u)[0]          # through the outer copy into u
    idem = grads(f, (f(z) * du).sum())                                   # then through the inner f only
    c = f(z).detach()
    tight = grads(f, -d(f(c), c, kind).mean())                           # outer f only, input constant
    return rec, idem, tight


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("kind", DISTANCES)
def test_each_term_is_routed_as_in_the_notes(seed, kind):
    for f, x, z in nets(seed):
        want = expected(f, x, z, kind)
        got = [grads(f, term) for term in losses.ign_terms(f, x, z, distance=kind)]
        for name, g, w in zip(("rec", "idem", "tight"), got, want):
            assert torch.allclose(g, w, atol=1e-12, rtol=1e-9), f"{name} gradient misrouted ({kind})"


@pytest.mark.parametrize("kind", DISTANCES)
def test_frozen_copy_stopgrad_and_paper_listing_forms_agree(kind):
    weights = (20.0, 20.0, 2.5)
    for seed in range(3):
        for f, x, z in nets(seed):
            frozen_form = grads(f, losses.ign_loss(f, x, z, weights, kind)[0])
            stopgrad = grads(f, losses.ign_loss_stopgrad(f, x, z, weights, kind))
            listing = grads(f, losses.ign_loss_paper_listing(f, losses.frozen_copy(f), x, z, weights, kind))
            assert torch.allclose(frozen_form, stopgrad, atol=1e-12, rtol=1e-9)
            assert torch.allclose(frozen_form, listing, atol=1e-12, rtol=1e-9)
            assert frozen_form.abs().max() > 1e-6  # a zero gradient would make the checks empty


@pytest.mark.parametrize("bug", losses.IGN_BUGS)
def test_each_public_routing_bug_gives_a_different_gradient(bug):
    for f, x, z in nets(0):
        right = grads(f, sum(w * t for w, t in zip((20, 20, 2.5), losses.ign_terms(f, x, z))))
        wrong = grads(f, sum(w * t for w, t in zip((20, 20, 2.5), losses.ign_terms_with_bug(f, x, z, bug))))
        assert (right - wrong).abs().max() > 1e-4 * right.abs().max(), f"{bug} is indistinguishable"


def test_tightness_through_the_frozen_copy_has_zero_gradient():
    for f, x, z in nets(1):
        tight = losses.ign_terms_with_bug(f, x, z, "tight_frozen")[2]
        assert not tight.requires_grad or grads(f, tight).abs().max() == 0


def test_frozen_network_passes_gradient_to_its_input_but_not_its_weights():
    f, _, z = nets(0)[0]
    u = z.clone().requires_grad_(True)
    losses.frozen(f)(u).pow(2).sum().backward()
    assert u.grad is not None and u.grad.abs().max() > 0
    assert all(p.grad is None for p in f.parameters())
    assert all(not p.requires_grad for p in losses.frozen_copy(f).parameters())


def test_clamp_bounds_tightness_by_a_times_rec_with_a_tanh_shape():
    rec = torch.tensor([0.1, 0.2, 0.4])
    tight = torch.tensor([-0.01, -1.0, -100.0])
    clamped = losses.tight_clamp(tight, rec, scale=1.5)
    assert torch.allclose(clamped, torch.tanh(tight / (1.5 * rec)) * 1.5 * rec)
    assert (clamped.abs() <= 1.5 * rec).all() and (clamped.abs() <= tight.abs()).all()
    assert torch.isclose(clamped[0], tight[0], rtol=0.01)  # nearly the identity for small values
    f, x, z = nets(0)[0]
    free = losses.ign_terms(f, x, z)[2]
    bounded = losses.ign_terms(f, x, z, clamp=1.5)[2]
    rec_mean = losses.ign_terms(f, x, z)[0]
    assert bounded.abs() <= free.abs() + 1e-12 and bounded.abs() <= 1.5 * rec_mean.detach() * 1.0001 + 1e-12
