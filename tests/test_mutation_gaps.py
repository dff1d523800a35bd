"""Tests for the gaps mutation testing found (python3 course.py mutate, docs/mutation.md): realistic slips
that no other fast test noticed.

The trainers are read through plain SGD: Adam is swapped for an optimiser whose step is `p -= lr * grad`, so
that the weights after two steps say which loss updated which network, in which order, with which learning
rate, and that no gradient carried over from one step to the next; the run is replayed by hand from the same
seeds (the batches from the trainer's own torch.Generator, z from the global one)."""
import copy

import pytest
import torch
import torch.nn.functional as F

from ign_lessons import data, losses, metrics, models, train
from ign_lessons.losses import IGNWeights


class PlainSGD(torch.optim.Optimizer):
    """Adam's stand-in: `p -= lr * grad`; keeps the settings it was made with (`made`, newest last)."""

    made = []

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999)):
        super().__init__(params, {"lr": lr, "betas": betas})
        PlainSGD.made.append(self)

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.sub_(group["lr"] * p.grad)


@pytest.fixture
def sgd(monkeypatch):
    PlainSGD.made = []
    monkeypatch.setattr(torch.optim, "Adam", PlainSGD)
    return PlainSGD.made


def _flat(*nets):
    return torch.cat([p.detach().flatten() for net in nets for p in net.parameters()])


def _descend(nets, loss, lr, retain=False):
    """One hand-made SGD step of `loss` on the weights of `nets`."""
    params = [p for net in nets for p in net.parameters()]
    grads = torch.autograd.grad(loss, params, retain_graph=retain)
    with torch.no_grad():
        for p, g in zip(params, grads):
            p -= lr * g


def _owns(opt, *nets):
    """The optimiser's weights are exactly those of `nets`."""
    return {id(p) for g in opt.param_groups for p in g["params"]} == {id(p) for n in nets for p in n.parameters()}


def _net(kind, seed, **options):
    torch.manual_seed(seed)
    return models.build(kind, hidden=8, **options)


RING = data.toy2d("ring", 64, seed=0)
BETAS = (0.3, 0.8)


# --- every trainer's update rule, read through plain SGD -----------------------------------------------

def test_train_self_gan_descends_its_one_loss_on_its_own_batches(sgd):
    f = _net("mlp-ign", 1)
    ref = copy.deepcopy(f)
    energy = lambda fy, y: (fy - y).pow(2).mean(1)
    weights = (3.0, 2.0, 0.5)
    _, history = train.train_self_gan(RING, energy, steps=2, weights=weights, seed=5, batch=8, lr=0.05, betas=BETAS,
                                      f=f, progress=False)
    assert len(sgd) == 1 and _owns(sgd[0], f) and sgd[0].defaults == {"lr": 0.05, "betas": BETAS}
    torch.manual_seed(5)
    gen = torch.Generator().manual_seed(5)
    for i in range(2):
        x = RING[torch.randint(64, (8,), generator=gen)]
        loss = losses.self_gan_loss(ref, x, torch.randn_like(x), energy, weights)
        assert history["loss"][i] == pytest.approx(float(loss.detach()), rel=1e-5)
        _descend([ref], loss, 0.05)
    assert torch.allclose(_flat(f), _flat(ref), atol=1e-6), "f's weights are not two SGD steps of its loss"


def test_train_ebgan_updates_the_autoencoder_then_the_generator_each_with_its_loss(sgd):
    G, A = _net("mlp-generator", 2), _net("mlp-ign", 3)
    G0, A0 = copy.deepcopy(G), copy.deepcopy(A)
    margin = 0.115  # about the energy of a fake at the start: the hinge is on for some fakes and off for others
    _, _, history = train.train_ebgan(RING, steps=2, seed=4, margin=margin, distance="l2sq", batch=8, lr_g=0.05,
                                      lr_d=0.02, betas=BETAS, G=G, A=A, progress=False)
    assert len(sgd) == 2
    opt_g, opt_d = sorted(sgd, key=lambda o: -o.defaults["lr"])
    assert _owns(opt_g, G) and _owns(opt_d, A), "lr_g must train G and lr_d the autoencoder A"
    assert opt_g.defaults["betas"] == opt_d.defaults["betas"] == BETAS
    torch.manual_seed(4)
    gen = torch.Generator().manual_seed(4)
    for i in range(2):
        x = RING[torch.randint(64, (8,), generator=gen)]
        fake = G0(torch.randn(8, *G0.latent_shape))
        hinge = (margin - losses.energy(A0, fake, "l2sq")).clamp_min(0)
        assert 0 < (hinge > 0).sum() < 8 or i, "the margin does not matter in this test"
        d_loss = losses.ebgan_d_loss(A0, x, fake, margin, "l2sq")
        _descend([A0], d_loss, 0.02, retain=True)
        g_loss = losses.ebgan_g_loss(A0, fake, "l2sq")  # judged by the autoencoder just updated
        _descend([G0], g_loss, 0.05)
        assert history["d_loss"][i] == pytest.approx(float(d_loss.detach()), rel=1e-5)
        assert history["g_loss"][i] == pytest.approx(float(g_loss.detach()), rel=1e-5)
    assert torch.allclose(_flat(A), _flat(A0), atol=1e-6), "A is not trained by ebgan_d_loss alone"
    assert torch.allclose(_flat(G), _flat(G0), atol=1e-6), "G is not trained by ebgan_g_loss alone, after A"


