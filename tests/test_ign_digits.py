"""IGN on images (06_ign_digits): the noise sources, the coverage term's routing, checkpoints that keep their source."""
import json
import math

import pytest
import torch

from ign_lessons import checkpoints, data, losses, models, studies, train
from ign_lessons.exercises import param_grads
from ign_lessons.studies import ign_digits as study


@pytest.fixture(scope="module")
def images():
    return data.digits(split="train")[0]


@pytest.mark.parametrize("kind", data.IMAGE_SOURCES)
def test_sources_have_the_data_shape_are_seeded_and_json(kind, images):
    source = data.image_source(kind, images)
    assert json.loads(json.dumps(source)) == source
    z = data.source_noise(source, (1, 8, 8), 50, seed=3)
    assert z.shape == (50, 1, 8, 8) and z.dtype == torch.float32 and torch.isfinite(z).all()
    assert torch.equal(z, data.source_noise(source, (1, 8, 8), 50, seed=3))
    assert not torch.equal(z, data.source_noise(source, (1, 8, 8), 50, seed=4))


def test_gaussian_source_is_standard_noise(images):
    eps = torch.randn(7, 1, 8, 8)
    assert torch.equal(data.from_source(data.image_source("gaussian"), eps), eps)
    assert torch.equal(data.from_source(None, eps), eps)


def test_data_source_matches_the_training_pixels(images):
    z = data.source_noise(data.image_source("data", images), (1, 8, 8), 40000, seed=0)
    assert (z.mean(0) - images.mean(0)).abs().max() < 0.03
    assert (z.std(0) - images.std(0)).abs().max() < 0.03
    # ... but not their correlations: neighbouring pixels of a digit move together, of this noise not.
    def neighbour_corr(x):
        a, b = x[..., :, :-1].flatten(), x[..., :, 1:].flatten()
        return float(torch.corrcoef(torch.stack([a - x.mean(), b - x.mean()]))[0, 1])
    assert abs(neighbour_corr(z - images.mean(0))) < 0.05 < neighbour_corr(images - images.mean(0))


def test_frequency_source_matches_the_spectrum_not_the_pixels(images):
    source = data.image_source("frequency", images)
    z = data.source_noise(source, (1, 8, 8), 20000, seed=0)
    assert abs(z.mean() - images.mean()) < 0.01
    want = torch.tensor(source["amplitude"])
    got = torch.fft.fft2(z.double() - source["mean"]).abs().pow(2).mean(0).sqrt()
    assert ((got - want).abs() / want.clamp_min(0.5)).max() < 0.05  # the amplitude spectrum is the data's
    real = torch.fft.fft2(images.double() - images.mean()).abs().pow(2).mean(0).sqrt()
    assert torch.allclose(want.double(), real, rtol=1e-5)
    # random phase: stationary, so the per-pixel mean is flat, unlike the digits' (bright centre, dark border)
    assert z.mean(0).std() < 0.03 < images.mean(0).std()
    assert abs(float(z.std()) - float(images.std())) < 0.05  # Parseval: the same total power


@pytest.mark.parametrize("dims", [1, 8, 20])
def test_subspace_source_is_low_dimensional_along_the_data_s_main_directions(images, dims):
    source = data.image_source("subspace", images, dims=dims)
    z = data.source_noise(source, (1, 8, 8), 5000, seed=0).flatten(1).double()
    centred = z - torch.tensor(source["mean"]).flatten()
    assert torch.linalg.matrix_rank(centred, rtol=1e-5) == dims  # every z in a dims-dimensional plane
    flat = images.flatten(1).double()
    top = torch.linalg.eigvalsh(torch.cov(flat.T)).flip(0)[:dims]  # the data's largest variances ...
    got = torch.linalg.eigvalsh(torch.cov(centred.T)).flip(0)[:dims]  # ... are the source's
    assert ((got - top).abs() / top).max() < 0.1
    assert (z.mean(0) - flat.mean(0)).abs().max() < 0.1


def test_sources_refuse_bad_input(images):
    with pytest.raises(data.DataError, match="dims"):
        data.image_source("subspace", images, dims=0)
    with pytest.raises(data.DataError, match="choose one of"):
        data.image_source("pink", images)
    with pytest.raises(data.DataError, match="N >= 2"):
        data.image_source("data", images[0])
    with pytest.raises(data.DataError, match="shape"):
        data.from_source(data.image_source("frequency", images), torch.randn(3, 1, 16, 16))


def test_2d_sources_still_map_the_same_way():
    points = data.toy2d("ring", 500)
    f = models.build("mlp-ign", source=data.gaussian_source(points))
    eps = torch.randn(9, 2)
    mean, std = (torch.tensor(f.source[k]) for k in ("mean", "std"))
    assert torch.equal(f.to_source(eps), eps * std + mean)


@pytest.mark.parametrize("kind", data.IMAGE_SOURCES)
def test_checkpoint_round_trip_keeps_the_source(kind, images, tmp_path):
    f = study.build(0, kind, width=8, latent=4, images=images)
    checkpoints.save(f, tmp_path / "tiny.safetensors")
    back = checkpoints.load(tmp_path / "tiny.safetensors", map_location="cpu")
    assert back.source == f.source and back.source["kind"] == kind
    assert torch.equal(models.sample(back, 6, seed=2), models.sample(f, 6, seed=2))
    z = data.source_noise(f.source, f.data_shape, 6, seed=2)
    assert torch.equal(models.sample(back, 6, seed=2), models.sample(back, 6, z=z))


def _tiny(seed=0):
    torch.manual_seed(seed)
    return models.build("conv-ign", width=8, latent=4)


