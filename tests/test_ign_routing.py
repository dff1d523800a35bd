"""IGN's gradient routing, term by term, for the correct loss, the public bugs, the clamp and the trainer.

Every expected gradient is built here by hand, with torch.autograd.grad, a manual chain rule
through f(z), and explicit deep copies of the network; the package's own helpers (losses.frozen,
...) are never used to build an expectation, so a regression in losses.py cannot hide behind itself.
"""
import copy

import pytest
import torch

from ign_lessons import data, losses, models, train

DISTANCES = ("l1", "l2", "l2sq")


def d(a, b, kind):
    diff = (a - b).flatten(1)
    return {"l1": diff.abs().mean(1), "l2": (diff.pow(2).mean(1) + 1e-12).sqrt(),
            "l2sq": diff.pow(2).mean(1)}[kind]


def small_nets(seed):
    torch.manual_seed(seed)
    mlp = models.build("mlp-ign", hidden=12, depth=2).double()
    conv = models.build("conv-ign", size=8, width=8, latent=4).double()
    return [(mlp, 2 * torch.randn(10, 2, dtype=torch.double), torch.randn(10, 2, dtype=torch.double)),
            (conv, torch.rand(4, 1, 8, 8, dtype=torch.double) * 2 - 1, torch.randn(4, 1, 8, 8, dtype=torch.double))]


def grads(f, scalar):
    params = list(f.parameters())
    if not scalar.requires_grad:
        return torch.cat([torch.zeros_like(p).flatten() for p in params])
    got = torch.autograd.grad(scalar, params, allow_unused=True, retain_graph=True)
    return torch.cat([(g if g is not None else torch.zeros_like(p)).flatten() for g, p in zip(got, params)])


def same(a, b):
    return torch.allclose(a, b, atol=1e-12, rtol=1e-9)


def differ(a, b):
    return (a - b).abs().max() > 1e-6 * max(a.abs().max(), b.abs().max(), 1e-12)


def inner_only(f, z, kind, sign=1.0):
    """Gradient of sign * d(f_copy(u), u) at u = f(z), carried through the inner f only (chain rule)."""
    twin = copy.deepcopy(f).requires_grad_(False)
    u = f(z).detach().requires_grad_(True)
    du, = torch.autograd.grad(sign * d(twin(u), u, kind).mean(), u)
    return grads(f, (f(z) * du).sum())


def outer_only(f, z, kind, sign=1.0):
    """Gradient of sign * d(f(c), c) with c = f_copy(z), a constant: through the outer f only."""
    c = copy.deepcopy(f)(z).detach()
    return grads(f, sign * d(f(c), c, kind).mean())


def both(f, z, kind, sign=1.0):
    """Gradient of sign * d(f(f(z)), f(z)) with nothing frozen: inner plus outer."""
    fz = f(z)
    return grads(f, sign * d(f(fz), fz, kind).mean())


# --- what each term's gradient is, and what each bug turns it into ---------------------------------

def hand_built(f, x, z, kind, routing="right"):
    """(rec, idem, tight) gradients for the correct routing or one of losses.IGN_BUGS, built by hand."""
    rec = grads(f, d(f(x), x, kind).mean())
    idem, tight = inner_only(f, z, kind), outer_only(f, z, kind, -1.0)
    if routing == "tight_frozen":
        tight = torch.zeros_like(tight)
    elif routing == "tight_not_detached":
        tight = both(f, z, kind, -1.0)
    elif routing == "swapped":
        idem, tight = outer_only(f, z, kind), inner_only(f, z, kind, -1.0)
    return rec, idem, tight


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("kind", DISTANCES)
def test_each_term_is_routed_as_in_the_paper(seed, kind):
    for f, x, z in small_nets(seed):
        want = hand_built(f, x, z, kind)
        got = [grads(f, term) for term in losses.ign_terms(f, x, z, distance=kind)]
        for name, g, w in zip(("rec", "idem", "tight"), got, want):
            assert same(g, w), f"{name} gradient misrouted ({kind})"
            assert w.abs().max() > 1e-6, f"{name}: a zero expectation would make the check empty"


@pytest.mark.parametrize("kind", DISTANCES)
@pytest.mark.parametrize("bug", losses.IGN_BUGS)
def test_each_bug_demo_misroutes_exactly_the_terms_the_notes_name(bug, kind):
    """ign_terms_with_bug is faithful (notebook 04 trains it), and it changes only the terms it names."""
    changed = {"tight_frozen": {"tight"}, "tight_not_detached": {"tight"}, "swapped": {"idem", "tight"}}[bug]
    for seed in (0, 1):
        for f, x, z in small_nets(seed):
            want_bug = hand_built(f, x, z, kind, bug)
            want_right = hand_built(f, x, z, kind)
            got = [grads(f, t) for t in losses.ign_terms_with_bug(f, x, z, bug, distance=kind)]
            for name, g, wb, wr in zip(("rec", "idem", "tight"), got, want_bug, want_right):
                assert same(g, wb), f"{bug}: {name} is not routed as the bug says"
                if name in changed:
                    assert differ(g, wr), f"{bug}: {name} should differ from the correct routing"
                else:
                    assert same(g, wr), f"{bug}: {name} should be untouched"


