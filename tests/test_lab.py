"""The idempotence lab without a browser: controls, buttons, views, probes and messages (ign_lessons.lab)."""
import asyncio
import threading

import matplotlib.pyplot as plt
import pytest
import torch

from ign_lessons import checkpoints, lab, train


def _weights(nets):
    return [p.detach().clone() for net in nets for p in net.parameters()]


def _changed(before, nets):
    return any(not torch.equal(a, b) for a, b in zip(before, _weights(nets)))


def _artists(ax):
    return len(ax.collections) + len(ax.lines) + len(ax.patches) + len(ax.texts) + len(ax.images)


def run_async(coroutine):
    """asyncio.run in a thread of its own: the browser tests' Playwright may hold this thread's loop."""
    failure = []
    thread = threading.Thread(target=lambda: failure.extend(_outcome(coroutine)))
    thread.start()
    thread.join()
    if failure:
        raise failure[0]


def _outcome(coroutine):
    try:
        asyncio.run(coroutine)
    except BaseException as error:  # re-raised in the test's thread
        return [error]
    return []


@pytest.fixture
def the_lab():
    made = lab.Lab()
    yield made
    plt.close(made.fig)


def test_step_reset_and_views(the_lab):
    session = the_lab.session
    assert session.kind == "IGN" and session.steps == 0 and not the_lab.interactive
    image = the_lab.image.value
    before = _weights(session.nets)
    the_lab.step_button.click()
    assert session.steps == 1 and len(session.history["loss"]) == 1
    assert _changed(before, session.nets), "Step did not change the weights"
    assert the_lab.image.value != image, "Step did not redraw the figure"
    assert all(_artists(ax) for ax in the_lab.axes), "a view is empty"
    assert "step 1" in the_lab.status.value
    the_lab.reset_button.click()
    assert session.steps == 0 and not session.history
    assert all(torch.equal(a, b) for a, b in zip(before, _weights(session.nets))), "Reset is not the seed's start"


def test_the_step_is_the_trainers_step():
    """Ten lab steps and ten steps of train.train_ign (same data, seed and defaults) give the same weights."""
    session = lab.Session()
    session.step(10)
    f, _ = train.train_ign(session.real, steps=10, seed=0, progress=False)
    assert all(torch.equal(p, q) for p, q in zip(f.parameters(), session.generator.parameters()))


def test_n_slider_and_probe_change_the_views(the_lab):
    layers = len(the_lab.axes[1].collections)
    the_lab.n.value = 6
    assert len(the_lab.axes[1].collections) == layers + 3, "f^n(z) should show three more applications"
    assert "n = 6" in the_lab.axes[1].get_title()
    result = the_lab.probe(2.6, -2.4)
    assert len(result["orbit"]) == 7 and result["delta"] > 0
    assert "delta" in the_lab.message.value and "probe (2.60, -2.40)" in the_lab.message.value
    assert any(line.get_color() == "#00b4ff" for line in the_lab.axes[2].lines), "no probe path on the energy"


def test_play_and_pause_train_between_redraws(the_lab):
    redraws = the_lab.redraws

    async def play_then_pause():
        the_lab.play_button.click()
        for _ in range(200):  # up to 20 s on a loaded machine; the loop only waits, it does not time
            await asyncio.sleep(0.1)
            if the_lab.redraws - redraws >= 2:
                break
        assert the_lab.playing and "playing" in the_lab.status.value
        the_lab.pause_button.click()
        await asyncio.wait_for(the_lab.play_task, 5)

    run_async(play_then_pause())
    assert not the_lab.playing and the_lab.session.steps > 1
    assert the_lab.redraws - redraws >= 2, "Play should redraw more than once"
    assert "paused" in the_lab.status.value


@pytest.mark.parametrize("control, value, words", [
    ("lambda", -1.0, "lambda_rec (0 switches its term off) must be >= 0"),
    ("lr", 0.0, "learning rate must be > 0 and <= 0.1"),
    ("dataset", None, "choose a data set"),
])
def test_bad_values_give_a_message_not_a_traceback(the_lab, control, value, words):
    settings = dict(the_lab.session.settings)
    if control == "lambda":
        the_lab.lambdas[0].value = value
    elif control == "lr":
        the_lab.lr.value = value
    else:
        the_lab.dataset.options = ()  # an empty choice
    assert words in the_lab.message.value and "#b00020" in the_lab.message.value
    assert the_lab.session.settings == settings, "a refused value must not change the model"
    the_lab.step_button.click()  # the model still trains with its last good settings
    assert the_lab.session.steps == 1