def test_train_split_ign_descends_the_weighted_sum_on_both_networks(sgd):
    source = data.gaussian_source(RING)
    G, A = _net("mlp-ign", 5, source=source), _net("mlp-ign", 6)  # z comes from G's source
    G0, A0 = copy.deepcopy(G), copy.deepcopy(A)
    weights = (2.0, 1.5, 0.5)
    _, _, history = train.train_split_ign(RING, steps=2, seed=7, weights=weights, distance="l2sq", batch=8, lr=0.05,
                                          betas=BETAS, G=G, A=A, progress=False)
    assert len(sgd) == 1 and _owns(sgd[0], G, A) and sgd[0].defaults == {"lr": 0.05, "betas": BETAS}
    torch.manual_seed(7)
    gen = torch.Generator().manual_seed(7)
    for i in range(2):
        x = RING[torch.randint(64, (8,), generator=gen)]
        rec, idem, tight = losses.split_ign_terms(G0, A0, x, data.from_source(source, torch.randn_like(x)), "l2sq")
        loss = 2.0 * rec + 1.5 * idem + 0.5 * tight
        assert history["loss"][i] == pytest.approx(float(loss.detach()), rel=1e-5)
        assert [history[k][i] for k in ("rec", "idem", "tight")] == pytest.approx(
            [float(t.detach()) for t in (rec, idem, tight)], rel=1e-5)
        _descend([G0, A0], loss, 0.05)
    assert torch.allclose(_flat(G, A), _flat(G0, A0), atol=1e-6)


def test_train_ign_descends_its_routed_loss_with_z_from_the_networks_source(sgd):
    source = data.gaussian_source(RING)
    f = _net("mlp-ign", 8, source=source)
    ref = copy.deepcopy(f)
    weights = IGNWeights(2.0, 1.5, 0.5)
    _, history = train.train_ign(RING, steps=2, seed=9, weights=weights, distance="l2sq", clamp=0.05,
                                 clamp_ref="batch", batch=8, lr=0.05, betas=BETAS, f=f, progress=False)
    assert len(sgd) == 1 and _owns(sgd[0], f) and sgd[0].defaults == {"lr": 0.05, "betas": BETAS}
    torch.manual_seed(9)
    gen = torch.Generator().manual_seed(9)
    for i in range(2):
        x = RING[torch.randint(64, (8,), generator=gen)]
        z = data.from_source(source, torch.randn_like(x))
        loss, terms = losses.ign_loss(ref, x, z, weights, "l2sq", 0.05, "batch")
        assert history["loss"][i] == pytest.approx(float(loss.detach()), rel=1e-5)
        assert history["tight"][i] == pytest.approx(float(terms["tight"].detach()), rel=1e-5)
        _descend([ref], loss, 0.05)
    assert torch.allclose(_flat(f), _flat(ref), atol=1e-6)


def test_the_ign_step_s_additions_use_its_distance():
    f = _net("mlp-ign", 1)
    step = train.IGNStep(f, RING, torch.Generator().manual_seed(0), IGNWeights(1, 1, 1), distance="l2sq", batch=8,
                         lr=0.0, coverage=losses.Coverage(1.0, 2), real_noise=0.2)
    torch.manual_seed(3)
    out = step()
    torch.manual_seed(3)
    x = RING[torch.randint(64, (8,), generator=torch.Generator().manual_seed(0))]
    z = torch.randn_like(x)
    pool = torch.randn(16, 2)
    assert torch.allclose(out["coverage"], losses.coverage_loss(f, x, pool, "l2sq").detach())
    assert torch.allclose(out["denoise"], losses.denoising_loss(f, x, 0.2, "l2sq").detach())
    assert torch.allclose(out["rec"], losses.ign_terms(f, x, z, "l2sq")[0].detach())


def test_train_classifier_descends_cross_entropy_on_shifted_training_digits_with_one_cycle(sgd):
    model = models.build("conv-classifier", size=8, width=4, feature_dim=8)
    ref = copy.deepcopy(model)
    _, history = train.train_classifier(steps=3, seed=2, batch=16, lr=0.3, model=model, progress=False)
    assert len(sgd) == 1 and _owns(sgd[0], model)
    probe = PlainSGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    schedule = torch.optim.lr_scheduler.OneCycleLR(probe, 0.3, total_steps=3)
    rates = []
    for _ in range(3):
        rates.append(probe.param_groups[0]["lr"])
        probe.step()
        schedule.step()
    images, labels = data.digits(split="train")  # the training split only
    torch.manual_seed(2)
    gen = torch.Generator().manual_seed(2)
    ref.train()
    for i in range(3):
        pick = torch.randint(len(images), (16,), generator=gen)
        loss = F.cross_entropy(ref(data.random_shift(images[pick], gen, 1)), labels[pick])
        assert history["loss"][i] == pytest.approx(float(loss.detach()), rel=1e-5)
        _descend([ref], loss, rates[i])
    assert torch.allclose(_flat(model), _flat(ref), atol=1e-6)
    assert not model.training, "the classifier is returned in eval mode"


# --- batches from the trainer's own seeded generator, never the global one ------------------------------

