"""Bad inputs and faults, each with what the user sees: the course's own error, a command's error, or a
documented way of handling it. `python tests/test_reliability.py` rewrites the table in docs/reliability.md
from these cases, with the messages as they are now."""
import contextlib
import hashlib
import importlib.util
import inspect
import io
import json
import os
import pickle
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
import torch

from ign_lessons import __main__ as cli
from ign_lessons import book, checkpoints, data, lab, losses, metrics, models, plots, results, runtime, train
from ign_lessons.checks import CourseError

ROOT = Path(__file__).resolve().parent.parent
TABLE = ROOT / "docs" / "reliability.md"
POINTS = data.toy2d("ring", 64)
DIGITS = data.digits()[0][:64]
NAN = float("nan")


class Case(NamedTuple):
    area: str
    tried: str
    action: Callable  # raises CourseError or SystemExit, or returns the message of a case handled on purpose
    match: str  # a regular expression the message must contain
    env: tuple = ()  # (variable, value) pairs set while the case runs


def quiet(**settings):
    return {"progress": False, **settings}


def ign(samples=POINTS, **settings):
    return train.train_ign(samples, **quiet(steps=settings.pop("steps", 1), **settings))


@contextlib.contextmanager
def environ(**values):
    before = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    runtime.data_folder.cache_clear()
    try:
        yield
    finally:
        for k, v in before.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
        runtime.data_folder.cache_clear()


def lab_box(key, value, model="IGN"):
    """The lab's widget with one box set to a bad value, then another box changed: the messages it shows."""
    widget = lab.Lab(lab.default_settings(model))
    try:
        widget.set(key, value)
        refused = widget.message
        if model != "IGN":
            return refused
        widget.set("lambda_rec", 10)
        return f"{refused} | then: {widget.message}"
    finally:
        widget.close()


def lab_save(path):
    widget = lab.Lab()
    try:
        assert widget.save(str(path)) is None
        return widget.message
    finally:
        widget.close()


def save_onto_a_folder(tmp):
    (tmp / "taken.safetensors").mkdir()
    return lab_save(tmp / "taken.safetensors")


def lab_preset(name):
    widget = lab.Lab()
    try:
        widget.load_preset(name)
        return widget.message
    finally:
        widget.close()


def diverge():
    session = lab.Session(lr=0.1, weights=(20, 20, 1e6))
    session.step(200)