def test_coverage_selects_the_nearest_generated_sample_without_gradient():
    f = _tiny()
    x, pool = torch.randn(5, 1, 8, 8), torch.randn(20, 1, 8, 8)
    with torch.no_grad():
        fz = f(pool)
    want = torch.stack([(fz - xi).abs().flatten(1).mean(1).argmin() for xi in x])
    assert torch.equal(losses.nearest_generated(x, fz), want)
    assert not losses.nearest_generated(x.requires_grad_(), fz).requires_grad
    value = losses.coverage_loss(f, x.detach(), pool)
    assert torch.allclose(value, (fz[want] - x).abs().flatten(1).mean(1).mean())


def test_coverage_gradient_flows_into_f_only_through_the_chosen_samples():
    f = _tiny()
    x, pool = torch.randn(4, 1, 8, 8), torch.randn(16, 1, 8, 8).requires_grad_(True)
    value = losses.coverage_loss(f, x, pool)
    grad_f = param_grads(value, f)
    assert grad_f.abs().sum() > 0
    with torch.no_grad():
        chosen = losses.nearest_generated(x, f(pool))
    # the same gradient as the distance to a fixed choice: the lookup adds nothing to it
    fixed = losses.per_sample_distance(f(pool.detach()[chosen]), x).mean()
    assert torch.allclose(grad_f, param_grads(fixed, f))
    grad_pool, = torch.autograd.grad(value, pool)
    unchosen = torch.ones(len(pool), dtype=torch.bool)
    unchosen[chosen] = False
    assert grad_pool[unchosen].abs().sum() == 0  # candidates nobody chose get nothing
    assert grad_pool[chosen].abs().sum() > 0
    x_req = x.clone().requires_grad_(True)
    assert torch.autograd.grad(losses.coverage_loss(f, x_req, pool.detach()), x_req)[0].abs().sum() > 0


def test_coverage_pulls_the_nearest_sample_toward_its_real_digit():
    f = _tiny()
    x, pool = data.digits(split="train")[0][:8], torch.randn(32, 1, 8, 8)
    opt = torch.optim.SGD(f.parameters(), lr=0.05)
    before = float(losses.coverage_loss(f, x, pool).detach())
    for _ in range(20):
        opt.zero_grad()
        losses.coverage_loss(f, x, pool).backward()
        opt.step()
    assert float(losses.coverage_loss(f, x, pool).detach()) < before


@pytest.mark.parametrize("bad", [0, -1.0, (20, 0), (20, 1.5), True])
def test_coverage_option_refuses_bad_settings(bad):
    with pytest.raises(losses.CourseError, match="coverage"):
        losses.as_coverage(bad)


def test_options_off_leave_ign_training_bit_identical(images):
    x = images[:64]
    runs = []
    for options in ({}, {"coverage": None, "real_noise": None}):
        torch.manual_seed(0)
        f = models.build("conv-ign", width=8, latent=4)
        f, h = train.train_ign(x, steps=5, batch=16, progress=False, f=f, **options)
        runs.append((f.state_dict(), h))
    (a, ha), (b, hb) = runs
    assert all(torch.equal(a[k], b[k]) for k in a) and ha["loss"] == hb["loss"]
    assert set(ha) == {"loss", "rec", "idem", "tight"} and "coverage" not in ha.settings


def test_options_on_add_their_terms(images):
    x = images[:64]
    torch.manual_seed(0)
    f, h = train.train_ign(x, steps=3, batch=16, progress=False, f=models.build("conv-ign", width=8, latent=4),
                           coverage=losses.Coverage(5.0, 2), real_noise=0.2)
    assert {"coverage", "denoise"} <= set(h) and h.settings["coverage"] == (5.0, 2)
    assert all(math.isfinite(v) for v in h["coverage"])


def test_study_settings_and_image_codec(images):
    net, options = study.settings(**study.CONDITIONS["coverage, data source, lt 10"])
    assert net["source"] == "data" and options["coverage"] == losses.Coverage(20, 4)
    assert tuple(options["weights"]) == (20, 20, 10) and options["clamp"] == 1.5
    back = study.decode_images(study.encode_images(images[:5]))
    assert (back - images[:5]).abs().max() < 0.011


def test_the_studies_write_where_they_are_told(tmp_path):
    quiet = dict(log=lambda *a, **k: None, root=tmp_path)
    record = json.loads(studies.run_study("ign-digits-remedies", fast=True, **quiet).read_text())
    rows = record["results"]["rows"]
    assert [r["condition"] for r in rows] == [study.PAPER, study.TIGHT]
    assert all(len(study.decode_images(r["images"])) == study.KEEP_IMAGES for r in rows)
    assert record["config"]["eval"]["split"] == "test" and record["results"]["gan"]["classes"] >= 9
    assert list(record["config"]["conditions"]) == list(study.CONDITIONS) and record["config"]["steps"] == 20
    studies.run_study("ign-digits", fast=True, **quiet)
    back = checkpoints.load(tmp_path / "ign-digits-fast-checkpoints" / "ign-digits.safetensors", map_location="cpu")
    assert back.source["kind"] == study.SHIPPED["source"] == back.meta["config"]["recipe"]["source"]
    assert [c[0] for c in back.meta["metrics"]["fd_by_step"]] == [10, 20]
    assert back.meta["config"]["weights"] == [20, 20, 10] and back.meta["config"]["coverage"] == [20, 4]


def test_the_shipped_network_draws_from_its_recorded_source():
    if "ign-digits" not in checkpoints.names():
        pytest.skip("data/checkpoints/ign-digits is missing")
    f = checkpoints.load("ign-digits", map_location="cpu")
    assert f.source == data.image_source(f.meta["config"]["recipe"]["source"], data.digits(split="train")[0])
    assert f.meta["steps"] > study.STUDY_STEPS
