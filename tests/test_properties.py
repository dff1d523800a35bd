"""Properties of the core that must hold for any input (hypothesis), and tests that fail for the
mutations a review found no test catching: a minimax generator loss where the non-saturating one
belongs, trainers that ignore the source or never step the generator, a z of the wrong shape or
size, and a mode threshold ten times too small."""
import copy
import inspect
import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from ign_lessons import data, losses, metrics, models, runtime, train
from ign_lessons.losses import IGNWeights

FAST = settings(max_examples=25, deadline=None, database=None)
FLOOR = 2e-6  # the "l2" distance is sqrt(mean square + 1e-12): 1e-6 at an exact zero, so its gradient is finite


def _net(seed=0, hidden=8):
    torch.manual_seed(seed)
    return models.build("mlp-ign", hidden=hidden, depth=2).double()


class Identity(torch.nn.Module):
    """A network for which every point is a fixed point: f(y) = y."""

    def __init__(self):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.ones((), dtype=torch.float64))

    def forward(self, y):
        return self.scale * y


points = st.integers(2, 16).flatmap(lambda n: st.lists(st.floats(-3, 3), min_size=2 * n, max_size=2 * n)
                                    .map(lambda v: torch.tensor(v, dtype=torch.float64).reshape(-1, 2)))


# --- losses: shapes, signs, zeros, invariances, the clamp's bound ----------------------------------

@FAST
@given(x=points, seed=st.integers(0, 5), kind=st.sampled_from(losses.DISTANCES))
def test_ign_terms_are_scalars_with_the_right_signs(x, seed, kind):
    f = _net(seed)
    z = torch.randn(len(x), 2, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    rec, idem, tight = losses.ign_terms(f, x, z, distance=kind)
    assert rec.dim() == idem.dim() == tight.dim() == 0
    assert rec >= 0 and idem >= 0 and tight <= 0
    assert torch.isclose(idem.detach(), -tight.detach()), "idem and -tight have the same value; only routing differs"


@FAST
@given(x=points, kind=st.sampled_from(losses.DISTANCES))
def test_every_ign_term_vanishes_at_a_true_fixed_point(x, kind):
    f = Identity()
    z = x.flip(0) + 0.5
    rec, idem, tight = losses.ign_terms(f, x, z, distance=kind)
    assert rec.abs() < FLOOR and idem.abs() < FLOOR and tight.abs() < FLOOR
    loss = losses.ign_loss_stopgrad(f, x, z, IGNWeights(20, 20, 2.5), kind)
    assert loss.abs() < 50 * FLOOR


@FAST
@given(x=points, seed=st.integers(0, 5))
def test_ign_loss_is_invariant_to_permuting_the_batch(x, seed):
    f = _net(seed)
    z = torch.randn(len(x), 2, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed + 1))
    w = IGNWeights(20, 20, 2.5)
    a, b = losses.ign_loss(f, x, z, w)[0], losses.ign_loss(f, x[order], z[order], w)[0]
    assert torch.isclose(a, b, rtol=1e-10, atol=1e-12)


@FAST
@given(tight=st.lists(st.floats(-1e3, 0), min_size=1, max_size=20), rec=st.floats(1e-4, 10), a=st.floats(0.1, 5))
def test_the_clamp_never_exceeds_a_times_rec_and_never_changes_sign(tight, rec, a):
    t = torch.tensor(tight, dtype=torch.float64)
    r = torch.full_like(t, rec)
    out = losses.tight_clamp(t, r, a)
    assert (out.abs() <= a * r * (1 + 1e-12)).all() and (out <= 0).all()
    assert (out.abs() <= t.abs() + 1e-12).all(), "the clamp only ever shrinks the tightness"


@FAST
@given(logits=st.lists(st.floats(-50, 50), min_size=1, max_size=30))
def test_gan_losses_are_the_cross_entropy_forms(logits):
    t = torch.tensor(logits, dtype=torch.float64)
    D = lambda y: y
    assert torch.allclose(losses.gan_g_loss(D, t), F.softplus(-t).mean())            # non-saturating by default
    assert torch.allclose(losses.gan_g_loss(D, t, "minimax"), -F.softplus(t).mean())
    assert torch.allclose(losses.gan_d_loss(D, t, t), (F.softplus(-t) + F.softplus(t)).mean())