TRAINERS = {
    "train_gan": lambda x, **s: train.train_gan(x, **s),
    "train_ign": lambda x, **s: train.train_ign(x, **s),
    "train_split_ign": lambda x, **s: train.train_split_ign(x, **s),
    "train_ebgan": lambda x, **s: train.train_ebgan(x, **s),
    "train_self_gan": lambda x, **s: train.train_self_gan(x, lambda a, b: (a - b).abs().mean(1), weights=(1, 1, 1),
                                                          **s),
}


@pytest.mark.parametrize("name", TRAINERS)
def test_every_trainer_draws_its_batches_from_its_own_generator_seeded_with_seed(name, monkeypatch):
    seen, batch = [], train._batch

    def spy(samples, size, gen):
        assert isinstance(gen, torch.Generator), f"{name} drew a batch from the global random generator"
        seen.append((gen, gen.get_state().clone() if not seen else None))
        return batch(samples, size, gen)

    monkeypatch.setattr(train, "_batch", spy)
    TRAINERS[name](RING, steps=2, seed=11, batch=8, progress=False)
    assert len(seen) == 2 and seen[0][0] is seen[1][0], "one generator for the whole run"
    assert torch.equal(seen[0][1], torch.Generator().manual_seed(11).get_state()), "the generator is seeded by seed"


def test_train_ign_with_its_own_noise_does_not_read_the_global_random_generator():
    noise_gen = lambda: torch.Generator().manual_seed(1)

    def run(callback):
        g = noise_gen()
        f = _net("mlp-ign", 0)
        train.train_ign(RING, steps=4, seed=3, batch=8, f=f, noise=lambda n: torch.randn(n, 2, generator=g),
                        callback=callback, every=1, progress=False)
        return _flat(f)

    quiet = run(None)
    disturbed = run(lambda i, history: torch.rand(1000))  # the global generator moves between the steps
    assert torch.equal(quiet, disturbed)


def test_train_classifier_draws_its_batches_and_shifts_from_its_own_generator(monkeypatch):
    shifts, randint, random_shift = [], torch.randint, data.random_shift

    def shift_spy(images, generator, pixels=1):
        shifts.append(generator)
        return random_shift(images, generator, pixels)

    draws = []

    def randint_spy(*args, **kwargs):
        draws.append(kwargs.get("generator"))
        return randint(*args, **kwargs)

    monkeypatch.setattr(data, "random_shift", shift_spy)
    monkeypatch.setattr(torch, "randint", randint_spy)
    train.train_classifier(steps=2, seed=0, batch=8, progress=False,
                           model=models.build("conv-classifier", size=8, width=4, feature_dim=8))
    monkeypatch.undo()
    assert len(shifts) == 2 and all(isinstance(g, torch.Generator) for g in shifts)
    assert all(g is shifts[0] for g in draws), "the picks and the shifts share the classifier's generator"


# --- the input checks' boundaries: the smallest and largest values accepted, and the first refused ----------

def test_check_samples_accepts_exactly_the_documented_shapes_and_sizes():
    ok = lambda shape, low=-1.0: train.check_samples(torch.full(shape, 0.5).index_fill_(0, torch.tensor([0]), low))
    assert ok((2, 2)).shape == (2, 2), "two points are enough"
    assert ok((2, 1, 4, 4)).shape == (2, 1, 4, 4), "a side of 4 is the smallest image"
    assert ok((2, 3, 7, 7)).shape == (2, 3, 7, 7) and ok((2, 1, 28, 28)).shape == (2, 1, 28, 28)
    assert ok((2, 1, 8, 8), low=-1e-6).shape == (2, 1, 8, 8), "a slightly negative background is accepted"
    assert ok((2, 1, 8, 8), low=-1.0009).min() == pytest.approx(-1.0009), "the slack of the range is 1e-3"
    assert train.check_samples(torch.zeros(3, 2, dtype=torch.float64)).dtype == torch.float32
    assert train.check_samples(torch.zeros(3, 2, dtype=torch.int64)).dtype == torch.float32
    for shape in [(1, 2), (5, 1), (5, 3), (5,), (5, 2, 1), (5, 1, 8, 8, 1), (1, 1, 8, 8), (5, 1, 3, 3),
                  (5, 1, 9, 9), (5, 1, 7, 8), (5, 1, 8, 7), (5, 1, 8, 16)]:
        with pytest.raises(train.TrainingError):
            ok(shape)
    for low in (0.0, -1.0011):
        with pytest.raises(train.TrainingError):
            ok((2, 1, 8, 8), low=low)
    with pytest.raises(train.TrainingError):
        train.check_samples(torch.full((2, 1, 8, 8), -1.0).index_fill_(0, torch.tensor([1]), 1.0011))
    with pytest.raises(train.TrainingError):
        train.check_samples([[0.0, 0.0], [1.0, 1.0]])


@pytest.mark.parametrize("betas", [(0, 0), (0.9999, 0.99999), (0.5, 0.999), [0.0, 0.99999]])
def test_betas_accept_zero_and_their_largest_values(betas):
    assert train._betas(betas) == tuple(betas)
    assert train.check_settings(betas=betas)["betas"] == tuple(betas)


