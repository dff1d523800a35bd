"""The idempotence lab without a browser (ign_lessons.lab): the session, its training thread, the frames it
sends, and the widget's actions and messages, each defect of issue 23 checked where it lived."""
import ast
import time
from pathlib import Path

import matplotlib.pyplot as plt
import pytest
import torch

from ign_lessons import checkpoints, lab, presets, train
from ign_lessons.lab import session as session_module
from ign_lessons.lab import views

ROOT = Path(__file__).resolve().parent.parent


def _weights(nets):
    return [p.detach().clone() for net in nets for p in net.parameters()]


def _changed(before, nets):
    return any(not torch.equal(a, b) for a, b in zip(before, _weights(nets)))


def _wait(condition, seconds=20.0):
    deadline = time.time() + seconds
    while not condition():
        assert time.time() < deadline, "timed out"
        time.sleep(0.02)


@pytest.fixture
def the_lab():
    made = lab.Lab()
    yield made
    made.close()


def test_step_reset_and_the_frame_is_data(the_lab):
    session = the_lab.session
    assert session.kind == "IGN" and session.steps == 0 and the_lab.frame["step"] == 0
    before = _weights(session.nets)
    sent = the_lab.frames_sent
    the_lab.step()
    assert session.steps == 1 and the_lab.frame["step"] == 1 and _changed(before, session.nets)
    assert the_lab.frames_sent == sent + 1, "one click, one frame"
    frame = the_lab.frame
    sizes = {k: len(v) for k, v in frame.items() if isinstance(v, bytes)}
    assert sizes["heat"] == 4 * views.HEAT_GRID ** 2 and sizes["samples"] == 4 * 2 * session_module.N_SHOW
    assert sum(sizes.values()) < 60_000, "a frame should be tens of kilobytes of numbers"
    assert not any(v[:4] == b"\x89PNG" for v in frame.values() if isinstance(v, bytes)), "the kernel sends no pictures"
    the_lab.reset()
    assert session.steps == 0 and not session.history and "fresh IGN weights" in the_lab.message
    assert all(torch.equal(a, b) for a, b in zip(before, _weights(session.nets))), "Reset is not the seed's start"


def test_the_step_is_the_trainers_step():
    """Ten lab steps and ten steps of train.train_ign (same data, seed and defaults) give the same weights."""
    session = lab.Session()
    session.step(10)
    f, _ = train.train_ign(session.real, steps=10, seed=0, progress=False)
    assert all(torch.equal(p, q) for p, q in zip(f.parameters(), session.generator.parameters()))


def test_n_and_probe(the_lab):
    the_lab.n = 6
    assert the_lab.frame["orbit_len"] == 7 and the_lab.frame["n"] == 6
    result = the_lab.probe(2.6, -2.4)
    assert len(result["orbit"]) == 7 and result["delta"] > 0
    assert "probe (2.60, -2.40)" in the_lab.message and len(the_lab.frame["probe"]["orbit"]) == 7
    the_lab.probe("a", 1.0)
    assert "type a number" in the_lab.message and the_lab.message_kind == "error"


def test_play_trains_in_a_thread_and_answers_meanwhile(the_lab):
    seen = []
    the_lab.observe(lambda change: seen.append(change["new"]["kind"]), names="frame")
    sent = the_lab.frames_sent
    the_lab.play()
    assert the_lab.playing
    _wait(lambda: the_lab.session.steps > 30 and the_lab.frames_sent - sent >= 3)
    assert the_lab.set("lr", 5e-4), "a setting must apply while it plays"  # no race with the trainer: the lock
    assert the_lab.session.stepper.opt.param_groups[0]["lr"] == 5e-4
    the_lab.set("model", "GAN")  # switching model mid-Play: a clean GAN, still playing
    assert "switched IGN -> GAN" in the_lab.message and the_lab.is_playing
    _wait(lambda: the_lab.session.steps > 10)
    the_lab.pause()
    assert not the_lab.is_playing and not the_lab.playing and "paused" in the_lab.message
    steps = the_lab.session.steps
    time.sleep(0.2)
    assert the_lab.session.steps == steps, "Pause should stop training"
    assert the_lab.frame["kind"] == "GAN" and the_lab.frame["heat_kind"] == "p_real"
    assert seen[-1] == "GAN" and "IGN" in seen


def test_each_model_keeps_its_own_settings(the_lab):
    the_lab.set("lambda_idem", 0)
    the_lab.set("lambda_tight", 0)
    the_lab.set("model", "split IGN")
    assert tuple(the_lab.session.settings["weights"]) == tuple(presets.PAPER_2D["weights"]), "IGN's zeros leaked"
    the_lab.set("model", "GAN")
    s = the_lab.session.settings
    assert s["lr_g"] == presets.GAN_2D["lr_g"] and s["lr_d"] == presets.GAN_2D["lr_d"] and "weights" not in s
    the_lab.set("model", "IGN")
    assert tuple(the_lab.session.settings["weights"]) == (20, 0, 0), "IGN should get back the settings it had"
    assert the_lab.settings["weights"] == [20, 0, 0], "the boxes show what the model uses"