def test_the_default_generator_loss_still_pushes_when_d_wins():
    """The reason for the non-saturating loss: with D sure the fakes are fake, its gradient stays large."""
    fake = torch.full((8,), -10.0, requires_grad=True)
    grad, = torch.autograd.grad(losses.gan_g_loss(lambda y: y, fake), fake)
    assert grad.abs().mean() > 0.1 / 8
    G, D = models.build("mlp-generator", hidden=8), models.build("mlp-discriminator", hidden=8)
    x = data.toy2d("ring", 64)
    torch.manual_seed(0)
    G1, _, history = train.train_gan(x, steps=1, batch=32, G=G, D=D, progress=False)
    assert history["g_loss"][0] > math.log(2) * 0.5, "train_gan's generator loss is the non-saturating one"


def test_a_z_of_another_shape_is_refused_not_broadcast():
    f, x = _net(), torch.randn(8, 2, dtype=torch.float64)
    for z in (torch.randn(8, 1, dtype=torch.float64), torch.randn(8, 3, dtype=torch.float64)):
        with pytest.raises(runtime.CourseError, match="shape of the data"):
            losses.ign_terms(f, x, z)
        with pytest.raises(runtime.CourseError, match="shape of the data"):
            losses.split_ign_terms(f, _net(1), x, z)
    with pytest.raises(runtime.CourseError, match="shape of the data"):
        train.train_ign(data.toy2d("ring", 64), steps=1, noise=lambda n: torch.randn(n, 1), progress=False)


# --- trainers: the source, the batch, both players step ----------------------------------------------

def _inputs_seen(net):
    seen = []
    net.register_forward_pre_hook(lambda module, inputs: seen.append(inputs[0].detach().clone()))
    return seen


def test_train_ign_draws_z_from_the_networks_source_at_full_batch():
    points = data.toy2d("ring", 256) + 10
    f = models.build("mlp-ign", source={"mean": [10.0, 10.0], "std": [1.0, 1.0]})
    seen = _inputs_seen(f)
    train.train_ign(points, steps=2, batch=32, f=f, progress=False)
    assert len(seen[0]) == 2, "train.check_fits first tries f on two samples"
    seen = seen[1:]
    assert len(seen) == 2 * 4 and all(len(y) == 32 for y in seen), "4 passes of f per step, each a whole batch"
    z = seen[1::4]  # each step applies f to x, z, f(z) (frozen) and sg f(z)
    assert all(abs(float(y.mean()) - 10) < 1 for y in z), "z comes from the network's source, not N(0, I)"


def test_train_split_ign_steps_both_networks_and_draws_a_full_batch_of_z():
    points = data.toy2d("ring", 256)
    torch.manual_seed(0)
    G, A = models.build("mlp-ign", hidden=8), models.build("mlp-ign", hidden=8)
    before = [torch.cat([p.detach().flatten().clone() for p in n.parameters()]) for n in (G, A)]
    seen = _inputs_seen(G)
    train.train_split_ign(points, steps=3, batch=16, G=G, A=A, progress=False)
    after = [torch.cat([p.detach().flatten() for p in n.parameters()]) for n in (G, A)]
    assert not torch.equal(before[0], after[0]), "the generator G never moved"
    assert not torch.equal(before[1], after[1]), "the autoencoder A never moved"
    assert [len(z) for z in seen] == [2, 16, 16, 16], "check_fits's probe on two samples, then a full batch per step"


# --- metrics ---------------------------------------------------------------------------------------

def test_a_mode_needs_one_percent_of_the_samples_to_count_as_covered():
    modes = data.toy2d_modes("ring")
    main = modes[0] + 0.01 * torch.randn(995, 2, generator=torch.Generator().manual_seed(0))
    few = modes[1] + 0.01 * torch.randn(5, 2, generator=torch.Generator().manual_seed(1))  # 0.5% of the samples
    assert metrics.mode_coverage(torch.cat([main, few]), "ring")["modes"] == 1
    some = modes[1] + 0.01 * torch.randn(12, 2, generator=torch.Generator().manual_seed(1))  # 1.2%
    assert metrics.mode_coverage(torch.cat([main, some]), "ring")["modes"] == 2