@pytest.mark.parametrize("betas", [(-1e-9, 0.9), (0.99991, 0.9), (1.0, 0.9), (0.5, -1e-9), (0.5, 0.999991),
                                   (0.5, 1.0), (0.5,), (0.5, 0.9, 0.9), 0.5, None, "ab", (0.5, float("nan"))])
def test_betas_refuse_values_outside_adam_s_range_and_anything_but_a_pair(betas):
    with pytest.raises(train.TrainingError, match="betas"):
        train.check_settings(betas=betas)


def test_check_images_accepts_exactly_the_documented_images():
    digit = lambda n=2, side=8, low=-1.0, high=1.0: torch.tensor([low, high]).repeat(n * side * side // 2 + 1)[
        :n * side * side].reshape(n, 1, side, side)
    assert metrics.check_images(digit(1)).shape == (1, 1, 8, 8), "one image is enough by default"
    assert metrics.check_images(digit(5), minimum=5).shape == (5, 1, 8, 8), "minimum images are enough"
    assert metrics.check_images(digit(2, 28)).shape == (2, 1, 28, 28)
    assert metrics.check_images(digit(low=-1.0099, high=1.0099)).shape == (2, 1, 8, 8), "the slack is 0.01"
    assert metrics.check_images(digit(low=-1e-6)).shape == (2, 1, 8, 8)
    got = metrics.check_images(digit().double().requires_grad_(True))
    assert got.dtype == torch.float32 and not got.requires_grad and got.device.type == "cpu"
    bad = [digit(4), digit(0), digit(low=0.0), digit(low=0.5), digit(low=-1.0101), digit(high=1.0101),
           digit(side=16), digit().reshape(2, 8, 8), digit().reshape(1, 2, 8, 8), digit().reshape(2, 1, 4, 16),
           digit().repeat(1, 3, 1, 1), digit().index_fill_(0, torch.tensor([1]), float("nan")), digit().numpy()]
    for images in bad:
        with pytest.raises(metrics.QualityError):
            metrics.check_images(images, minimum=1 if len(images) != 4 else 5)


# --- each metric's data discipline: what it fits on, what it scores against ----------------------------------

@pytest.fixture
def splits_read(monkeypatch):
    """The (image set, split) pairs the metrics read, with the metric's cached reference features cleared."""
    read, image_set = [], data.image_set

    def spy(name, split="all"):
        read.append((name, split))
        return image_set(name, split)

    metrics._reference_features.cache_clear()
    monkeypatch.setattr(data, "image_set", spy)
    yield read
    metrics._reference_features.cache_clear()


def test_digits_quality_compares_with_two_disjoint_halves_of_the_test_split(splits_read):
    generated = data.digits(split="train")[0][:200]
    got = metrics.digits_quality(generated, sample=50, repeats=2, seed=3)
    assert splits_read == [("digits", "test")], "the metric reads the held-out test digits and nothing else"
    held_out = metrics.features(data.digits(split="test")[0])
    mine, net = metrics.features(generated), metrics.classifier()
    splits, picks = torch.Generator().manual_seed(3), torch.Generator().manual_seed(4)
    fds, floors = [], []
    for _ in range(2):
        order = torch.randperm(len(held_out), generator=splits)
        a, b = held_out[order[:50]], held_out[order[50:100]]
        fds.append(metrics.frechet_distance(mine[torch.randperm(200, generator=picks)[:50]], a))
        floors.append(metrics.frechet_distance(b, a))
    assert got.fd == pytest.approx(sum(fds) / 2, rel=1e-6) and got.floor == pytest.approx(sum(floors) / 2, rel=1e-6)
    with torch.no_grad():
        probs = F.softmax(net(generated), 1)
    shares = (torch.bincount(probs.argmax(1), minlength=10) / 200).tolist()
    assert got.shares == pytest.approx(shares, abs=1e-4)
    assert got.confidence == pytest.approx(float(probs.max(1)[0].mean()))
    assert (got.images, got.sample, got.repeats) == (200, 50, 2)


@pytest.mark.parametrize("split, floor_side", [("test", "train"), ("val", "fit")])
def test_distance_to_held_out_scores_against_its_split_with_a_floor_from_the_training_side(splits_read, split,
                                                                                          floor_side):
    images = data.digits(split="test")[0][:120].flip(-1)
    got = metrics.distance_to_held_out(images, split=split, seed=2, blocks=4)
    assert splits_read == [("digits", split), ("digits", floor_side)]
    held_out = metrics.features(data.digits(split=split)[0])
    real = data.digits(split=floor_side)[0]
    real = real[torch.randperm(len(real), generator=torch.Generator().manual_seed(2))[:120]]
    mine, theirs = metrics.features(images), metrics.features(real)
    assert got.fd == pytest.approx(metrics.frechet_distance(mine, held_out), rel=1e-6)
    assert got.floor == pytest.approx(metrics.frechet_distance(theirs, held_out), rel=1e-6)
    assert (got.kid, got.kid_se) == pytest.approx(metrics.kernel_distance(mine, held_out, 4), rel=1e-6)
    assert got.kid_floor == pytest.approx(metrics.kernel_distance(theirs, held_out, 4)[0], rel=1e-6)
    assert (got.images, got.held_out) == (120, len(held_out))