def course_py(*argv):
    spec = importlib.util.spec_from_file_location("course_entry", ROOT / "course.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    code = module.main(list(argv))
    assert code == 2, f"course.py {' '.join(argv)} returned {code}"


# --- faults during training: each returns the message the run leaves in its history ------------------------

CELLS = r"""
import signal
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
shell.run_cell('''
import signal
signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a kernel, even where the shell ignores Ctrl-C
from ign_lessons import data, train
points, done = data.toy2d("ring", 64), []
def press_ctrl_c(i, history):
    if i == 5 and not done:
        signal.raise_signal(signal.SIGINT)
''')
loop = shell.run_cell('''
for seed in range(3):
    f, history = train.train_ign(points, steps=20, seed=seed, progress=False, every=1, callback=press_ctrl_c)
    done.append(history.steps)
''')
again = shell.run_cell("f, history = train.train_ign(points, steps=20, progress=False); done.append(history.steps)")
print(type(loop.error_in_exec).__name__, shell.user_ns["done"], again.error_in_exec)
"""


def ctrl_c_in_a_loop_of_runs():
    """In IPython (a real InteractiveShell, in a fresh process): one Ctrl-C during the first of three runs of a
    cell stops the cell; the next cell trains as usual."""
    out = subprocess.run([sys.executable, "-c", CELLS], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip().endswith("KeyboardInterrupt [6, 20] None"), out.stdout + out.stderr[-2000:]
    return "the first run returned its 6 steps, the loop stopped there; the next cell trained 20 steps"


def ctrl_c_during_training():
    def press_ctrl_c(i, history):
        if i == 30:
            signal.raise_signal(signal.SIGINT)  # what Ctrl-C does: Python raises KeyboardInterrupt
    before = signal.signal(signal.SIGINT, signal.default_int_handler)  # a background job may ignore SIGINT
    try:
        f, history = ign(steps=200, every=10, callback=press_ctrl_c)
    finally:
        signal.signal(signal.SIGINT, before)
    assert history.interrupted == 31 and len(history["loss"]) == 31 and train.finite_weights([f])
    return history.stopped


def fresh_ign():
    torch.manual_seed(0)
    return models.build("mlp-ign", source=data.gaussian_source(POINTS))


def nan_weight_mid_training():
    f = fresh_ign()

    def poison(i, history):
        if i == 120:
            with torch.no_grad():
                next(f.parameters()).view(-1)[0] = NAN
    f, history = ign(f=f, steps=300, every=1, callback=poison)
    clean, _ = ign(f=fresh_ign(), steps=100)  # the same run without the fault, to the last snapshot before step 121
    assert history.restored == 100 and train.finite_weights([f])
    assert all(torch.equal(a, b) for a, b in zip(f.state_dict().values(), clean.state_dict().values()))
    return history.stopped


def overflowing_loss():
    def step(i):
        return {"rec": torch.tensor(1.0), "tight": torch.tensor(float("-inf") if i == 7 else -1.0)}
    net = torch.nn.Linear(2, 2)
    history = train.run(step, 20, [net], progress=False)
    assert history.steps == 7 and history.restored == 0
    return history.stopped


def infinite_weight_with_finite_losses():
    net = torch.nn.Linear(2, 2)

    def step(i):
        if i == 3:
            with torch.no_grad():
                net.weight[0, 0] = float("inf")
        return {"loss": torch.tensor(1.0)}
    history = train.run(step, 10, [net], progress=False)
    assert history.steps == 3 and train.finite_weights([net])
    return history.stopped


def reject_pickle(tmp):
    path = tmp / "evil.safetensors"
    meta = checkpoints.save(models.build("mlp-ign", hidden=4, depth=1), path)
    evil = pickle.dumps({"weight": torch.zeros(2)})  # the refusal does not depend on what the pickle would run
    path.write_bytes(evil)
    path.with_suffix(".json").write_text(json.dumps({**meta, "sha256": hashlib.sha256(evil).hexdigest()}))
    checkpoints.load(path)


def damaged_json(tmp):
    path = tmp / "tiny.safetensors"
    checkpoints.save(models.build("mlp-ign", hidden=4, depth=1), path)
    path.with_suffix(".json").write_text("{half a file")
    checkpoints.load(path)


def damaged_weights(tmp):
    path = tmp / "tiny.safetensors"
    checkpoints.save(models.build("mlp-ign", hidden=4, depth=1), path)
    path.write_bytes(path.read_bytes()[:-3])
    checkpoints.load(path)


def other_architecture(tmp):
    path = tmp / "tiny.safetensors"
    meta = checkpoints.save(models.build("mlp-ign", hidden=4, depth=1), path)
    path.with_suffix(".json").write_text(json.dumps({**meta, "model": {"kind": "mlp-ign", "options": {"hidden": 8}}}))
    checkpoints.load(path)


def cut_shipped(tmp):
    """A shipped checkpoint whose weights were cut short (a broken copy): copy the folder, cut, load by path."""
    import shutil
    copy = tmp / "data"
    shutil.copytree(ROOT / "data", copy, ignore=shutil.ignore_patterns("results"))
    weights = copy / "checkpoints" / "ign-2d-ring.safetensors"
    weights.write_bytes(weights.read_bytes()[:-100])
    with environ(IGN_LESSONS_DATA=str(copy)):
        checkpoints.load("ign-2d-ring")


def same_shapes_other_kind(tmp):
    """An IGN network and a 2D generator of latent 2 have the same weight shapes: only the file itself can tell."""
    path = tmp / "tiny.safetensors"
    meta = checkpoints.save(models.build("mlp-ign", hidden=4, depth=1), path)
    other = {"kind": "mlp-generator", "options": {"hidden": 4, "depth": 1}}
    path.with_suffix(".json").write_text(json.dumps({**meta, "model": other}))
    checkpoints.load(path)


def broken_run_file(tmp):
    """A run file of a study edited by hand so that it no longer parses; the study is resumed."""
    from ign_lessons import studies
    first = studies.find_study("compare-2d").grid(True)[0]["key"]
    (tmp / "compare-2d-fast").mkdir()
    (tmp / "compare-2d-fast" / f"{first}.json").write_text('{"config": {"data": "ring",')
    studies.run_study("compare-2d", fast=True, root=tmp, log=lambda *a, **k: None)


def headline_before_its_selection(tmp):
    """digits-headline run into a results folder where digits-select has not run."""
    from ign_lessons import studies
    studies.run_study("digits-headline", fast=True, root=tmp, log=lambda *a, **k: None)


def grade_a_text_file_and_a_notebook(tmp):
    """A file that is not a notebook among the ones to grade: it is named, and the others are still graded."""
    import nbformat

    from ign_lessons.exercises import classroom
    text, notebook = tmp / "essay.ipynb", tmp / "01_empty.ipynb"
    text.write_text("Dear teacher, here is my work")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
    nb.metadata["kernelspec"] = {"name": "ign-lessons", "display_name": "Python (ign-lessons)", "language": "python"}
    nbformat.write(nb, notebook)
    table = classroom.grade([text, notebook], out_dir=tmp / "grades", jobs=1)
    rows = (tmp / "grades" / "grades.csv").read_text()
    assert str(notebook) in rows and str(text) in rows, rows
    return table[str(text)]["(the notebook)"][1]


def damaged_summary(tmp):
    """A study's summary (data/results/NAME.json) cut off, read by results.load as a notebook does."""
    folder = tmp / "summary-data"
    (folder / "digits").mkdir(parents=True)
    (folder / "digits" / "optdigits_8x8.csv.gz").symlink_to(ROOT / "data" / "digits" / "optdigits_8x8.csv.gz")
    (folder / "results").mkdir()
    (folder / "results" / "compare-2d.json").write_text('{"results": {"table": [')
    with environ(IGN_LESSONS_DATA=str(folder)):
        results.load("compare-2d")


def damaged_run_record(tmp):
    """A run file of a study edited by hand, met when a summary reads the runs."""
    (tmp / "runs" / "compare-2d").mkdir(parents=True)
    (tmp / "runs" / "compare-2d" / "ring-ign-s0.json").write_text('{"config": {"data": "ring",}}')
    results.load_runs("compare-2d", root=tmp / "runs")


def nan_model(tmp):
    net = models.build("mlp-ign", hidden=4, depth=1)
    with torch.no_grad():
        next(net.parameters()).fill_(NAN)
    checkpoints.save(net, tmp / "nan.safetensors")


class TwoScores(torch.nn.Module):
    def forward(self, x):
        return torch.zeros(len(x), 2)


class NoLatent(torch.nn.Module):
    def forward(self, z):
        return z


CASES = [
    # training data
    Case("training data", "samples as a NumPy array", lambda: ign(np.zeros((8, 2))), "must be a torch.Tensor"),
    Case("training data", "points of shape (N, 3)", lambda: ign(torch.zeros(8, 3)), r"shape \(N, 2\)"),
    Case("training data", "a single sample", lambda: ign(POINTS[:1]), "at least 2 sample"),
    Case("training data", "no samples at all, shape (0, 2)", lambda: ign(POINTS[:0]), "at least 2 sample"),
    Case("training data", "a NaN among the points", lambda: ign(torch.cat([POINTS, torch.full((1, 2), NAN)])),
         "2 NaN or infinite"),
    Case("training data", "digits as raw pixels 0..255", lambda: ign(DIGITS * 127.5 + 127.5), r"values in \[-1, 1\]"),
    Case("training data", "digits scaled to [0, 1]", lambda: ign((DIGITS + 1) / 2), r"look scaled to \[0, 1\]"),
    Case("training data", "images that are not square, (N, 1, 8, 6)", lambda: ign(DIGITS[..., :6]), "must be square"),
    Case("training data", "images of side 9", lambda: ign(torch.nn.functional.pad(DIGITS, (0, 1, 0, 1), value=-1.0)),
         "4 to 7 times a power of two"),
    Case("training data", "a 3-dimensional tensor (N, 8, 8)", lambda: ign(DIGITS[:, 0]), r"\(N, C, H, W\)"),
    # settings of the trainers
    Case("settings", "train_ign(clamp=0)", lambda: ign(clamp=0), "clamp must be > 0"),
    Case("settings", "train_ign(clamp=-1.5)", lambda: ign(clamp=-1.5), "clamp must be > 0"),
    Case("settings", "train_ign(lr=0)", lambda: ign(lr=0), "lr must be > 0"),
    Case("settings", "train_ign(lr=-1e-3)", lambda: ign(lr=-1e-3), "lr must be > 0"),
    Case("settings", "train_ign(lr=nan)", lambda: ign(lr=NAN), "lr must be a finite number"),
    Case("settings", "train_ign(lr='0.001')", lambda: ign(lr="0.001"), "lr must be a finite number"),
    Case("settings", "a negative IGN weight", lambda: ign(weights=(20, 20, -1)), "lambda_tight must be >= 0"),
    Case("settings", "all IGN weights zero", lambda: ign(weights=(0, 0, 0)), "all zero"),
    Case("settings", "two IGN weights instead of three", lambda: ign(weights=(20, 20)), "three numbers"),
    Case("settings", "train_ign(batch=0)", lambda: ign(batch=0), "batch must be a whole number >= 1"),
    Case("settings", "train_ign(batch=64.0)", lambda: ign(batch=64.0), "batch must be a whole number"),
    Case("settings", "train_ign(steps=-5)", lambda: ign(steps=-5), "steps must be a whole number >= 0"),
    Case("settings", "train_ign(steps=1.5)", lambda: ign(steps=1.5), "steps must be a whole number"),
    Case("settings", "train_ign(seed='0')", lambda: ign(seed="0"), "seed must be a whole number"),
    Case("settings", "train_ign(seed=1.5)", lambda: ign(seed=1.5), "seed must be a whole number"),
    Case("settings", "train_ign(distance='L1')", lambda: ign(distance="L1"), "did you mean 'l1'"),
    Case("settings", "train_ign(clamp=1.5, clamp_ref='pair')", lambda: ign(clamp=1.5, clamp_ref="pair"),
         "did you mean 'paired'"),
    Case("settings", "train_ign(betas=(0.5,))", lambda: ign(betas=(0.5,)), "betas must be a pair"),
    Case("settings", "train_ign(betas=(1.0, 0.999))", lambda: ign(betas=(1.0, 0.999)), r"betas\[0\] must be"),
    Case("settings", "train_ign(real_noise=0)", lambda: ign(real_noise=0), "real_noise must be > 0"),
    Case("settings", "train_ign(coverage=0)", lambda: ign(coverage=0), "coverage needs a weight > 0"),
    Case("settings", "train_ign(every=0) with a callback", lambda: ign(every=0, callback=print),
         "every must be a whole number >= 1"),
    Case("settings", "train_gan(loss='non-saturating')",
         lambda: train.train_gan(POINTS, **quiet(steps=1, loss="non-saturating")), "did you mean 'nonsaturating'"),
    Case("settings", "train_gan(d_steps=0)", lambda: train.train_gan(POINTS, **quiet(steps=1, d_steps=0)),
         "d_steps must be a whole number >= 1"),
    Case("settings", "train_gan(r1=-1)", lambda: train.train_gan(POINTS, **quiet(steps=1, r1=-1)), "r1 must be >= 0"),
    Case("settings", "train_gan(lr_d=0)", lambda: train.train_gan(POINTS, **quiet(steps=1, lr_d=0)),
         "lr_d must be > 0"),
    Case("settings", "train_ebgan(margin=-1)", lambda: train.train_ebgan(POINTS, **quiet(steps=1, margin=-1)),
         "margin must be > 0"),
    Case("settings", "train_ebgan(margin=0)", lambda: train.train_ebgan(POINTS, **quiet(steps=1, margin=0)),
         "margin must be > 0"),
    Case("settings", "train_split_ign(distance='cosine')",
         lambda: train.train_split_ign(POINTS, **quiet(steps=1, distance="cosine")), "Unknown distance 'cosine'"),
    Case("settings", "train_classifier(batch=0)", lambda: train.train_classifier(**quiet(steps=1, batch=0)),
         "batch must be a whole number >= 1"),
    # networks and sources that do not fit the data
    Case("networks", "a 2D generator given z of integers",
         lambda: models.build("mlp-generator")(torch.ones(3, 2).long()),
         "takes z of dtype torch.float32.*got torch.int64; convert with .to\\(torch.float32\\)\\.$"),
    Case("networks", "an IGN network given float64 points", lambda: models.build("mlp-ign")(torch.ones(3, 2).double()),
         "takes samples of dtype torch.float32.*got torch.float64.*or the model with .to\\(torch.float64\\)"),
    Case("networks", "IGN's terms on an empty batch",
         lambda: losses.ign_terms(models.build("mlp-ign"), POINTS[:0], POINTS[:0]), "empty batch of samples"),
    Case("networks", "models.build('mlp-ign', hidden=0)", lambda: models.build("mlp-ign", hidden=0),
         "mlp-ign's hidden must be a whole number >= 1, got 0"),
    Case("networks", "models.build('conv-ign', width=-3)", lambda: models.build("conv-ign", width=-3),
         "conv-ign's width must be a whole number >= 1, got -3"),
    Case("networks", "the energy delta of a GAN discriminator",
         lambda: losses.energy(models.build("mlp-discriminator"), POINTS), "got a discriminator.*plots.heatmap\\(D\\)"),
    Case("networks", "an image network f on 2D points", lambda: ign(f=models.build("conv-ign", size=8, channels=1)),
         "f does not fit data of shape"),
    Case("networks", "a 2D generator on the digits",
         lambda: train.train_gan(DIGITS, **quiet(steps=1, G=models.build("mlp-generator"))), "G maps"),
    Case("networks", "a discriminator with two scores per sample",
         lambda: train.train_gan(POINTS, **quiet(steps=1, D=TwoScores())), r"needs \(\(2,\), \(2, 1\)\)"),
    Case("networks", "a generator without .latent_shape",
         lambda: train.train_gan(POINTS, **quiet(steps=1, G=NoLatent())), "G needs a .latent_shape"),
    Case("networks", "an EBGAN autoencoder for images on points",
         lambda: train.train_ebgan(POINTS, **quiet(steps=1, A=models.build("conv-ign", size=8, channels=1))),
         "A does not fit"),
    Case("networks", "a noise function giving z of shape (n, 1)", lambda: ign(noise=lambda n: torch.randn(n, 1)),
         "z must have the shape of the data"),
    Case("networks", "losses.ign_terms with z of shape (B, 1)",
         lambda: losses.ign_terms(models.build("mlp-ign"), POINTS, torch.randn(64, 1)), "z must have the shape"),
    Case("networks", "losses.ign_terms paired clamp with 64 x's and 32 z's",
         lambda: losses.ign_terms(models.build("mlp-ign"), POINTS, POINTS[:32], clamp=1.5), "pairs x and z"),
    Case("networks", "models.build('mlp-ing')", lambda: models.build("mlp-ing"), "did you mean 'mlp-ign'"),
    Case("networks", "losses.tight_clamp with scale 0",
         lambda: losses.tight_clamp(-torch.ones(3), torch.ones(3), 0.0), "clamp must be > 0"),
    Case("networks", "losses.tight_clamp where the reconstruction is perfect (r = 0)",
         lambda: f"finite: {losses.tight_clamp(-torch.ones(3), torch.zeros(3)).tolist()}", "finite: \\[-"),
    Case("networks", "models.build('mlp-ign', hiden=64)", lambda: models.build("mlp-ign", hiden=64),
         "did you mean 'hidden'"),
    Case("networks", "models.sample(f, -1)", lambda: models.sample(models.build("mlp-ign"), -1),
         "n must be a whole number >= 0"),
    Case("networks", "models.sample(f, 5, z=...) with z of shape (5, 3)",
         lambda: models.sample(models.build("mlp-ign"), 5, z=torch.zeros(5, 3)), r"mlp-ign takes samples of shape"),
    Case("networks", "models.sample of a discriminator", lambda: models.sample(models.build("mlp-discriminator"), 5),
         "needs a GAN generator or an IGN network"),
    Case("networks", "a 2D discriminator applied to digits", lambda: models.build("mlp-discriminator")(DIGITS),
         r"mlp-discriminator takes samples of shape \(N, 2\)"),
    Case("networks", "losses.ign_loss with two weights",
         lambda: losses.ign_loss(models.build("mlp-ign"), POINTS, POINTS, (20, 20)), "three numbers"),
    Case("networks", "losses.per_sample_distance of (4, 2) and (3, 2)",
         lambda: losses.per_sample_distance(torch.zeros(4, 2), torch.zeros(3, 2)), "tensors of one shape"),
    Case("networks", "History.last of a curve that is not there", lambda: ign()[1].last("los"),
         "did you mean 'loss'"),
    Case("networks", "an IGN network for 2D points with a source of 3 coordinates",
         lambda: models.build("mlp-ign", source={"mean": [0, 0, 0], "std": [1, 1, 1]}),
         "source does not fit this IGN network, whose samples have shape \\(N, 2\\): its mean has shape "
         "\\(3,\\)"),
    Case("networks", "an image IGN network given the source 'gaussian' (a name, not a source)",
         lambda: models.build("conv-ign", source="gaussian"), "got 'gaussian'.*data.image_source\\(kind, images\\)"),
    Case("networks", "models.build('mlp-ign', depth=-1)", lambda: models.build("mlp-ign", depth=-1),
         "depth must be a whole number >= 0, got -1"),
    Case("networks", "GAN's discriminator loss on an empty batch",
         lambda: losses.gan_d_loss(models.build("mlp-discriminator"), POINTS[:0], POINTS[:0]), "empty batch"),
    Case("networks", "History.last(window=0)", lambda: ign()[1].last("loss", window=0),
         "window must be a whole number >= 1, got 0"),
    # metrics
    Case("metrics", "oscillation of ragged shares", lambda: metrics.oscillation([[0.5, 0.5], [1.0]]),
         "must be a table.*every row as long as the others"),
    Case("metrics", "mode_coverage with radius=-1", lambda: metrics.mode_coverage(POINTS, "ring", radius=-1),
         "radius must be > 0, got -1 \\(or None for the default radius\\)"),
    Case("metrics", "History.last of an empty history", lambda: train.History().last("rec"),
         "this history is empty"),
    Case("metrics", "ModeTrace.oscillation before any snapshot",
         lambda: metrics.ModeTrace(models.build("mlp-generator"), n=10).oscillation(),
         "needs a trace of at least 2 snapshot\\(s\\), this one has 0.*callback=trace"),
    Case("metrics", "idempotence_error of an empty batch",
         lambda: metrics.idempotence_error(models.build("mlp-ign"), POINTS[:0]), "empty batch"),
    Case("metrics", "idempotence_error with z of shape (4, 3)",
         lambda: metrics.idempotence_error(models.build("mlp-ign"), torch.zeros(4, 3)), "takes samples of shape"),
    Case("metrics", "mode_coverage of an all-NaN generator",
         lambda: metrics.mode_coverage(torch.full((100, 2), NAN)), "NaN.*diverged"),
    Case("metrics", "mode_coverage of no samples", lambda: metrics.mode_coverage(torch.zeros(0, 2)), "at least 1"),
    Case("metrics", "mode_coverage(radius=0)", lambda: metrics.mode_coverage(POINTS, radius=0), "radius must be > 0"),
    Case("metrics", "mode_coverage(min_share=2)", lambda: metrics.mode_coverage(POINTS, min_share=2),
         "min_share must be >= 0 and <= 1"),
    Case("metrics", "mode_coverage of the moons (no modes)", lambda: metrics.mode_coverage(POINTS, "moons"),
         "no discrete modes"),
    Case("metrics", "mode_coverage of 3D points", lambda: metrics.mode_coverage(torch.zeros(10, 3)), r"\(N, 2\)"),
    Case("metrics", "near_data against an empty reference", lambda: metrics.near_data(POINTS, POINTS[:0]),
         "reference needs at least 1"),
    Case("metrics", "shape_coverage of the ring", lambda: metrics.shape_coverage(POINTS, "ring"), "has discrete modes"),
    Case("metrics", "oscillation of one snapshot", lambda: metrics.oscillation([[0.5, 0.5]]), "at least two"),
    Case("metrics", "digits_quality of NaN digits",
         lambda: metrics.digits_quality(torch.full((200, 1, 8, 8), NAN)), "diverged"),
    Case("metrics", "digits_quality of raw pixels 0..16",
         lambda: metrics.digits_quality(torch.full((200, 1, 8, 8), 16.0)), r"lie in \[-1, 1\]"),
    Case("metrics", "digits_quality of digits scaled to [0, 1]", lambda: metrics.digits_quality((DIGITS + 1) / 2,
                                                                                                sample=20),
         r"look scaled to \[0, 1\]"),
    Case("metrics", "digits_quality of flat vectors", lambda: metrics.digits_quality(torch.zeros(200, 64)),
         r"reshape\(-1, 1, 8, 8\)"),
    Case("metrics", "digits_quality of 50 images", lambda: metrics.digits_quality(DIGITS[:50]),
         "at least 180 images"),
    Case("metrics", "digits_quality(repeats=0)", lambda: metrics.digits_quality(DIGITS, sample=20, repeats=0),
         "repeats must be a whole number >= 1"),
    Case("metrics", "a generator passed as the classifier",
         lambda: metrics.digits_quality(DIGITS, sample=20, model="gan-digits"), "not a digit classifier"),
    Case("metrics", "frechet_distance of one row",
         lambda: metrics.frechet_distance(torch.zeros(1, 3), torch.zeros(5, 3)),
         "at least 2 rows"),
    # data
    Case("data", "toy2d('rings')", lambda: data.toy2d("rings", 10), "did you mean 'ring'"),
    Case("data", "noise with seed '3' (a string)", lambda: data.noise((2,), 4, seed="3"),
         "seed must be a whole number >= 0, got '3'"),
    Case("data", "models.sample with seed 1.5", lambda: models.sample(models.build("mlp-ign", hidden=4), 3, seed=1.5),
         "seed must be a whole number >= 0, got 1.5"),
    Case("data", "digits(split='dev')", lambda: data.digits(split="dev"),
         "'train' \\(80%.*'test'.*held out.*'val' \\(a fifth of 'train'.*'fit'.*Never choose on 'test'"),
    Case("data", "corrupt(digits, 'rotate')", lambda: data.corrupt(DIGITS, "rotate"),
         "corruption.*choose one of.*noise.*shift"),
    Case("metrics", "distance_to_held_out of 1,500 digits (more than the floor's training digits)",
         lambda: metrics.distance_to_held_out(torch.zeros(1500, 1, 8, 8) - 1), "at most 1437 images"),
    Case("metrics", "distance_to_held_out against split='train'",
         lambda: metrics.distance_to_held_out(data.digits(split="test")[0], split="train"),
         "split must be 'test' \\(to report, once\\) or 'val'"),
    Case("data", "toy2d('ring', 0)", lambda: data.toy2d("ring", 0), "n must be a positive whole number"),
    Case("data", "toy2d('ring', 10, noise=-1)", lambda: data.toy2d("ring", 10, noise=-1), "noise must be >= 0"),
    Case("data", "toy2d('ring', 10, seed=0.5)", lambda: data.toy2d("ring", 10, seed=0.5), "seed must be a whole"),
    Case("data", "digits(split='validation')", lambda: data.digits(split="validation"), "Unknown split"),
    Case("data", "image_source('gausian')", lambda: data.image_source("gausian", DIGITS), "did you mean 'gaussian'"),
    Case("data", "mnist(split='validation')", lambda: data.mnist("validation"),
         "'train' \\(4,000.*'val' \\(500, to choose settings on\\).*'test'"),
    Case("data", "image_set('cifar')", lambda: data.image_set("cifar"), "choose one of.*digits.*mnist"),
    Case("networks", "conv-ign of size 30 (halves to 15)", lambda: models.build("conv-ign", size=30),
         "4 to 7 times a power of two \\(8, 16, 28, 32"),
    Case("metrics", "digits_quality of 8x8 digits against split='val'",
         lambda: metrics.digits_quality(data.digits(split="test")[0], split="val"),
         "'val', for MNIST digits.*distance_to_held_out\\(images, split='val'\\)"),
    Case("metrics", "digits_quality of 16x16 images", lambda: metrics.digits_quality(torch.zeros(200, 1, 16, 16)),
         "\\(N, 1, 8, 8\\).*\\(N, 1, 28, 28\\)"),
    Case("training data", "train_ign on 30x30 images", lambda: train.train_ign(torch.zeros(4, 1, 30, 30) - 1, steps=1),
         "side of 4 to 7 times a power of two"),
    # figures
    Case("figures", "plots.image_grid of no images", lambda: plots.image_grid(DIGITS[:0]), "at least 1 sample"),
    Case("figures", "plots.class_shares with 9 shares", lambda: plots.class_shares({"GAN": [0.1] * 9}),
         "'GAN' must be 10 shares, one per digit"),
    Case("figures", "plots.image_grid of flat vectors", lambda: plots.image_grid(torch.zeros(4, 64)), "4 dimensions"),
    Case("figures", "plots.points of 3D points", lambda: plots.points(torch.zeros(4, 3)), r"\(N, 2\)"),
    Case("figures", "plots.points of NaN points", lambda: plots.points(torch.full((4, 2), NAN)), "NaN"),
    Case("figures", "plots.curves of an empty history", lambda: plots.curves(train.History()), "no values"),
    Case("figures", "plots.curves of a curve that is not there",
         lambda: plots.curves(ign()[1], names=["los"]), "did you mean 'loss'"),
    Case("figures", "plots.snapshots of nothing", lambda: plots.snapshots({}), "at least one step"),
    Case("figures", "plots.class_shares of nothing", lambda: plots.class_shares({}), "at least one"),
    Case("figures", "plots.class_shares of a ragged list of shares",
         lambda: plots.class_shares({"GAN": [[0.1] * 10, [0.1] * 9]}), "'GAN' must be 10 shares.*ragged"),
    Case("figures", "plots.mode_share_history of an empty trace",
         lambda: plots.mode_share_history(metrics.ModeTrace(models.build("mlp-generator"), n=10)),
         "mode_share_history needs a trace of at least 1 snapshot"),
    Case("figures", "plots.training_strip of nothing", lambda: plots.training_strip({}), "at least one snapshot"),
    Case("figures", "plots.heatmap of an IGN network (two numbers per point)",
         lambda: plots.heatmap(models.build("mlp-ign")), "one number per point.*mlp-ign gives \\(2,\\).*losses.energy"),
    Case("figures", "plots.heatmap of a 2D generator", lambda: plots.heatmap(models.build("mlp-generator")),
         "mlp-generator gives \\(2,\\) per point.*generator_grid"),
    Case("figures", "plots.gan_snapshot with an IGN network as D",
         lambda: plots.gan_snapshot(models.build("mlp-generator"), models.build("mlp-ign"), POINTS),
         "D's probability of \"real\" colours the plane by one number per point"),
    Case("figures", "plots.vector_field of a discriminator",
         lambda: plots.vector_field(models.build("mlp-discriminator")),
         "maps 2D points to 2D points.*plots.heatmap\\(D\\)"),
    Case("figures", "plots.generator_grid of a discriminator",
         lambda: plots.generator_grid(models.build("mlp-discriminator")), "needs|warps.*plots.heatmap\\(D\\)"),
    # checkpoints (tmp: a temporary folder)
    Case("checkpoints", "a crafted pickle with valid metadata and a matching SHA-256", reject_pickle,
         "not a safetensors file.*nothing in it was run"),
    Case("checkpoints", "loading a .pt file", lambda tmp: checkpoints.load(tmp / "model.pt"), "never loads a .pt"),
    Case("checkpoints", "metadata that is not JSON", damaged_json, "is damaged"),
    Case("checkpoints", "weights cut short (SHA-256 mismatch)", damaged_weights,
         "is damaged \\(shorter than its header says.*cut off\\).*Save the model again"),
    Case("checkpoints", "a shipped weights file cut short", lambda tmp: cut_shipped(tmp),
         "is damaged \\(shorter.*git checkout -- .*ign-2d-ring.safetensors"),
    Case("checkpoints", "weights of another architecture", other_architecture, "do not belong together"),
    Case("checkpoints", "metadata naming another kind whose weights have the same shapes", same_shapes_other_kind,
         "holds the weights of a mlp-ign.*says mlp-generator.*do not belong together"),
    Case("checkpoints", "an unknown checkpoint name", lambda tmp: checkpoints.load("gan-digit"),
         "No checkpoint.*did you mean 'gan-digits'"),
    Case("checkpoints", "saving a model with NaN weights", nan_model, "nothing was written"),
    Case("checkpoints", "saving into a folder it may not write",
         lambda: checkpoints.save(models.build("mlp-ign", hidden=4), "/sys/ign-lessons-test/m.safetensors"),
         "could not write /sys/ign-lessons-test/m.safetensors.*nothing was written: make its folder writable"),
    Case("checkpoints", "a shipped name with its words swapped (ign-mnist)", lambda: checkpoints.load("ign-mnist"),
         "did you mean 'mnist-ign'\\?"),
    Case("results", "a study's summary file cut off", damaged_summary,
         "compare-2d.json cannot be read.*cut off\\? Restore it with `git checkout"),
    Case("results", "a study's run file edited by hand, read by a summary", damaged_run_record,
         "ring-ign-s0.json cannot be read.*Delete it to rerun that run"),
    Case("checkpoints", "saving to model.pt", lambda tmp: checkpoints.save(models.build("mlp-ign"), tmp / "m.pt"),
         "ending in .safetensors"),
    # the lab's session (08)
    Case("lab", "Session with batch 0", lambda: lab.Session(batch=0), "the batch size must be a whole number >= 1"),
    Case("lab", "Session with weights of two terms", lambda: lab.Session(weights=(20, 20)),
         "weights must be three numbers"),
    Case("lab", "Session with the learning rate '0.01' (a string)", lambda: lab.Session(lr="0.01"),
         "the learning rate must be a finite number, got '0.01'"),
    Case("lab", "Session.step(2.5)", lambda: lab.Session().step(2.5), "the number of steps must be a whole number"),
    Case("lab", "the digits IGN loaded into the 2D lab", lambda: lab.Session().reset(checkpoint="ign-digits"),
         "'ign-digits' is a conv-ign.*one of: ign-2d-circles"),
    Case("lab", "Session with a setting that does not exist (lrr=0.1)", lambda: lab.Session(lrr=0.1),
         "Unknown setting 'lrr' \\(did you mean 'lr'\\?\\)"),
    Case("lab", "Session(model='GAN', d_steps=0.5)", lambda: lab.Session(model="GAN", d_steps=0.5),
         "D steps per G step must be a whole number >= 1, got 0.5"),
    Case("lab", "a 2D IGN checkpoint loaded into the lab's GAN",
         lambda: lab.Session(model="GAN").reset(checkpoint="ign-2d-ring"),
         "'ign-2d-ring' is a mlp-ign and the model is GAN"),
    Case("lab", "the lab's lr box set to 0 (the other boxes still work)", lambda: lab_box("lr", 0.0),
         "refused lr: the learning rate must be > 0 and <= 0.1.*lambda_rec = 10: applied"),
    Case("lab", "the lab's D:G box set to 0 for the GAN", lambda: lab_box("d_steps", 0, model="GAN"),
         "refused d_steps: D steps per G step must be a whole number >= 1"),
    Case("lab", "the clamp box ticked for the split IGN (a box of another model)",
         lambda: lab_box("clamp_on", True, model="split IGN"),
         "refused clamp_on: the split IGN has no setting clamp .*that setting belongs to another model"),
    Case("lab", "Session(model='GAN', source='standard') (a setting of the IGNs)",
         lambda: lab.Session(model="GAN", source="standard"), "the GAN has no setting source"),
    Case("lab", "IGN with lambda_tight 1e6 and lr 0.1, trained", diverge,
         "diverged at step .*Press Reset, then try a smaller learning rate"),
    Case("lab", "points drawn off the plane", lambda: lab.Session().add_points([[9.0, 0.0]]),
         "drawn points must lie on the plane"),
    Case("lab", "the drawn data set chosen before drawing", lambda: lab.Session(dataset="drawn"),
         "no drawn data yet"),
    Case("lab", "Save into a folder that does not exist", lambda tmp: lab_save(tmp / "new" / "m.safetensors"),
         "no folder .*the lab does not make folders"),
    Case("lab", "Save onto a path that is a folder (an OSError)", save_onto_a_folder,
         "could not write .*Is a directory"),
    Case("lab", "a preset that does not exist", lambda: lab_preset("IGN on the moon"), "unknown preset"),
    # faults during training (handled: the run returns what it has)
    Case("faults", "Ctrl-C at step 30 of train_ign", ctrl_c_during_training, "interrupted \\(Ctrl-C\\) after 31 steps"),
    Case("faults", "Ctrl-C in a notebook cell that trains three runs", ctrl_c_in_a_loop_of_runs,
         "the loop stopped there; the next cell trained 20 steps"),
    Case("faults", "a weight made NaN after step 120", nan_weight_mid_training,
         "became non-finite at step 121.*saved after 100 steps"),
    Case("faults", "the tightness term becoming -inf at step 7", overflowing_loss,
         "tight = -inf became non-finite at step 7.*the initial weights"),
    Case("faults", "a weight becoming inf while the losses stay finite", infinite_weight_with_finite_losses,
         "a weight .* became non-finite at step 3"),
    # environment variables (read by runtime; the first three when the package is imported)
    Case("environment", "IGN_LESSONS_FAST=maybe", lambda: runtime._flag("IGN_LESSONS_FAST"),
         "IGN_LESSONS_FAST='maybe' is not understood", (("IGN_LESSONS_FAST", "maybe"),)),
    Case("environment", "IGN_LESSONS_FAST=off (handled: fast mode off)",
         lambda: f"fast = {runtime._flag('IGN_LESSONS_FAST')}", "fast = False", (("IGN_LESSONS_FAST", "off"),)),
    Case("environment", "IGN_LESSONS_THREADS=0", lambda: runtime.use_threads(),
         "IGN_LESSONS_THREADS='0' must be a whole number", (("IGN_LESSONS_THREADS", "0"),)),
    Case("environment", "IGN_LESSONS_THREADS=two", lambda: runtime.use_threads(),
         "IGN_LESSONS_THREADS='two'", (("IGN_LESSONS_THREADS", "two"),)),
    Case("environment", "IGN_LESSONS_SEED=-1", lambda: runtime._whole_number("IGN_LESSONS_SEED", 0),
         "IGN_LESSONS_SEED='-1' must be a whole number >= 0", (("IGN_LESSONS_SEED", "-1"),)),
    Case("environment", "IGN_LESSONS_SEED=1.5", lambda: runtime._whole_number("IGN_LESSONS_SEED", 0),
         "IGN_LESSONS_SEED='1.5' must be a whole number", (("IGN_LESSONS_SEED", "1.5"),)),
    Case("environment", "IGN_LESSONS_DEVICE=gpu", lambda: runtime.device(),
         "IGN_LESSONS_DEVICE='gpu' is not a device", (("IGN_LESSONS_DEVICE", "gpu"),)),
    Case("environment", "IGN_LESSONS_DEVICE=cuda on a machine without CUDA",
         lambda: pytest.skip("this machine has CUDA") if torch.cuda.is_available() else runtime.device(),
         "IGN_LESSONS_DEVICE='cuda': this machine has no usable", (("IGN_LESSONS_DEVICE", "cuda"),)),
    Case("environment", "IGN_LESSONS_DATA=/nowhere", lambda: runtime.data_folder(),
         "IGN_LESSONS_DATA='/nowhere' is not the course's data", (("IGN_LESSONS_DATA", "/nowhere"),)),
    # command lines: python -m ign_lessons, course.py, course.py html
    Case("studies", "digits-headline before digits-select has run", headline_before_its_selection,
         "the headline trains the recipe chosen on the validation split; run `python3 course.py study "
         "digits-select --fast` first"),
    Case("command line", "a study resumed over a run file edited by hand", broken_run_file,
         "compare-2d-fast/.*json cannot be read.*Delete it to rerun that run"),
    Case("command line", "a study writing to a folder it may not write",
         lambda: cli.main(["study", "compare-2d", "--fast", "--jobs", "1", "--out", "/sys/ign-lessons-test"]),
         "cannot write /sys/ign-lessons-test.*nothing else was changed.*--out DIR"),
    Case("classroom", "grade given a file that is not a notebook, beside one that is",
         grade_a_text_file_and_a_notebook, "essay.ipynb is not a notebook.*the other notebooks were graded"),
    Case("command line", "python -m ign_lessons study compare-2", lambda: cli.main(["study", "compare-2"]),
         "did you mean 'compare-2d'"),
    Case("command line", "python -m ign_lessons study compare-2d --fsat",
         lambda: cli.main(["study", "compare-2d", "--fsat"]), "did you mean '--fast'"),
    Case("command line", "python -m ign_lessons study compare-2d --jobs 0",
         lambda: cli.main(["study", "compare-2d", "--jobs", "0"]), "--jobs must be a whole number >= 1"),
    Case("command line", "python -m ign_lessons study compare-2d --jobs 2 --scheduler tcp://h:1",
         lambda: cli.main(["study", "compare-2d", "--jobs", "2", "--scheduler", "tcp://h:1"]), "exclude each other"),
    Case("command line", "python -m ign_lessons study (no name)", lambda: cli.main(["study"]), "name a study"),
    Case("command line", "python -m ign_lessons study compare-2d --device gpu",
         lambda: cli.main(["study", "compare-2d", "--device", "gpu"]), "--device='gpu' is not a device torch knows"),
    Case("command line", "python -m ign_lessons study compare-2d --device cuda on a machine without CUDA",
         lambda: pytest.skip("this machine has CUDA") if torch.cuda.is_available() else
         cli.main(["study", "compare-2d", "--device", "cuda"]), "--device='cuda': this machine has no usable"),
    Case("command line", "python -m ign_lessons study compare-2d --run ring-ign-s0",
         lambda: cli.main(["study", "compare-2d", "--fast", "--run", "ring-ign-s0"]),
         "has no run 'ring-ign-s0' \\(did you mean"),
    Case("command line", "python -m ign_lessons retrain ign-2d-rin", lambda: cli.main(["retrain", "ign-2d-rin"]),
         "did you mean 'ign-2d'"),
    Case("command line", "python -m ign_lessons grade missing.ipynb", lambda: cli.main(["grade", "missing.ipynb"]),
         "missing.ipynb"),
    Case("command line", "python -m ign_lessons benchmark --quick", lambda: cli.main(["benchmark", "--quick"]),
         "unrecognized arguments: '--quick'"),
    Case("command line", "python3 course.py tset", lambda: course_py("tset"), "did you mean 'test'"),
    Case("command line", "python3 course.py setup now", lambda: course_py("setup", "now"), "takes no arguments"),
    Case("command line", "python3 course.py html --fsat", lambda: book.main(["--fsat"]), "did you mean '--fast'"),
    Case("command line", "python3 course.py html 99", lambda: book.main(["99", "--out", "/nonexistent/book"]),
         "unknown chapter"),
]


def seen(case, tmp):
    """What the user sees: ("error", message) for the course's error, ("command", stderr) for a command that stops
    with an error, ("handled", message) for a case handled on purpose. Any other exception propagates."""
    takes_folder = len(inspect.signature(case.action).parameters) == 1  # a case that needs a folder of its own
    action = (lambda: case.action(tmp)) if takes_folder else case.action
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()), environ(**dict(case.env)):
            result = action()
    except CourseError as error:
        return "error", f"{type(error).__name__}: {error}"
    except SystemExit as stop:
        assert stop.code not in (0, None), f"{case.tried}: the command exited with success"
        return "command", stop.code if isinstance(stop.code, str) else err.getvalue().strip().splitlines()[-1]
    if case.area == "command line":
        return "command", err.getvalue().strip().splitlines()[-1]
    assert isinstance(result, str), f"{case.tried}: accepted silently, returned {result!r}"
    return "handled", result


@pytest.mark.parametrize("case", CASES, ids=[f"{c.area}: {c.tried}" for c in CASES])
def test_each_bad_input_or_fault_gets_a_clear_message(case, tmp_path):
    kind, message = seen(case, tmp_path)
    assert re.search(case.match, message, re.S), f"{case.tried}: the user sees {message!r}"
    if kind == "error":
        assert "Traceback" not in message and len(message) > 30


def test_at_least_sixty_distinct_cases_across_the_api_the_environment_and_both_command_lines():
    assert len({c.tried for c in CASES}) == len(CASES) >= 60
    assert {"environment", "command line", "faults", "checkpoints"} <= {c.area for c in CASES}
    assert any("course.py" in c.tried for c in CASES) and any("-m ign_lessons" in c.tried for c in CASES)


def test_an_unreadable_setting_stops_the_import_with_a_message_naming_the_variable():
    result = subprocess.run([sys.executable, "-c", "import ign_lessons.runtime"], capture_output=True, text=True,
                            env={**os.environ, "IGN_LESSONS_FAST": "false-ish"}, cwd=ROOT)
    assert result.returncode != 0 and "CourseError: IGN_LESSONS_FAST='false-ish' is not understood" in result.stderr


def test_the_table_in_docs_lists_every_case():
    table = TABLE.read_text()
    missing = [c.tried for c in CASES if f"| {c.tried} |" not in table]
    assert not missing, f"rewrite {TABLE} with `python tests/test_reliability.py`; missing: {missing}"


def write_table():
    import tempfile
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in CASES:
            kind, message = seen(case, Path(tmp))
            message = message.replace(tmp, "<folder>").replace(str(ROOT), "<course>")
            message = message.replace("|", "\\|").replace("\n", " ")
            rows.append(f"| {case.area} | {case.tried} | {kind} | {message} |")
    TABLE.write_text(TABLE.read_text().split("<!-- table -->")[0] + "<!-- table -->\n\n"
                     "| area | what was tried | outcome | what the user sees |\n|---|---|---|---|\n"
                     + "\n".join(rows) + "\n")


if __name__ == "__main__":
    write_table()