def test_live_settings_and_a_new_model(the_lab):
    the_lab.lambdas[2].value = 0.0
    the_lab.distance.value = "l2"
    the_lab.clamp_on.value = True
    the_lab.lr.value = 5e-4
    step = the_lab.session.stepper
    assert tuple(step.weights) == (20, 20, 0) and step.distance == "l2" and step.clamp == 1.5
    assert step.opt.param_groups[0]["lr"] == 5e-4
    the_lab.model.value = "split IGN"
    assert isinstance(the_lab.session.stepper, train.SplitIGNStep) and the_lab.clamp_on.disabled
    the_lab.step_button.click()
    assert the_lab.session.steps == 1 and "rec" in the_lab.session.history


def test_gan_d_and_g_steps_update_one_player(the_lab):
    the_lab.model.value = "GAN"
    G, D = the_lab.session.stepper.G, the_lab.session.stepper.D
    g, d = _weights([G]), _weights([D])
    the_lab.d_button.click()
    assert _changed(d, [D]) and not _changed(g, [G])
    d = _weights([D])
    the_lab.g_button.click()
    assert _changed(g, [G]) and not _changed(d, [D])
    titles = " ".join(ax.get_title() for ax in the_lab.axes)
    assert "warped generator grid" in titles and "gradient arrows" in titles
    assert "p_real" in the_lab.probe(0.0, 2.0)


def test_presets_experiments_and_save(the_lab, tmp_path):
    name = "IGN on ring (shipped checkpoint)"
    the_lab.preset.value = name
    assert the_lab.session.checkpoint == "ign-2d-ring" and the_lab.session.steps == 5000
    shipped = checkpoints.load("ign-2d-ring", map_location="cpu")
    assert all(torch.equal(a, b) for a, b in zip(shipped.parameters(), the_lab.session.generator.parameters()))

    async def each_experiment():
        for experiment in lab.EXPERIMENTS:
            the_lab.experiment(experiment)
            assert experiment in the_lab.message.value and "Expect" in the_lab.message.value
            the_lab.pause()
            if the_lab.play_task is not None:
                await the_lab.play_task

    run_async(each_experiment())
    assert the_lab.session.kind == "GAN" and len(the_lab.session.history["d_loss"]) == 20
    thread = threading.Thread(target=the_lab.play)  # outside an event loop, Play says what to do instead
    thread.start()
    thread.join()
    assert "use Step" in the_lab.message.value and not the_lab.playing
    the_lab.save_path.value = str(tmp_path / "mine.safetensors")
    the_lab.save_button.click()
    G = checkpoints.load(tmp_path / "mine.safetensors", map_location="cpu")
    D = checkpoints.load(tmp_path / "mine-discriminator.safetensors", map_location="cpu")
    assert G.role == "generator" and D.role == "discriminator"
    assert all(torch.equal(a, b) for a, b in zip(G.parameters(), the_lab.session.stepper.G.parameters()))
    the_lab.save_path.value = str(tmp_path / "mine.txt")
    the_lab.save_button.click()
    assert "ending in .safetensors" in the_lab.message.value


def test_static_views_draw_every_panel():
    fig, session = lab.static_views(checkpoint="ign-2d-ring", n=3)
    assert all(_artists(ax) for ax in fig.axes) and fig.get_size_inches()[0] <= 12
    assert lab.png(fig)[:4] == b"\x89PNG"
    plt.close(fig)


@pytest.mark.parametrize("kind", lab.MODELS)
def test_a_blitted_frame_is_the_full_drawing(kind):
    """Frames redraws only what moved on a kept background; the picture must be the one a full draw gives
    (up to a few pixels where a tick meets an image's edge), and full draws must be rare while it trains."""
    import numpy as np
    session = lab.Session(lab.default_settings(kind))
    session.step(20)
    fig, axes = lab.new_figure()
    frames = lab.Frames(fig, axes)
    probe = session.probe(1.0, 0.5, 3) if session.autoencoder is not None else None
    for _ in range(12):
        session.step(3)
        lab.draw(session, axes, probe=probe)
        frames.show()
    blitted = np.asarray(fig.canvas.buffer_rgba()).copy()
    plain_fig, plain_axes = lab.new_figure()
    lab.draw(session, plain_axes, probe=probe)
    plain_fig.canvas.draw()
    differ = (blitted != np.asarray(plain_fig.canvas.buffer_rgba())).any(axis=2).sum()
    plt.close(fig)
    plt.close(plain_fig)
    assert differ <= 10, f"{differ} pixels differ from a full draw"
    assert frames.full_draws <= 3, f"{frames.full_draws} full draws in 12 frames"