def test_kernel_distance_is_the_unbiased_mmd_of_the_cubic_kernel_in_blocks():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(12, 3, generator=g, dtype=torch.float64), 2 * torch.randn(9, 3, generator=g, dtype=torch.float64)
    scale = b.std(0).mean()
    k = lambda u, v: (u @ v.T / 3 / scale ** 2 + 1) ** 3
    off = lambda m: (m.sum() - m.diagonal().sum()) / (len(m) * (len(m) - 1))
    values = torch.stack([off(k(p, p)) + off(k(b, b)) - 2 * k(p, b).mean() for p in a.chunk(3)])
    mean, se = metrics.kernel_distance(a, b, blocks=3)
    assert mean == pytest.approx(float(values.mean())) and se == pytest.approx(float(values.std() / 3 ** 0.5))


def test_accuracy_reads_the_split_it_is_given_of_the_classifier_s_own_image_set(splits_read):
    net = metrics.classifier()
    got = metrics.accuracy(net, "val")
    assert splits_read == [("digits", "val")]
    images, labels = data.digits(split="val")
    with torch.no_grad():
        assert got == pytest.approx(float((net(images).argmax(1) == labels).float().mean()))
    splits_read.clear()
    metrics.accuracy("digit-classifier")
    assert splits_read == [("digits", "test")], "the default split is the test split"
    splits_read.clear()
    metrics.accuracy(models.build("conv-classifier", size=28, width=4, feature_dim=8), "val")
    assert splits_read == [("mnist", "val")], "a classifier of 28x28 images is scored on MNIST"


# --- the 2D metrics' boundaries -------------------------------------------------------------------------------

def test_check_points_takes_only_finite_n_by_2_points_and_returns_them_detached_as_float():
    got = metrics.check_points(torch.zeros(3, 2, dtype=torch.float64, requires_grad=True))
    assert got.dtype == torch.float32 and not got.requires_grad and got.shape == (3, 2)
    for bad in (torch.zeros(4, 2, 1), torch.zeros(2), torch.zeros(4, 3), torch.zeros(0, 2), [[0.0, 0.0]]):
        with pytest.raises(metrics.QualityError):
            metrics.check_points(bad)
    with pytest.raises(metrics.QualityError, match="has diverged"):
        metrics.check_points(torch.tensor([[0.0, float("nan")]]))


def test_the_default_radius_is_three_noise_deviations_and_near_means_strictly_within():
    mode = data.toy2d_modes("ring")[0]
    at = lambda d: (mode + torch.tensor([d, 0.0]))[None]
    assert metrics.mode_coverage(at(0.14), "ring")["near"] == 1.0
    assert metrics.mode_coverage(at(0.16), "ring")["near"] == 0.0
    exact = metrics.mode_coverage(at(0.5), "ring", radius=0.5)
    assert exact["near"] == 0.0, "a sample exactly at the radius is not near"
    one_mode = metrics.mode_coverage(mode.repeat(5, 1), "ring")
    assert len(one_mode["shares"]) == 8 and one_mode["shares"][0] == 1.0 and one_mode["modes"] == 1
    reference = torch.zeros(1, 2)
    assert metrics.near_data(torch.tensor([[0.25, 0.0], [0.0, 0.2]]), reference, radius=0.25) == 0.5
    with pytest.raises(ValueError, match="radius"):
        metrics.near_data(reference, reference, radius=0)
    anchors, curve, labels = metrics.shape_regions("moons")
    first = metrics.shape_coverage(curve[labels == 0][:5], "moons")
    assert len(first["shares"]) == metrics.SHAPE_REGIONS and first["modes"] == 1
    point = curve[:1] + torch.tensor([[0.0, 0.3]])
    dist = float(torch.cdist(point, curve).min())
    assert metrics.shape_coverage(point, "moons", radius=dist)["near"] == 0.0
    assert metrics.shape_coverage(point, "moons", radius=dist * 1.01)["near"] == 1.0


def test_mode_trace_needs_two_snapshots_and_starts_its_window_at_a_share_of_the_last_step():
    G = models.build("mlp-generator", hidden=4)
    trace = metrics.ModeTrace(G, n=10, seed=3)
    assert torch.equal(trace.z, data.noise(G.latent_shape, 10, 3))
    trace.steps, trace.shares = [0, 51], [[1, 0], [0, 1]]
    assert trace.oscillation(after=0.0) == 1.0, "two snapshots are enough"
    trace.steps, trace.shares = [0, 51, 100, 104], [[1, 0], [0, 1], [1, 0], [1, 0]]
    assert trace.oscillation(after=0.5) == 0.0, "the window starts at half of the last step (52), after step 51"
    trace.steps = trace.steps[:1]
    with pytest.raises(metrics.QualityError, match="at least 2 snapshot"):
        trace.oscillation()


