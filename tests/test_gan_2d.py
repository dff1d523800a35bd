"""The package pieces behind 01_gan_2d: train_gan's R1 option and divergence guard, the 2D GAN
metrics (mode shares, oscillation, ModeTrace), the GAN Lab-style plots and the update study."""
import matplotlib.pyplot as plt
import pytest
import torch

from ign_lessons import data, losses, metrics, models, plots, studies, train
from ign_lessons.studies import gan_2d


def test_train_gan_r1_is_recorded_and_off_by_default():
    ring = data.toy2d("ring", 256)
    G, D, h = train.train_gan(ring, steps=3, batch=16, progress=False)
    assert set(h) == {"d_loss", "g_loss"}
    G, D, h = train.train_gan(ring, steps=3, batch=16, r1=0.1, d_steps=2, progress=False)
    assert set(h) == {"d_loss", "g_loss", "r1"} and all(v > 0 for v in h["r1"])
    with pytest.raises(train.TrainingError, match="r1"):
        train.train_gan(ring, steps=1, r1=-1.0, progress=False)


def test_r1_penalty_is_the_squared_input_gradient():
    D = models.build("mlp-discriminator", depth=0)  # D(x) = w . x + b, so grad_x D = w everywhere
    x = torch.randn(5, 2)
    assert torch.allclose(train._r1_penalty(D, x), D.body[0].weight.pow(2).sum())


def test_a_diverging_gan_stops_and_keeps_finite_weights():
    G, D, h = train.train_gan(data.toy2d("ring", 256), steps=200, lr_g=1e4, lr_d=1e4, progress=False)
    assert h.stopped and "non-finite" in h.stopped and h.steps < 200
    assert all(torch.isfinite(p).all() for net in (G, D) for p in net.parameters())


def test_mode_shares_and_oscillation():
    modes = data.toy2d_modes("ring")
    shares = metrics.mode_shares(modes[[0, 0, 1, 7]] * 1.3, "ring")  # far from the modes still counts
    assert shares == pytest.approx([0.5, 0.25, 0, 0, 0, 0, 0, 0.25])
    assert metrics.oscillation([[1, 0], [1, 0], [1, 0]]) == 0
    assert metrics.oscillation([[1, 0], [0, 1], [1, 0]]) == 1
    assert metrics.oscillation([[1, 0], [0.5, 0.5]]) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="two snapshots"):
        metrics.oscillation([[1, 0]])
    with pytest.raises(ValueError, match="no discrete modes"):
        metrics.mode_shares(torch.zeros(3, 2), "moons")


def test_mode_trace_follows_a_generator_during_training():
    G, D = gan_2d.build(seed=0, hidden=8)
    trace = metrics.ModeTrace(G, "ring", n=100)
    train.train_gan(data.toy2d("ring", 256), steps=5, batch=16, G=G, D=D, callback=trace, every=2,
                    progress=False)
    assert trace.steps == [0, 2, 4]
    assert len(trace.shares) == 3 and all(len(s) == 8 for s in trace.shares)
    assert len(trace.means[0]) == 2
    assert G.training  # the trace puts the generator back in training mode


def test_fake_gradients_point_downhill_for_every_loss():
    torch.manual_seed(0)
    D = models.build("mlp-discriminator", hidden=8)
    fake = torch.randn(10, 2)
    for loss in ("nonsaturating", "minimax", "energy"):
        push = losses.fake_gradients(D, fake, loss)
        assert push.shape == fake.shape
        moved = fake + 1e-3 * push
        before = {"energy": D(fake), "minimax": -torch.nn.functional.softplus(D(fake))}.get(
            loss, torch.nn.functional.softplus(-D(fake)))
        after = {"energy": D(moved), "minimax": -torch.nn.functional.softplus(D(moved))}.get(
            loss, torch.nn.functional.softplus(-D(moved)))
        assert (after <= before + 1e-7).all(), loss


def test_gan_views_draw():
    G, D = gan_2d.build(seed=0, hidden=8)
    z = data.noise((2,), 50)
    ring = data.toy2d("ring", 100)
    fig, axes = plt.subplots(1, 4)
    plots.discriminator_view(D, G, z, real=ring, ax=axes[0])
    plots.generator_grid(G, ax=axes[1])
    plots.generator_grid(G, ax=axes[2], warped=False)
    trace = metrics.ModeTrace(G, n=50)
    trace(0)
    trace(1)
    plots.mode_share_history(trace, ax=axes[3])
    plots.training_strip({0: plots.gan_snapshot(G, D, z), 5: plots.gan_snapshot(G, D, z)}, real=ring)
    plt.close("all")
    with pytest.raises(ValueError, match="2D input grid"):
        plots.generator_grid(models.build("mlp-generator", latent=3, hidden=8))
    with pytest.raises(ValueError, match="needs the generator"):
        plots.discriminator_view(D)


def test_study_settings_and_recipe():
    assert gan_2d.settings_with(lr_d=1e-4)["lr_d"] == 1e-4
    with pytest.raises(ValueError, match="unknown setting"):
        gan_2d.settings_with(learning_rate=1)
    assert "gan-2d-updates" in studies.discover()
    (run,) = [r for r in studies.STUDIES["gan-2d-updates"].grid(False) if r["key"] == "v2-s1"]
    assert run["seed"] == 1 and run["config"] == {"variant": "D 10x slower", "changes": {"lr_d": 1e-4}}
    G, D, history, trace = gan_2d.run(seed=0, steps=4, every=2)
    assert history.steps == 4 and trace.steps == [0, 2, 3]
    summary = gan_2d.summary(G, trace)
    assert set(summary) == {"modes", "near", "oscillation"}