def test_a_refused_value_stays_in_its_box(the_lab):
    settings = dict(the_lab.session.settings)
    assert not the_lab.set("lr", 0.0)
    assert "learning rate must be > 0 and <= 0.1" in the_lab.errors["lr"] and the_lab.message_kind == "error"
    assert the_lab.session.settings == settings and the_lab.settings["lr"] == settings["lr"]
    assert the_lab.set("lambda_rec", 10.0), "another box must still work"
    assert the_lab.session.settings["weights"][0] == 10.0 and "lr" in the_lab.errors
    assert not the_lab.set("lambda_tight", -1)
    assert "lambda_tight (0 switches its term off) must be >= 0" in the_lab.errors["lambda_tight"]
    assert the_lab.set("lr", 2e-3) and "lr" not in the_lab.errors
    the_lab.step()
    assert the_lab.session.steps == 1


def test_gan_controls(the_lab):
    the_lab.set("model", "GAN")
    for key, value in (("loss", "minimax"), ("lr_g", 2e-3), ("lr_d", 5e-4), ("d_steps", 3)):
        assert the_lab.set(key, value), the_lab.message
    st = the_lab.session.stepper
    assert st.loss == "minimax" and st.d_steps == 3
    assert st.opt_g.param_groups[0]["lr"] == 2e-3 and st.opt_d.param_groups[0]["lr"] == 5e-4
    the_lab.set("optimiser", "sgd")
    assert isinstance(the_lab.session.stepper.opt_g, torch.optim.SGD) and the_lab.session.steps == 0
    D = the_lab.session.stepper.D
    g, d = _weights([the_lab.session.stepper.G]), _weights([D])
    the_lab.d_step()
    assert _changed(d, [D]) and not _changed(g, [the_lab.session.stepper.G])
    the_lab.set("latent", 3)
    assert the_lab.session.stepper.G.latent_shape == (3,) and the_lab.frame["warp"] is None
    assert not the_lab.set("d_steps", 0) and "D steps per G step" in the_lab.errors["d_steps"]
    assert "p_real" in the_lab.probe(0.0, 2.0)


def test_presets_reload_and_reset_goes_back_to_the_checkpoint(the_lab):
    name = "IGN on ring (shipped checkpoint)"
    assert the_lab.load_preset(name) and the_lab.preset == name
    assert the_lab.session.checkpoint == "ign-2d-ring" and the_lab.session.steps == 5000
    assert "succeeds: 8/8 modes" in the_lab.message
    shipped = checkpoints.load("ign-2d-ring", map_location="cpu")
    same = lambda: all(torch.equal(a, b) for a, b in zip(shipped.parameters(), the_lab.session.generator.parameters()))
    the_lab.session.step(3)
    the_lab.reset()
    assert same() and the_lab.session.steps == 5000 and "back to the checkpoint ign-2d-ring" in the_lab.message
    the_lab.set("dataset", "moons")  # the preset no longer applies: the box says so
    assert the_lab.preset == "" and the_lab.session.checkpoint is None and "started again" in the_lab.message
    assert the_lab.load_preset(name) and same(), "a preset can always be reloaded"
    for failing in ("IGN on grid (shipped checkpoint)", "IGN on spiral (shipped checkpoint)"):
        the_lab.load_preset(failing)
        assert "does not succeed" in the_lab.message, f"{failing} should say it does not succeed"


def test_divergence_is_flagged_with_what_to_try(the_lab):
    the_lab.load_preset("IGN on ring (shipped checkpoint)")
    the_lab.set("lr", 0.1)
    the_lab.set("lambda_tight", 1e6)
    the_lab.play()
    _wait(lambda: not the_lab.is_playing and the_lab.frame["alarm"])
    assert the_lab.session.alarm and the_lab.message_kind == "alarm"
    assert "diverged" in the_lab.message and "smaller learning rate" in the_lab.message
    assert the_lab.frame["alarm"] and the_lab.frame["verdict"].startswith("diverged"), "coverage must not claim success"
    the_lab.step()
    assert the_lab.message_kind == "alarm", "a diverged model must not train on"
    the_lab.reset()
    assert not the_lab.session.alarm and not the_lab.frame["alarm"]