def test_denoising_loss_scores_f_on_noisy_copies_against_the_clean_inputs():
    f, x = _net("mlp-ign", 0), torch.randn(16, 2, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(1)
    got = losses.denoising_loss(f, x, 0.3, "l2sq")
    torch.manual_seed(1)
    want = losses.per_sample_distance(f(x + 0.3 * torch.randn_like(x)), x, "l2sq").mean()
    assert torch.allclose(got, want)


# --- what every trainer passes on: its callback, its `every`, its checks of the networks ----------------------

CALLBACK_TRAINERS = [name for name in TRAINERS if name != "train_self_gan"]  # train_self_gan takes no callback


@pytest.mark.parametrize("name", CALLBACK_TRAINERS)
def test_every_trainer_calls_its_callback_every_few_steps_and_after_the_last(name):
    calls = []
    TRAINERS[name](RING, steps=5, seed=0, batch=8, progress=False, every=2, callback=lambda i, h: calls.append(i))
    assert calls == [0, 2, 4]


IMAGE_NET = lambda: models.build("conv-ign", size=8, channels=1, width=4, latent=4)  # noqa: E731 (a network for 8x8 images)


@pytest.mark.parametrize("name, role", [("train_gan", "G"), ("train_gan", "D"), ("train_ign", "f"),
                                        ("train_split_ign", "G"), ("train_split_ign", "A"), ("train_ebgan", "G"),
                                        ("train_ebgan", "A"), ("train_self_gan", "f")])
def test_every_trainer_checks_each_network_it_is_given_against_the_data(name, role):
    wrong = {"G": models.build("conv-generator", size=8, channels=1), "D": models.build("conv-discriminator", size=8),
             "f": IMAGE_NET(), "A": IMAGE_NET()}[role]
    named = role
    if name == "train_split_ign" and role == "G":  # split IGN's G maps samples to samples: it is checked as an f
        wrong, named = IMAGE_NET(), "f"
    with pytest.raises(train.TrainingError, match=f"^{named} (does not fit|maps)"):
        TRAINERS[name](RING, steps=1, progress=False, **{role: wrong})


def test_the_mnist_classifier_is_built_for_28x28_digits_and_shifts_them_by_up_to_two_pixels(monkeypatch):
    pixels, random_shift = [], data.random_shift

    def spy(images, generator, shift=1):
        pixels.append(shift)
        return random_shift(images, generator, shift)

    monkeypatch.setattr(data, "random_shift", spy)
    model, _ = train.train_classifier(steps=0, image_set="mnist", progress=False)
    assert model.data_shape == (1, 28, 28)
    train.train_classifier(steps=1, batch=2, image_set="mnist", progress=False,
                           model=models.build("conv-classifier", size=28, width=2, feature_dim=4))
    train.train_classifier(steps=1, batch=2, progress=False, model=models.build("conv-classifier", width=2,
                                                                                   feature_dim=4))
    assert pixels == [2, 1]


# --- the losses' refusals of unknown kinds, and the distance each one passes on --------------------------------

def test_the_losses_refuse_an_unknown_kind_with_the_course_error_that_names_it():
    from ign_lessons.runtime import CourseError
    D, f, x = models.build("mlp-discriminator", hidden=4), _net("mlp-ign", 0), torch.randn(4, 2)
    with pytest.raises(CourseError, match="Unknown generator loss 'hinge'.*'minimax', 'nonsaturating'"):
        losses.gan_g_loss(D, x, "hinge")
    with pytest.raises(CourseError, match="Unknown distance 'L1' \\(did you mean 'l1'\\?\\)"):
        losses.nearest_generated(x, x, "L1")
    with pytest.raises(CourseError, match="Unknown bug 'swaped' \\(did you mean 'swapped'\\?\\)"):
        losses.ign_terms_with_bug(f, x, x, "swaped")


def test_coverage_and_the_frozen_tightness_bug_keep_their_distance_and_sign():
    f, g = _net("mlp-ign", 0), torch.Generator().manual_seed(0)
    x, pool = torch.randn(6, 2, generator=g), torch.randn(18, 2, generator=g)
    chosen = losses.nearest_generated(x, f(pool).detach(), "l2sq")
    want = losses.per_sample_distance(f(pool[chosen]), x, "l2sq").mean()
    assert torch.allclose(losses.coverage_loss(f, x, pool, "l2sq"), want)
    fz = f(pool[:6])
    _, _, tight = losses.ign_terms_with_bug(f, x, pool[:6], "tight_frozen")
    assert torch.allclose(tight, -losses.per_sample_distance(f(fz), fz).mean()) and tight < 0


# --- the documented defaults of every trainer and step (the notebooks rely on them) ---------------------------

def _opt_settings(step):
    return sorted((g["lr"], g["betas"]) for opt in step.optimizers for g in opt.param_groups)


def test_every_step_keeps_its_documented_defaults():
    x, gen = RING, torch.Generator()
    G, D, f, A = (models.build(k, hidden=4) for k in ("mlp-generator", "mlp-discriminator", "mlp-ign", "mlp-ign"))
    adam = (0.5, 0.999)
    gan = train.GANStep(G, D, x, gen)
    assert (gan.loss, gan.batch, gan.d_steps, gan.r1) == ("nonsaturating", 128, 1, 0.0)
    assert _opt_settings(gan) == [(2e-4, adam)] * 2
    ign = train.IGNStep(f, x, gen, (1, 1, 1))
    assert (ign.distance, ign.clamp, ign.clamp_ref, ign.batch, ign.noise, ign.coverage, ign.real_noise) == (
        "l1", None, "paired", 128, None, None, None)
    assert _opt_settings(ign) == [(1e-3, adam)]
    split = train.SplitIGNStep(G, A, x, gen, (1, 1, 1))
    assert (split.distance, split.batch, _opt_settings(split)) == ("l1", 128, [(1e-3, adam)])
    noisy = train.DenoisingStep(A, x, gen)
    assert (noisy.sigma_max, noisy.distance, noisy.batch, _opt_settings(noisy)) == (0.6, "l1", 128, [(1e-4, adam)])
    ebgan = train.EBGANStep(G, A, x, gen)
    assert (ebgan.margin, ebgan.distance, ebgan.batch, _opt_settings(ebgan)) == (1.0, "l1", 128, [(2e-4, adam)] * 2)


@pytest.fixture
def runs(monkeypatch):
    """train.run replaced by a recorder: the trainers build their step and hand it over, nothing is trained."""
    seen = []

    def record(step, steps, nets, desc="training", progress=True, callback=None, every=100):
        seen.append(dict(step=step, steps=steps, progress=progress, every=every))
        return train.History()

    monkeypatch.setattr(train, "run", record)
    return seen


def test_every_trainer_keeps_its_documented_defaults(runs, sgd):
    adam = (0.5, 0.999)
    train.train_gan(RING)
    train.train_ign(RING)
    train.train_split_ign(RING)
    train.train_ebgan(RING)
    gan, ign, split, ebgan = (r["step"] for r in runs)
    assert [r["steps"] for r in runs] == [2000, 5000, 5000, 2000]
    assert all(r["progress"] is True and r["every"] == 100 for r in runs)
    assert (gan.loss, gan.batch, gan.d_steps, gan.r1, _opt_settings(gan)) == ("nonsaturating", 128, 1, 0.0,
                                                                              [(2e-4, adam)] * 2)
    points = train.IGN_DEFAULTS["points"]
    assert (ign.weights, ign.distance, ign.clamp, ign.clamp_ref, ign.batch, ign.coverage, ign.real_noise) == (
        points["weights"], "l1", None, "paired", points["batch"], None, None)
    assert _opt_settings(ign) == [(points["lr"], adam)] and ign.f.source == data.gaussian_source(RING)
    assert (split.weights, split.distance, split.batch, _opt_settings(split)) == (
        points["weights"], "l1", points["batch"], [(points["lr"], adam)])
    assert (ebgan.margin, ebgan.distance, ebgan.batch, _opt_settings(ebgan)) == (1.0, "l1", 128, [(2e-4, adam)] * 2)
    assert all(torch.equal(s.gen.get_state(), torch.Generator().manual_seed(0).get_state()) for s in (gan, ign))
    runs.clear()
    sgd.clear()
    train.train_self_gan(RING, lambda a, b: (a - b).abs().mean(1), 3, (1, 1, 1))
    assert runs[0]["progress"] is True and sgd[0].defaults == {"lr": 1e-3, "betas": adam}
    runs.clear()
    train.train_classifier(model=models.build("conv-classifier", width=2, feature_dim=4))
    assert runs[0]["steps"] == 800 and runs[0]["progress"] is True


def test_run_calls_back_every_hundred_steps_by_default():
    calls = []
    train.run(lambda i: {"loss": 0.0}, 201, [], progress=False, callback=lambda i, h: calls.append(i))
    assert calls == [0, 100, 200]


def test_a_mode_or_class_holding_exactly_min_share_counts_as_covered():
    modes = data.toy2d_modes("ring")
    samples = torch.cat([modes[:1].repeat(99, 1), modes[1:2]])  # 1% at the second mode
    assert metrics.mode_coverage(samples, "ring", min_share=0.01)["modes"] == 2
    anchors, curve, labels = metrics.shape_regions("moons")
    samples = torch.cat([curve[labels == 0][:1].repeat(99, 1), curve[labels == 1][:1]])
    assert metrics.shape_coverage(samples, "moons", min_share=0.01)["modes"] == 2
    quality = metrics.DigitsQuality(fd=1.0, floor=1.0, shares=(0.03, 0.02) + (0.95 / 8,) * 8, confidence=0.9,
                                    images=100, sample=50, repeats=1)
    assert quality.covered() == 9 and quality.covered(0.02) == 10


def test_the_minimax_generator_step_uses_the_minimax_loss():
    torch.manual_seed(0)
    G, D = models.build("mlp-generator", hidden=8), models.build("mlp-discriminator", hidden=8)
    step = train.GANStep(G, D, RING, torch.Generator().manual_seed(0), loss="minimax", batch=8)
    before = copy.deepcopy(G)
    torch.manual_seed(1)
    got = step.g_update()["g_loss"]
    torch.manual_seed(1)
    want = losses.gan_g_loss(D, before(torch.randn(8, *G.latent_shape)), "minimax")
    assert torch.allclose(got, want.detach())


# --- what a run reports: the settings it used, why it stopped, what it printed ----------------------------------

def test_train_ign_records_every_setting_it_used():
    f = _net("mlp-ign", 0, source=data.gaussian_source(RING))
    _, history = train.train_ign(RING, steps=1, f=f, clamp=0.5, clamp_ref="batch", betas=BETAS, real_noise=0.1,
                                 coverage=losses.Coverage(2.0, 3), progress=False)
    points = train.IGN_DEFAULTS["points"]
    assert history.settings == {"steps": 1, "weights": tuple(points["weights"]), "lr": points["lr"],
                                "batch": points["batch"], "distance": "l1", "clamp": 0.5, "clamp_ref": "batch",
                                "betas": BETAS, "source": f.source, "coverage": (2.0, 3), "real_noise": 0.1}


def test_run_names_the_non_finite_terms_the_step_and_the_weights_it_restored(capsys):
    net = torch.nn.Linear(2, 2)
    values = lambda i: {"a": 1.0, "b": float("nan") if i == 2 else 1.0, "c": float("inf") if i == 2 else 0.0}
    history = train.run(values, 10, [net], progress=False)
    want = ("the loss term(s) b = nan, c = inf became non-finite at step 2 (steps count from 0); training stopped "
            "and the initial weights, the last finite ones, were restored. Try a smaller learning rate or a clamp.")
    assert history.stopped == want and history.steps == 2 and history.restored == 0
    assert capsys.readouterr().out == f"WARNING: {want}\n"
    assert 0 <= history.seconds < 60


def test_run_keeps_what_a_ctrl_c_leaves_and_then_skips_the_rest_of_the_cell(capsys, monkeypatch):
    monkeypatch.setitem(train._ctrl_c, "watching", True)  # as in a notebook
    monkeypatch.setitem(train._ctrl_c, "pressed", False)

    def step(i):
        if i == 3:
            raise KeyboardInterrupt
        return {"loss": 1.0}

    seen = []
    history = train.run(step, 10, [], progress=False, callback=lambda i, h: seen.append(h), every=1)
    want = ("interrupted (Ctrl-C) after 3 steps of 10: the model as it is and the history of those steps were kept "
            "(the step under way may be partly applied).")
    assert history.stopped == want and history.interrupted == 3 and history["loss"] == [1.0] * 3
    assert capsys.readouterr().out == f"INTERRUPTED: {want}\n"
    assert len(seen) == 3 and all(h is history for h in seen), "the callback gets the run's history"
    with pytest.raises(KeyboardInterrupt, match=r"^Ctrl-C stopped an earlier training run of this cell; the rest of "
                                                r"the cell is skipped \(run the cell again to train\)\.$"):
        train.run(step, 10, [], progress=False)
    with pytest.raises(ValueError, match="^steps must be a whole number >= 0, got -1"):
        train.run(step, -1, [], progress=False)


# --- the gaps left by the run of 2026-12-07 (docs/mutation.md, "Gaps") -------------------------------------

@pytest.mark.parametrize("option, expected", [(0.5, losses.Coverage(0.5)), (1e-6, losses.Coverage(1e-6)),
                                              ((0.5, 1), losses.Coverage(0.5, 1)), ((2, 3), losses.Coverage(2.0, 3))])
def test_coverage_accepts_any_positive_weight_and_one_candidate(option, expected):
    assert losses.as_coverage(option) == expected


@pytest.mark.parametrize("option", [0, -0.5, (0.5, 0), (0.0, 4), (0.5, 1.5), True, (0.5, True), "0.5"])
def test_coverage_refuses_a_weight_at_zero_and_no_candidates(option):
    with pytest.raises(losses.CourseError, match="coverage needs a weight > 0 and a whole number of candidates"):
        losses.as_coverage(option)


def test_ign_loss_passes_its_clamp_reference_on():
    torch.manual_seed(0)
    f, x, z = models.build("mlp-ign"), torch.randn(8, 2), 3 * torch.randn(8, 2)
    weights = IGNWeights(1.0, 1.0, 1.0)
    for ref in ("paired", "batch"):
        rec, idem, tight = losses.ign_terms(f, x, z, "l1", 0.5, ref)
        assert torch.equal(losses.ign_loss(f, x, z, weights, "l1", 0.5, ref)[0], rec + idem + tight), ref
    paired = losses.ign_loss(f, x, z, weights, "l1", 0.5, "paired")[0]
    assert not torch.equal(paired, losses.ign_loss(f, x, z, weights, "l1", 0.5, "batch")[0])


def test_a_distance_needs_a_batch_and_takes_a_batch_of_numbers():
    for a in (torch.tensor(1.0), torch.zeros(0, 2)):
        with pytest.raises(losses.CourseError, match="needs a batch of at least one sample"):
            losses.per_sample_distance(a, a)
    a, b = torch.tensor([1.0, -2.0, 3.0]), torch.tensor([0.0, 0.0, 1.0])
    assert torch.equal(losses.per_sample_distance(a, b), torch.tensor([1.0, 2.0, 2.0])), "1-d: one number per sample"


def test_a_quality_metric_refuses_a_network_that_is_not_a_classifier():
    for model in (torch.nn.Linear(2, 2), object(), models.build("mlp-ign")):
        with pytest.raises(metrics.QualityError, match="expected a classifier built by models.build"):
            metrics._classifier(model)


def test_a_network_without_a_source_gets_standard_normal_z():
    like, foreign = torch.zeros(5, 3), torch.nn.Linear(3, 3)  # a network of no course's making: no to_source
    torch.manual_seed(4)
    z = train._source(foreign, like)
    torch.manual_seed(4)
    assert torch.equal(z, torch.randn_like(like))
    f = models.build("mlp-ign", source=data.gaussian_source(3 + 0.5 * torch.randn(100, 2)))
    torch.manual_seed(4)
    eps = torch.randn_like(torch.zeros(5, 2))
    torch.manual_seed(4)
    assert torch.allclose(train._source(f, torch.zeros(5, 2)), f.to_source(eps))