@FAST
@given(n=st.integers(20, 300), seed=st.integers(0, 10))
def test_mode_coverage_is_invariant_to_order_and_bounded(n, seed):
    x = data.toy2d("ring", n, seed=seed) * 1.1
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    a, b = metrics.mode_coverage(x, "ring"), metrics.mode_coverage(x[order], "ring")
    assert a == b
    assert 0 <= a["modes"] <= 8 and 0 <= a["near"] <= 1 and sum(a["shares"]) <= 1 + 1e-6


# --- survivors of mutation testing (python3 course.py mutate): each test kills a mutant that changed a result -----

def test_ebgan_discriminator_loss_is_energy_of_reals_plus_the_hinge_on_fakes():
    A, x, fake = _net(1), torch.randn(12, 2, dtype=torch.float64), torch.randn(12, 2, dtype=torch.float64)
    for margin in (0.1, 5.0):
        want = losses.energy(A, x).mean() + (margin - losses.energy(A, fake)).clamp_min(0).mean()
        assert torch.allclose(losses.ebgan_d_loss(A, x, fake, margin), want)
    energy = lambda y: losses.energy(A, y, "l2sq")
    assert torch.allclose(losses.ebgan_d_loss(A, x, fake, 0.2, "l2sq"),
                          energy(x).mean() + (0.2 - energy(fake)).clamp_min(0).mean())


def test_split_ign_terms_and_step_weigh_the_three_losses_with_their_signs():
    G, A = _net(2), _net(3)
    x, z = torch.randn(10, 2, dtype=torch.float64), torch.randn(10, 2, dtype=torch.float64)
    rec, idem, tight = losses.split_ign_terms(G, A, x, z, "l1")
    fake = G(z)
    assert torch.allclose(tight, -losses.per_sample_distance(A(fake), fake, "l1").mean()) and tight < 0
    assert torch.allclose(rec, losses.per_sample_distance(A(x), x, "l1").mean())
    _, _, tight_sq = losses.split_ign_terms(G, A, x, z, "l2sq")
    assert torch.allclose(tight_sq, -losses.per_sample_distance(A(fake), fake, "l2sq").mean())
    step = train.SplitIGNStep(G, A, x, torch.Generator().manual_seed(0), IGNWeights(2, 3, 5), batch=10)
    out = step()
    assert torch.allclose(out["loss"], 2 * out["rec"] + 3 * out["idem"] + 5 * out["tight"])


def test_fake_gradients_are_each_samples_own_gradient():
    torch.manual_seed(0)
    D = models.build("mlp-discriminator", hidden=8).double()
    fake = torch.randn(6, 2, dtype=torch.float64)
    arrows = losses.fake_gradients(D, fake)
    for i in range(len(fake)):
        one = fake[i:i + 1].clone().requires_grad_(True)
        grad, = torch.autograd.grad(F.softplus(-D(one)).sum(), one)
        assert torch.allclose(arrows[i], -grad[0])


def test_the_r1_penalty_trains_the_discriminator_through_its_input_gradient():
    torch.manual_seed(0)
    D = models.build("mlp-discriminator", hidden=8)
    penalty = train._r1_penalty(D, torch.randn(16, 2))
    grads = torch.autograd.grad(penalty, list(D.parameters()), allow_unused=True)
    assert any(g is not None and g.abs().sum() > 0 for g in grads)


def test_the_coverage_and_denoising_terms_enter_the_ign_step_with_their_weights():
    x = data.toy2d("ring", 64, seed=0)
    torch.manual_seed(0)
    f = models.build("mlp-ign", hidden=16)
    step = train.IGNStep(f, x, torch.Generator().manual_seed(0), IGNWeights(3, 1, 1), batch=32,
                         coverage=losses.Coverage(7.0, 2), real_noise=0.2)
    out = step()
    base = 3 * out["rec"] + out["idem"] + out["tight"]
    assert out["coverage"] > 0 and out["denoise"] > 0
    assert torch.allclose(out["loss"], base + 7.0 * out["coverage"] + 3 * out["denoise"], atol=1e-6)