def test_samples_leaving_the_plane_are_a_divergence():
    session = lab.Session()
    with torch.no_grad():
        [m for m in session.generator.modules() if isinstance(m, torch.nn.Linear)][-1].bias.add_(100.0)
    with pytest.raises(lab.LabError, match="left the plane"):
        session.measure()
    assert session.verdict().startswith("diverged")


def test_experiments_keep_their_instructions(the_lab):
    for name in presets.EXPERIMENTS:
        the_lab.experiment(name)
        assert the_lab.experiment_info["name"] == name and the_lab.experiment_info["expect"]
        if the_lab.is_playing:
            _wait(lambda: the_lab.session.steps > 5)
            assert the_lab.experiment_info["name"] == name, "the instructions must stay while it plays"
        the_lab.pause()
    assert the_lab.session.kind == "GAN" and len(the_lab.session.history["d_loss"]) == 20


def test_draw_your_own_data(the_lab):
    the_lab.add_points([[1.0, 1.0], [1.2, 1.1], [-1.0, -0.5]])
    assert the_lab.session.settings["dataset"] == "drawn" and the_lab.session.steps == 0
    assert "3 points" in the_lab.message
    the_lab.add_points([[0.0, 2.0]])
    assert len(the_lab.session.points) == 4
    assert (the_lab.session.real - torch.tensor([0.0, 2.0])).norm(dim=1).min() < 0.3
    the_lab.session.step(5)
    assert the_lab.frame["dataset"] == "drawn"
    the_lab.add_points([[9.0, 0.0]])
    assert "must lie on the plane" in the_lab.message and len(the_lab.session.points) == 4
    the_lab.clear_drawing()
    assert the_lab.session.settings["dataset"] == "ring"


def test_save_writes_only_where_it_may(the_lab, tmp_path, monkeypatch):
    monkeypatch.setattr(session_module, "saved_models_folder", lambda: tmp_path / "saved_models")
    the_lab.set("model", "GAN")
    written = the_lab.save("mine.safetensors")
    assert written[0] == tmp_path / "saved_models" / "mine.safetensors" and "saved" in the_lab.message
    G = checkpoints.load(written[0], map_location="cpu")
    D = checkpoints.load(written[1], map_location="cpu")
    assert G.role == "generator" and D.role == "discriminator"
    assert the_lab.save(str(tmp_path / "elsewhere" / "deeper" / "m.safetensors")) is None
    assert "does not make folders" in the_lab.message and not (tmp_path / "elsewhere").exists()
    assert the_lab.save(str(tmp_path / "m.safetensors")), "an existing folder the user names is fine"
    assert the_lab.save("m.txt") is None and "ending in .safetensors" in the_lab.message
    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(session_module.checkpoints, "save", full_disk)  # an OSError is said, not swallowed
    assert the_lab.save("full.safetensors") is None
    assert the_lab.message_kind == "error" and "No space left on device" in the_lab.message


def test_static_views_draw_every_panel():
    fig, session = lab.static_views(checkpoint="ign-2d-ring", n=3)
    assert all(ax.has_data() or ax.texts for ax in fig.axes[:6]) and fig.get_size_inches()[0] <= 12
    assert lab.png(fig)[:4] == b"\x89PNG"
    plt.close(fig)


def test_the_tuned_settings_are_written_once():
    from ign_lessons.studies import compare_2d, gan_2d, merged_vs_split
    assert tuple(train.IGN_DEFAULTS["points"]["weights"]) == tuple(presets.IGN_2D["weights"])
    assert compare_2d.MODELS["ign"]["weights"] == tuple(presets.IGN_2D["weights"])
    assert compare_2d.MODELS["gan"]["lr"] == gan_2d.SETTINGS["lr_g"] == presets.GAN_2D["lr_g"]
    assert merged_vs_split.SETTINGS["weights"] == presets.PAPER_2D["weights"]
    assert lab.default_settings("split IGN")["weights"] == tuple(presets.PAPER_2D["weights"])
    ours, theirs = presets.build_gan_2d(3)[0], gan_2d.build(3)[0]
    assert all(torch.equal(a, b) for a, b in zip(ours.parameters(), theirs.parameters()))


def test_no_core_module_imports_studies_or_the_lab():
    for path in (ROOT / "ign_lessons" / "lab").glob("*.py"):
        assert "from ..studies" not in path.read_text(), f"the lab's {path.name} imports studies/: use presets"
    core = [p for p in (ROOT / "ign_lessons").glob("*.py") if p.stem not in ("__main__", "book", "robustness")]
    for path in core:
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([node.module or ""] if isinstance(node, ast.ImportFrom) else
                     [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            if isinstance(node, ast.ImportFrom) and node.level and node.module is None:
                names = [a.name for a in node.names]
            assert not any(n.split(".")[0] in ("studies", "lab") or ".studies" in n or ".lab" in n for n in names), \
                f"{path.name} imports {names}"