@pytest.mark.parametrize("bug", losses.IGN_BUGS)
def test_a_regression_to_any_bug_fails_the_routing_check(bug):
    """Pretend ign_terms regressed to a bug: the per-term comparison with the notes must fail."""
    for f, x, z in small_nets(2):
        want = hand_built(f, x, z, "l1")
        got = [grads(f, t) for t in losses.ign_terms_with_bug(f, x, z, bug)]
        assert not all(same(g, w) for g, w in zip(got, want))
        correct = [grads(f, t) for t in losses.ign_terms(f, x, z)]
        assert all(same(g, w) for g, w in zip(correct, want))


def test_the_bugs_are_the_right_terms_rearranged():
    """Exact identities the notebook states: tight_not_detached = tight - idem, so the bug trains with
    lambda_i - lambda_t; swapped = the two adversarial terms exchanged and negated."""
    for f, x, z in small_nets(4):
        rec, idem, tight = (grads(f, t) for t in losses.ign_terms(f, x, z))
        _, _, not_detached = (grads(f, t) for t in losses.ign_terms_with_bug(f, x, z, "tight_not_detached"))
        _, idem_sw, tight_sw = (grads(f, t) for t in losses.ign_terms_with_bug(f, x, z, "swapped"))
        assert same(not_detached, tight - idem)
        assert same(idem_sw, -tight) and same(tight_sw, -idem)


# --- the frozen copy: no weight copies, no wasted gradients -----------------------------------------

def test_frozen_application_shares_the_weights_and_follows_updates():
    f, _, z = small_nets(0)[0]
    apply = losses.frozen(f)
    before = apply(z)
    with torch.no_grad():
        for p in f.parameters():
            p.add_(0.1)
    assert not torch.allclose(apply(z), before), "a frozen application must not hold a stale copy"
    assert torch.allclose(apply(z), f(z))


def test_a_frozen_network_passes_gradient_to_its_input_but_not_its_weights():
    f, _, z = small_nets(0)[0]
    u = z.clone().requires_grad_(True)
    losses.frozen(f)(u).pow(2).sum().backward()
    assert u.grad is not None and u.grad.abs().max() > 0
    assert all(p.grad is None for p in f.parameters())
    assert all(not p.requires_grad for p in losses.frozen_copy(f).parameters())


def test_idem_leaves_no_gradient_from_the_outer_application():
    """Backward of idem alone: the gradient f's weights accumulate is the inner chain only."""
    for f, _, z in small_nets(1):
        want = inner_only(f, z, "l1")
        f.zero_grad(set_to_none=True)
        idem = losses.ign_terms(f, z, z)[1]
        idem.backward()
        got = torch.cat([p.grad.flatten() for p in f.parameters()])
        assert same(got, want)


def test_paper_listing_copy_is_refreshed_and_never_gets_gradients():
    f, x, z = small_nets(0)[0]
    twin = losses.frozen_copy(f)
    opt = torch.optim.SGD(f.parameters(), lr=0.1)
    for _ in range(2):
        loss = losses.ign_loss_paper_listing(f, twin, x, z, losses.PAPER_LISTING_WEIGHTS, "l2sq")
        assert all(torch.equal(a, b) for a, b in zip(f.state_dict().values(), twin.state_dict().values()))
        opt.zero_grad()
        loss.backward()
        opt.step()
        assert all(p.grad is None and not p.requires_grad for p in twin.parameters())
    assert not all(torch.equal(a, b) for a, b in zip(f.state_dict().values(), twin.state_dict().values()))


@pytest.mark.parametrize("weights", [(1.0, 1.0, 0.1), (20.0, 20.0, 1.0), (3.0, 0.0, 2.0), (0.0, 5.0, 0.0)])
@pytest.mark.parametrize("kind", DISTANCES)
def test_three_forms_agree_for_any_weights(weights, kind):
    """Frozen-function form == stop-gradient form == paper listing, to float precision (no clamp)."""
    for f, x, z in small_nets(3):
        frozen_form = grads(f, losses.ign_loss(f, x, z, weights, kind)[0])
        stopgrad = grads(f, losses.ign_loss_stopgrad(f, x, z, weights, kind))
        listing = grads(f, losses.ign_loss_paper_listing(f, losses.frozen_copy(f), x, z, weights, kind))
        by_hand = sum(w * g for w, g in zip(weights, hand_built(f, x, z, kind)))
        assert same(frozen_form, by_hand) and same(stopgrad, by_hand) and same(listing, by_hand)