def test_every_step_gives_its_optimisers_the_learning_rates_and_betas_it_was_given():
    x, gen, betas = data.toy2d("ring", 64, seed=0), torch.Generator().manual_seed(0), (0.3, 0.9)
    G, D, f, A = (models.build(name, hidden=8) for name in ("mlp-generator", "mlp-discriminator", "mlp-ign", "mlp-ign"))
    steps = {"gan": train.GANStep(G, D, x, gen, lr_g=0.011, lr_d=0.022, betas=betas),
             "ebgan": train.EBGANStep(G, A, x, gen, lr_g=0.011, lr_d=0.022, betas=betas),
             "ign": train.IGNStep(f, x, gen, IGNWeights(1, 1, 1), lr=0.033, betas=betas),
             "split": train.SplitIGNStep(G, A, x, gen, IGNWeights(1, 1, 1), lr=0.033, betas=betas)}
    for name, step in steps.items():
        groups = [g for opt in step.optimizers for g in opt.param_groups]
        assert all(g["betas"] == betas for g in groups), name
        assert sorted(g["lr"] for g in groups) == ([0.011, 0.022] if name in ("gan", "ebgan") else [0.033]), name


def test_the_ign_step_applies_its_clamp():
    x = data.toy2d("ring", 64, seed=0)
    torch.manual_seed(0)
    f = models.build("mlp-ign", hidden=16)
    outs = {clamp: train.IGNStep(f, x, torch.Generator().manual_seed(0), IGNWeights(1, 1, 5), batch=64,
                                 clamp=clamp, lr=0.0)() for clamp in (None, 0.01)}
    assert outs[0.01]["tight"] > outs[None]["tight"]  # the clamp bounds the negative tightness from below


def _sgd(step, name, lr=1.0):
    """Swap a step's Adam for plain SGD: the weight change is then -lr x the gradient, so a test can read the
    gradient (Adam's first step is lr x the sign of the gradient, blind to the loss's scale)."""
    nets = {"opt_d": step.nets[1], "opt_g": step.nets[0], "opt": step.nets[0]}
    setattr(step, name, torch.optim.SGD(nets[name].parameters(), lr=lr))


def _flat(net):
    return torch.cat([p.detach().flatten().clone() for p in net.parameters()])


@pytest.mark.parametrize("loss, r1", [("nonsaturating", 0.0), ("energy", 0.0), ("nonsaturating", 3.0), ("energy", 3.0)])
def test_gan_step_updates_each_player_with_its_own_loss_and_the_r1_scale(loss, r1):
    torch.manual_seed(0)
    G, D = models.build("mlp-generator", hidden=8), models.build("mlp-discriminator", hidden=8)
    samples = torch.randn(64, 2)
    step = train.GANStep(G, D, samples, torch.Generator().manual_seed(1), loss=loss, batch=8, r1=r1)
    _sgd(step, "opt_d")
    _sgd(step, "opt_g")
    state, gen_state, D_before, G_before = torch.get_rng_state(), step.gen.get_state(), _flat(D), _flat(G)
    Dc, Gc = copy.deepcopy(D), copy.deepcopy(G)
    values = step.d_update()
    assert torch.equal(_flat(G), G_before), "the discriminator's update moved the generator"
    torch.set_rng_state(state)
    x = samples[torch.randint(64, (8,), generator=torch.Generator().set_state(gen_state))]
    fake = Gc(torch.randn(8, *G.latent_shape))
    d_loss = (losses.energy_d_loss if loss == "energy" else losses.gan_d_loss)(Dc, x, fake)
    penalty = train._r1_penalty(Dc, x)
    total = d_loss + r1 / 2 * penalty
    want = torch.cat([g.flatten() for g in torch.autograd.grad(total, list(Dc.parameters()))])
    assert torch.allclose(values["d_loss"], d_loss.detach())
    assert torch.allclose(D_before - _flat(D), want, atol=1e-6), "D's update is not the gradient of d_loss + r1/2 R1"
    assert ("r1" in values) == bool(r1)
    D_now, G_now, state = _flat(D), _flat(G), torch.get_rng_state()
    Gc.load_state_dict(G.state_dict())
    g_values = step.g_update()
    assert torch.equal(_flat(D), D_now), "the generator's update moved the discriminator"
    torch.set_rng_state(state)
    fake = Gc(torch.randn(8, *G.latent_shape))
    judge = copy.deepcopy(D)
    g_loss = losses.energy_g_loss(judge, fake) if loss == "energy" else losses.gan_g_loss(judge, fake, loss)
    want = torch.cat([g.flatten() for g in torch.autograd.grad(g_loss, list(Gc.parameters()))])
    assert torch.allclose(g_values["g_loss"], g_loss.detach())
    assert torch.allclose(G_now - _flat(G), want, atol=1e-6), "G's update is not the gradient of its loss"


def test_nearest_generated_follows_the_distance_it_is_given():
    x = torch.tensor([[0.0, 0.0]])
    fz = torch.tensor([[0.9, 0.9], [1.5, 0.0]])  # L1: 1.8 vs 1.5 (the second); L2: 1.27 vs 1.5 (the first)
    assert losses.nearest_generated(x, fz, "l1").tolist() == [1]
    assert losses.nearest_generated(x, fz, "l2").tolist() == [0]
    assert losses.nearest_generated(x, fz, "l2sq").tolist() == [0]
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(20, 1, 3, 3, generator=g), torch.randn(30, 1, 3, 3, generator=g)
    for kind in losses.DISTANCES:
        table = torch.stack([losses.per_sample_distance(a, b[j].expand_as(a), kind) for j in range(30)], 1)
        assert torch.equal(losses.nearest_generated(a, b, kind), table.argmin(1)), kind


def test_default_models_fit_the_shape_of_the_data_and_the_role():
    points, images = torch.zeros(4, 2), torch.zeros(4, 3, 16, 16)
    G, D, f = train.default_models(points, ("generator", "discriminator", "ign"), hidden=16)
    assert [m.spec["kind"] for m in (G, D, f)] == ["mlp-generator", "mlp-discriminator", "mlp-ign"]
    assert all(m.spec["options"] == {"hidden": 16} for m in (G, D, f))
    G, D, f = train.default_models(images, ("generator", "discriminator", "ign"), latent=7)
    assert [m.spec["kind"] for m in (G, D, f)] == ["conv-generator", "conv-discriminator", "conv-ign"]
    assert G.spec["options"] == {"size": 16, "channels": 3, "latent": 7}
    assert D.spec["options"] == {"size": 16, "channels": 3}, "the discriminator takes no latent size"
    assert G(torch.zeros(2, *G.latent_shape)).shape == (2, 3, 16, 16) and D(images).shape[0] == 4
    assert [m.spec["kind"] for m in train.default_models(points, ("ign", "generator"))] == ["mlp-ign", "mlp-generator"]


def test_mode_trace_oscillation_reads_only_the_later_part_of_the_run():
    trace = metrics.ModeTrace(models.build("mlp-generator", hidden=4), n=10)
    trace.steps = [0, 100, 200, 300, 400]
    trace.shares = [[1, 0], [0, 1], [1, 0], [1, 0], [1, 0]]  # the mass jumps early, then holds still
    assert trace.oscillation(after=0.5) == 0.0
    assert trace.oscillation(after=0.0) == pytest.approx(0.5)
    trace.shares = [[1, 0], [1, 0], [1, 0], [0, 1], [1, 0]]  # it jumps late
    assert trace.oscillation(after=0.5) == pytest.approx(1.0)
    assert trace.oscillation(after=0.0) == pytest.approx(0.5)


def _moved(run):
    with runtime.threads(1):
        return _flat(run()[0])


@pytest.mark.parametrize("setting, value", [("distance", "l2sq"), ("lr", 3e-3), ("betas", (0.9, 0.9)),
                                            ("weights", (20, 5, 1)), ("batch", 8), ("clamp", 0.01)])