# --- the clamp ------------------------------------------------------------------------------------

@pytest.mark.parametrize("clamp_ref", ["paired", "batch"])
def test_clamped_tightness_is_routed_through_the_outer_f_with_a_constant_bound(clamp_ref):
    a = 1.5
    for f, x, z in small_nets(0):
        c = copy.deepcopy(f)(z).detach()
        t = -d(f(c), c, "l1")
        r = d(copy.deepcopy(f)(x), x, "l1").detach()
        r = r if clamp_ref == "paired" else r.mean().expand_as(t)
        want = grads(f, (torch.tanh(t / (a * r)) * a * r).mean())
        tight = losses.ign_terms(f, x, z, clamp=a, clamp_ref=clamp_ref)[2]
        assert same(grads(f, tight), want)
        assert tight.abs() <= a * r.mean() + 1e-12


def test_clamp_shape_and_bound():
    rec = torch.full((200,), 0.1, dtype=torch.double)
    tight = -torch.logspace(-4, 2, 200, dtype=torch.double).requires_grad_(True)
    out = losses.tight_clamp(tight, rec, 1.5)
    assert (out <= 0).all() and (out >= -1.5 * rec).all()
    assert (out[1:] <= out[:-1]).all() and (out[1:120] < out[:119]).all(), "the clamp is monotonic"
    assert torch.allclose(out[:20], tight[:20], rtol=1e-3), "nearly the identity for small values"
    assert torch.allclose(out[-20:], -1.5 * rec[-20:], rtol=1e-6), "saturates at -a rec"
    g, = torch.autograd.grad(out.sum(), tight)
    assert torch.allclose(g, 1 - torch.tanh(tight.detach() / 0.15) ** 2)


def test_paired_clamp_refuses_unpaired_batches():
    f, x, z = small_nets(0)[0]
    with pytest.raises(ValueError, match="clamp_ref='batch'"):
        losses.ign_terms(f, x, z[:5], clamp=1.5)
    losses.ign_terms(f, x, z[:5], clamp=1.5, clamp_ref="batch")
    with pytest.raises(ValueError, match="clamp_ref"):
        losses.ign_terms(f, x, z, clamp=1.5, clamp_ref="nearest")


# --- the trainer applies exactly this loss ----------------------------------------------------------

def test_one_trainer_step_is_one_adam_step_on_the_routed_loss():
    points = data.toy2d("ring", 64)
    torch.manual_seed(5)
    f = models.build("mlp-ign", hidden=16, depth=2)
    twin = copy.deepcopy(f)
    z = torch.randn(16, 2)
    settings = dict(weights=(20, 20, 1), distance="l1", clamp=1.5)
    train.train_ign(points, steps=1, batch=16, lr=1e-3, f=f, noise=lambda n: z, progress=False, **settings)
    x = points[torch.randint(len(points), (16,), generator=torch.Generator().manual_seed(0))]
    opt = torch.optim.Adam(twin.parameters(), lr=1e-3, betas=(0.5, 0.999))
    losses.ign_loss(twin, x, z, settings["weights"], settings["distance"], settings["clamp"])[0].backward()
    opt.step()
    for a, b in zip(f.parameters(), twin.parameters()):
        assert torch.allclose(a, b, atol=1e-7)


def test_trainer_defaults_depend_on_the_data_shape():
    points = data.toy2d("moons", 256)
    f, h = train.train_ign(points, steps=2, progress=False)
    assert {k: h.settings[k] for k in train.IGN_DEFAULTS["points"] if k != "steps"} == \
        {k: v for k, v in train.IGN_DEFAULTS["points"].items() if k != "steps"}
    assert torch.allclose(torch.tensor(f.source["mean"]), points.mean(0), atol=1e-5)
    assert torch.allclose(torch.tensor(f.source["std"]), points.std(0), atol=1e-5)
    z = f.to_source(torch.randn(20000, 2))
    assert torch.allclose(z.std(0), points.std(0), rtol=0.05)
    images = data.digits()[0][:32]
    g, h = train.train_ign(images, steps=1, progress=False)
    assert h.settings["lr"] == train.IGN_DEFAULTS["images"]["lr"] and g.source is None
    mine = models.build("mlp-ign")
    train.train_ign(points, steps=1, f=mine, progress=False)
    assert mine.source is None, "a network you pass keeps its own source"