def test_train_ign_uses_each_setting_it_is_given(setting, value):
    points = data.toy2d("ring", 64)
    run = lambda **given: train.train_ign(points, steps=4, batch=16, seed=0, progress=False, **given)
    if setting == "batch":
        run = lambda **given: train.train_ign(points, steps=4, seed=0, progress=False, **given)
    assert not torch.equal(_moved(run), _moved(lambda: run(**{setting: value}))), f"train_ign ignored {setting}"
    _, history = train.train_ign(points, steps=1, progress=False, **{setting: value})
    assert history.settings[setting] == value


@pytest.mark.parametrize("setting, value", [("distance", "l2sq"), ("lr", 3e-3), ("betas", (0.9, 0.9)),
                                            ("weights", (20, 5, 1)), ("batch", 8)])
def test_train_split_ign_uses_each_setting_it_is_given(setting, value):
    points = data.toy2d("ring", 64)
    base = {"batch": 16} if setting != "batch" else {}
    run = lambda **given: train.train_split_ign(points, steps=4, seed=0, progress=False, **base, **given)
    assert not torch.equal(_moved(run), _moved(lambda: run(**{setting: value}))), f"split IGN ignored {setting}"


@pytest.mark.parametrize("setting, value", [("lr", 1e-2), ("batch", 8)])
def test_train_classifier_uses_each_setting_it_is_given(setting, value):
    run = lambda **given: train.train_classifier(steps=3, seed=0, progress=False, **{"batch": 16, **given})
    assert not torch.equal(_moved(run), _moved(lambda: run(**{setting: value}))), f"the classifier ignored {setting}"


def test_shape_coverage_counts_regions_near_the_curve_and_shares_of_all_samples():
    anchors, curve, labels = metrics.shape_regions("moons")
    on_curve = curve[labels == 0]  # points of one region, exactly on the noise-free curve
    far = curve[:len(on_curve)] + 10.0  # as many points far from every region
    cover = metrics.shape_coverage(torch.cat([on_curve, far]), "moons")
    assert cover["of"] == len(anchors) == metrics.SHAPE_REGIONS
    assert cover["near"] == pytest.approx(0.5) and cover["modes"] == 1
    assert cover["shares"][0] == pytest.approx(0.5) and sum(cover["shares"][1:]) == 0
    radius = 3 * data.DEFAULT_NOISE["moons"]
    point, up = on_curve[:1], torch.tensor([[0.0, 1.0]])
    just_in = metrics.shape_coverage(point + 0.9 * radius * up, "moons", min_share=0.5)
    wide = metrics.shape_coverage(point + 2 * radius * up, "moons", radius=4 * radius)
    assert just_in["near"] == 1.0 and just_in["modes"] == 1
    assert metrics.shape_coverage(point + 10 * up, "moons")["near"] == 0.0 and wide["near"] == 1.0
    two = metrics.shape_coverage(torch.cat([curve[labels == 0][:99], curve[labels == 1][:1]]), "moons", min_share=0.02)
    assert two["modes"] == 1, "a region holding 1% of the samples is not covered at min_share 2%"


def test_near_data_is_the_share_of_samples_within_the_radius_of_a_reference_point():
    reference = torch.tensor([[0.0, 0.0], [10.0, 0.0]])
    samples = torch.tensor([[0.1, 0.0], [0.0, 0.2], [9.95, 0.0], [5.0, 5.0]])
    assert metrics.near_data(samples, reference) == 0.5  # 0.1 and 0.05 are within 0.15; 0.2 and 7.07 are not
    assert metrics.near_data(samples, reference, radius=0.25) == 0.75
    assert metrics.near_data(samples, reference[1:], radius=0.25) == 0.25


def test_history_last_is_the_mean_of_the_last_window_values():
    history = train.History()
    history.record({"loss": 1.0})
    for value in (2.0, 3.0, 4.0):
        history.record({"loss": value})
    assert history.last("loss", window=2) == 3.5 and history.last("loss") == 2.5


TRAINER_CALLS = {
    "train_gan": lambda **s: train.train_gan(data.toy2d("ring", 32), progress=False, **{"steps": 1, **s}),
    "train_ign": lambda **s: train.train_ign(data.toy2d("ring", 32), progress=False, **{"steps": 1, **s}),
    "train_split_ign": lambda **s: train.train_split_ign(data.toy2d("ring", 32), progress=False, **{"steps": 1, **s}),
    "train_ebgan": lambda **s: train.train_ebgan(data.toy2d("ring", 32), progress=False, **{"steps": 1, **s}),
    "train_self_gan": lambda **s: train.train_self_gan(data.toy2d("ring", 32), lambda a, b: (a - b).abs().mean(1),
                                                       progress=False, **{"steps": 1, "weights": (20, 20, 1), **s}),
    "train_classifier": lambda **s: train.train_classifier(progress=False, **{"steps": 1, **s}),
}
BAD = {"steps": -1, "seed": "0", "batch": 0, "lr": 0, "lr_g": 0, "lr_d": 0, "betas": (0.5,), "distance": "L3",
       "margin": -1, "d_steps": 0, "loss": "hinge", "clamp": 0, "clamp_ref": "pair", "real_noise": -1.0, "r1": -1,
       "weights": (0, 0, 0)}


@pytest.mark.parametrize("trainer, setting", [
    (name, setting) for name, call in TRAINER_CALLS.items() for setting in BAD
    if setting in inspect.signature(getattr(train, name)).parameters])
def test_every_trainer_checks_each_of_its_settings(trainer, setting):
    bad = {setting: BAD[setting]}
    if setting == "clamp_ref":
        bad["clamp"] = 1.5
    with pytest.raises(train.TrainingError, match=setting.split("_")[0] if setting != "weights" else "weights"):
        TRAINER_CALLS[trainer](**bad)


def test_components_are_the_pieces_linked_by_steps_shorter_than_eps():
    points = torch.tensor([[0.0, 0.0], [5.0, 5.0], [0.1, 0.0], [5.1, 5.0], [0.2, 0.0], [0.35, 0.0]])
    assert metrics._components(points, 0.16).tolist() == [0, 1, 0, 1, 0, 0]
    assert metrics._components(points, 0.12).tolist() == [0, 1, 0, 1, 0, 2]
    assert metrics._components(points, 0.05).tolist() == [0, 1, 2, 3, 4, 5]
    chain = torch.stack([torch.arange(50.0) * 0.1, torch.zeros(50)], 1)[torch.randperm(50)]
    assert metrics._components(chain, 0.11).unique().tolist() == [0], "a chain is one piece in any order"


def test_kmeans_finds_well_separated_clusters_from_farthest_point_starts():
    g = torch.Generator().manual_seed(0)
    centres = torch.tensor([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]])
    points = (centres[torch.arange(300) % 3] + 0.1 * torch.randn(300, 2, generator=g))
    found = metrics._kmeans(points, 3)
    assert sorted(found.round().tolist()) == sorted(centres.tolist())
    for c in found:
        cell = points[torch.cdist(points, found).argmin(1) == torch.cdist(c[None], found).argmin()]
        assert torch.allclose(c, cell.mean(0), atol=1e-4), "each centre is the mean of its cell"


@pytest.mark.parametrize("name, pieces", [("moons", 2), ("circles", 2), ("spiral", 1)])  # the arms meet at the centre
def test_shape_regions_cut_each_piece_into_compact_regions_of_similar_size(name, pieces):
    anchors, curve, labels = metrics.shape_regions(name)
    assert len(anchors) == metrics.SHAPE_REGIONS and labels.unique().tolist() == list(range(metrics.SHAPE_REGIONS))
    piece = metrics._components(curve, 0.2)
    assert piece.unique().numel() == pieces
    sizes = torch.bincount(labels).float()
    assert sizes.min() > 0.4 * len(curve) / metrics.SHAPE_REGIONS and sizes.max() < 2 * len(curve) / 8
    for j in range(metrics.SHAPE_REGIONS):
        assert piece[labels == j].unique().numel() == 1, f"region {j} straddles two pieces"
        assert torch.allclose(anchors[j], curve[labels == j].mean(0), atol=0.05), f"anchor {j} is far from its region"
