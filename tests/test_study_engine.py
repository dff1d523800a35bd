"""The study engine on a tiny study that trains nothing: one file per run and a summary, resume and --force,
the device, named runs, retrain, the command line and its errors; and every study's grid is stable."""
import json
import os
import re
import threading
import time
from pathlib import Path

import pytest
import torch

from ign_lessons import checkpoints, data, metrics, models, results, runtime, studies
from ign_lessons.__main__ import main

QUIET = dict(log=lambda *args, **kwargs: None)


# --- a tiny study, registered only in the test session: resume and --force without training ----------------

def tiny_grid(fast=False, root=None):
    return [{"key": f"tiny-s{seed}", "seed": seed, "config": {"size": 3 if fast else 5}} for seed in range(3)]


def tiny_summarize(records, fast=False):
    return {"total": sum(r["metrics"]["value"] for r in records)}


def tiny_run(config, seed):
    value = float(torch.randn(config["size"], generator=torch.Generator().manual_seed(seed)).sum())
    return {"metrics": {"value": value, "pid": os.getpid(), "thread": threading.current_thread().name}, "timings": {}}


studies.study("tiny-test", grid=tiny_grid, summarize=tiny_summarize, budget="no time", doc="a test")(tiny_run)


def _mtimes(folder):
    return {p.name: p.stat().st_mtime_ns for p in folder.glob("*.json")}


def test_a_study_writes_one_file_per_run_and_a_summary(tmp_path):
    target = studies.run_study("tiny-test", jobs=1, root=tmp_path, **QUIET)
    assert target == tmp_path / "tiny-test.json"
    files = sorted(p.name for p in (tmp_path / "tiny-test").glob("*.json"))
    assert files == ["tiny-s0.json", "tiny-s1.json", "tiny-s2.json"]
    record = json.loads((tmp_path / "tiny-test" / "tiny-s1.json").read_text())
    assert {"config", "seed", "environment", "metrics", "timings", "git"} <= set(record)
    assert record["seed"] == 1 and record["environment"]["torch_threads"] == 1
    assert {"wall_seconds", "cpu_seconds"} <= set(record["timings"])
    summary = json.loads(target.read_text())
    assert summary["results"]["total"] == sum(r["metrics"]["value"] for r in results.load_runs("tiny-test", tmp_path))


def test_existing_runs_are_skipped_and_force_reruns_them(tmp_path):
    lines = []
    studies.run_study("tiny-test", jobs=1, root=tmp_path, log=lambda *a, **k: lines.append(a[0]))
    folder = tmp_path / "tiny-test"
    first = _mtimes(folder)
    (folder / "tiny-s1.json").unlink()
    lines.clear()
    studies.run_study("tiny-test", jobs=1, root=tmp_path, log=lambda *a, **k: lines.append(a[0]))
    assert "2 already done, 1 to run" in lines[0]
    again = _mtimes(folder)
    assert again["tiny-s0.json"] == first["tiny-s0.json"] and again["tiny-s2.json"] == first["tiny-s2.json"]
    studies.run_study("tiny-test", jobs=1, root=tmp_path, force=True, **QUIET)
    forced = _mtimes(folder)
    assert all(forced[name] != again[name] for name in forced)


def test_a_changed_config_is_rerun_and_fast_goes_elsewhere(tmp_path):
    studies.run_study("tiny-test", jobs=1, root=tmp_path, **QUIET)
    record = json.loads((tmp_path / "tiny-test" / "tiny-s0.json").read_text())
    record["config"]["size"] = 99
    (tmp_path / "tiny-test" / "tiny-s0.json").write_text(json.dumps(record))
    lines = []
    studies.run_study("tiny-test", jobs=1, root=tmp_path, log=lambda *a, **k: lines.append(a[0]))
    assert "2 already done, 1 to run" in lines[0]
    studies.run_study("tiny-test", fast=True, jobs=1, root=tmp_path, **QUIET)
    assert (tmp_path / "tiny-test-fast.json").exists() and len(list((tmp_path / "tiny-test-fast").glob("*"))) == 3
    assert json.loads((tmp_path / "tiny-test" / "tiny-s0.json").read_text())["config"]["size"] == 5


def test_the_command_line_runs_a_study_and_explains_its_errors(tmp_path, capsys):
    assert main(["study", "tiny-test", "--jobs", "1", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "tiny-test.json").exists()
    assert main(["study", "--list"]) == 0
    assert "compare-2d" in capsys.readouterr().out
    for argv, message in [(["study", "compare2d"], "did you mean 'compare-2d'"),
                          (["study", "compare-2d", "--jbos", "2"], "did you mean '--jobs'"),
                          (["study", "compare-2d", "--fats"], "did you mean '--fast'"),
                          (["study", "compare-2d", "--jobs", "0"], "--jobs must be a whole number >= 1"),
                          (["study", "compare-2d", "--jobs", "2", "--scheduler", "tcp://127.0.0.1:1"],
                           "exclude each other"),
                          (["study"], "name a study"),
                          (["retrain", "merged-vs-splt"], "did you mean 'merged-vs-split'")]:
        with pytest.raises(SystemExit) as stop:
            main(argv)
        assert stop.value.code == 2
        assert message in capsys.readouterr().err, argv


def test_map_runs_takes_any_executor():
    from concurrent.futures import ThreadPoolExecutor
    seen = []
    with ThreadPoolExecutor(2) as pool:
        out = studies.map_runs(pow, [(2, 3), (3, 2), (2, 5)], executor=pool, done=lambda i, r: seen.append(i))
    assert out == [8, 9, 32] and sorted(seen) == [0, 1, 2]


# --- the 2D success rule on sets without modes (no training) ---------------------------------------------

def test_shape_regions_play_the_modes_on_the_moons_and_circles():
    for name in ("moons", "circles", "spiral"):
        real = data.toy2d(name, 2000, seed=1)
        assert metrics.score_any_2d(real, name)["success"], name
        assert not metrics.score_any_2d(torch.randn(2000, 2), name)["success"], name
    moons = data.toy2d("moons", 4000, seed=2)
    cover = metrics.shape_coverage(moons[moons[:, 0] < 0], "moons")  # the left half of the picture
    assert cover["modes"] < cover["of"] and not metrics.is_success(cover)
    # circles: no region straddles the two circles, so the outer circle alone covers at most half
    circles = data.toy2d("circles", 4000, seed=3)
    outer = circles[circles.norm(dim=1) > 1.5]
    assert metrics.shape_coverage(outer, "circles")["modes"] <= 4
    assert metrics.score_any_2d(data.toy2d("ring", 2000), "ring") == metrics.score_2d(data.toy2d("ring", 2000), "ring")


# --- every study: one interface, a declared grid, a device, resume and a Dask LocalCluster ---------------------

def test_a_run_records_its_device_and_another_device_reruns_it(tmp_path, capsys):
    studies.run_study("tiny-test", jobs=1, root=tmp_path, **QUIET)
    record = json.loads((tmp_path / "tiny-test" / "tiny-s0.json").read_text())
    assert record["device"] == record["environment"]["device"] == "cpu" and "device" not in record["config"]
    record["device"] = "cuda"  # as if it had run on a GPU: a CPU study must not count it as done
    (tmp_path / "tiny-test" / "tiny-s0.json").write_text(json.dumps(record))
    lines = []
    studies.run_study("tiny-test", jobs=1, root=tmp_path, log=lambda *a, **k: lines.append(a[0]))
    assert "2 already done, 1 to run" in lines[0] and "(cpu)" in lines[0]
    for device, message in [("gpu", "--device='gpu' is not a device torch knows"),
                            ("cuda:7", "--device='cuda:7'")]:
        with pytest.raises(SystemExit):
            main(["study", "tiny-test", "--out", str(tmp_path), "--device", device])
        assert message in capsys.readouterr().err
    assert os.environ.get("IGN_LESSONS_DEVICE") is None


def test_retrain_reruns_every_run_and_says_how_long_each_study_took(tmp_path):
    studies.run_study("tiny-test", jobs=1, root=tmp_path, **QUIET)
    first = _mtimes(tmp_path / "tiny-test")
    lines = []
    seconds = studies.retrain(["tiny-test"], root=tmp_path, log=lambda *a, **k: lines.append(a[0]))
    assert set(seconds) == {"tiny-test"} and all(v >= 0 for v in seconds.values())
    assert all(t != first[name] for name, t in _mtimes(tmp_path / "tiny-test").items())
    assert "0 already done, 3 to run" in "\n".join(lines) and "seconds per study" in lines[-1]
    assert "tiny-test" in lines[-1] and "total" in lines[-1]
    studies.retrain(["tiny-test"], root=tmp_path, resume=True, log=lambda *a, **k: lines.append(a[0]))
    assert any("3 already done, 0 to run" in line for line in lines)


def test_only_the_named_runs_run_and_the_summary_waits_for_all(tmp_path, capsys):
    studies.run_study("tiny-test", jobs=1, root=tmp_path, keys=["tiny-s1"], **QUIET)
    assert sorted(p.name for p in (tmp_path / "tiny-test").glob("*.json")) == ["tiny-s1.json"]
    assert not (tmp_path / "tiny-test.json").exists()
    studies.run_study("tiny-test", jobs=1, root=tmp_path, keys=["tiny-s0", "tiny-s2"], **QUIET)
    assert (tmp_path / "tiny-test.json").exists()
    with pytest.raises(SystemExit):
        main(["study", "tiny-test", "--out", str(tmp_path), "--run", "tiny-s9"])
    assert "has no run 'tiny-s9' (did you mean 'tiny-s2'?); its runs: tiny-s0, tiny-s1" in capsys.readouterr().err


@pytest.mark.parametrize("fast", [False, True])
def test_every_study_declares_a_stable_grid_of_json_configs(fast, tmp_path):
    """What resume relies on: the same runs each time, keys unique, configs that survive their JSON file, whole
    seeds; and the one run signature, run(config, seed)."""
    import inspect
    for name, spec in studies.discover().items():
        root = results.path("x").parent if not fast or not spec.after or name.startswith("mnist") else None
        if root is None:
            continue  # a fast grid that reads a fast summary no one has shipped: checked on the cluster below
        runs, again = spec.grid(fast, root), spec.grid(fast, root)
        assert runs == again and runs, name
        assert len({r["key"] for r in runs}) == len(runs), name
        for r in runs:
            assert set(r) == {"key", "seed", "config"} and isinstance(r["seed"], int), (name, r)
            assert studies.as_json(r["config"]) == r["config"] or studies.as_json(studies.as_json(r["config"])) == \
                studies.as_json(r["config"]), (name, r["key"])
        assert list(inspect.signature(spec.run).parameters) == ["config", "seed"], name
        assert spec.doc and spec.budget, name


# --- the engine read closely: what each file records, where each file goes, what each message says -----------
# (written against the survivors of `course.py mutate` over ign_lessons/studies/__init__.py; docs/mutation.md)

class Log(list):
    """A log that keeps each line with the keywords it was given."""

    def __call__(self, text, **kwargs):
        self.append((text, kwargs))

    @property
    def text(self):
        return "\n".join(text for text, _ in self)


def shipping_run(config, seed):
    torch.manual_seed(seed)
    model = models.build("mlp-ign")
    return {"metrics": {"value": float(seed), "curve": [1.0, 2.0]}, "timings": {"train_seconds": 0.25},
            "notes": f"seed {seed}",
            "checkpoint": {"name": f"tiny-{seed}", "model": model, "config": config, "metrics": {"m": 1.0}, "steps": 3}}


@pytest.fixture
def register():
    """Register studies for one test only."""
    added = []

    def add(name, run=tiny_run, grid=tiny_grid, summarize=tiny_summarize, **kwargs):
        kwargs = {"budget": "no time", "doc": "a test", **kwargs}
        assert studies.study(name, grid=grid, summarize=summarize, **kwargs)(run) is run
        added.append(name)
        return studies.STUDIES[name]

    yield add
    for name in added:
        studies.STUDIES.pop(name, None)


def test_a_study_registers_what_it_declares(register):
    settings = lambda fast: {"fast_settings": fast}
    spec = register("tiny-declared", after=["tiny-test"], settings=settings, budget="a minute", doc="what it makes")
    assert spec == studies.Study("tiny-declared", tiny_grid, tiny_run, tiny_summarize, "a minute", "what it makes",
                                 ("tiny-test",), settings)
    assert studies.find_study("tiny-declared") is spec


def test_studies_come_after_what_they_read_and_a_circle_is_named(register):
    register("tiny-late", after=["tiny-test"])
    order = list(studies.discover())
    assert order.index("tiny-test") < order.index("tiny-late")
    assert order == sorted(order, key=lambda n: max((order.index(a) for a in studies.STUDIES[n].after), default=-1)
                           < order.index(n) and order.index(n))
    register("tiny-circle-a", after=["tiny-circle-b"])
    register("tiny-circle-b", after=["tiny-circle-a"])
    with pytest.raises(studies.StudyError) as error:
        studies.discover()
    circle = "tiny-circle-a -> tiny-circle-b -> tiny-circle-a"
    assert str(error.value) == f"studies {circle} read each other's files in a circle."


def test_an_unknown_study_is_named_with_the_closest_and_every_known_one():
    known = ", ".join(sorted(studies.discover()))
    with pytest.raises(studies.StudyError) as error:
        studies.find_study("tiny-tset")
    assert str(error.value) == f"unknown study 'tiny-tset' (did you mean 'tiny-test'?); known: {known}."
    with pytest.raises(studies.StudyError) as error:
        studies.find_study("zzzzzz")
    assert str(error.value) == f"unknown study 'zzzzzz'; known: {known}."


def test_the_run_files_and_the_summary_hold_exactly_what_they_say(register, tmp_path, monkeypatch):
    monkeypatch.setattr(studies, "git_revision", lambda: "abc123+dirty")
    grids = []

    def grid(fast=False, root=None):
        grids.append((fast, root))
        return tiny_grid(fast)

    register("tiny-exact", run=shipping_run, grid=grid,
             summarize=lambda records, fast: {"fast": fast, "n": len(records)},
             settings=lambda fast: {"steps": 10 if fast else 100})
    log = Log()
    target = studies.run_study("tiny-exact", fast=True, root=tmp_path, log=log)
    assert grids == [(True, tmp_path)] and target == tmp_path / "tiny-exact-fast.json"
    assert all(kwargs == {"flush": True} for _, kwargs in log), "progress must show at once"
    assert log[0][0] == (f"study tiny-exact-fast: 3 runs, 0 already done, 3 to run on this process (cpu); files in "
                         f"{tmp_path / 'tiny-exact-fast'}")
    assert [text.split(" (")[0] for text, _ in log[1:4]] == [
        f"  [{i + 1}/3] tiny-s{i}: {{'value': {float(i)}}}" for i in range(3)], "lists and dicts are not shown"
    record = json.loads((tmp_path / "tiny-exact-fast" / "tiny-s1.json").read_text())
    environment, timings = record.pop("environment"), record.pop("timings")
    assert record == {"study": "tiny-exact-fast", "key": "tiny-s1", "config": {"size": 3, "seed": 1}, "seed": 1,
                      "device": "cpu", "metrics": {"value": 1.0, "curve": [1.0, 2.0]}, "git": "abc123+dirty",
                      "notes": "seed 1", "checkpoint_file": "tiny-1.safetensors"}
    assert environment == {**studies.environment(), "torch_threads": 1}, "recorded where it ran: on one thread"
    assert set(timings) == {"train_seconds", "wall_seconds", "cpu_seconds"} and timings["train_seconds"] == 0.25
    summary = json.loads(target.read_text())
    assert summary["results"] == {"fast": True, "n": 3}
    config = summary["config"]
    assert 0 <= config.pop("seconds_this_time") < 60
    assert config == {"steps": 10, "study": "tiny-exact", "fast": True, "runs": 3, "run_files": "tiny-exact-fast/",
                      "git": "abc123+dirty", "device": "cpu", "ran_now": 3, "where": "this process"}
    log.clear()
    studies.run_study("tiny-exact", fast=True, root=tmp_path, log=log)
    again = json.loads(target.read_text())["config"]
    assert again["ran_now"] == 0 and again["where"] is None and "summary" in log[-1][0]


def test_a_model_a_run_ships_goes_where_its_study_writes(register, tmp_path, monkeypatch):
    register("tiny-ship", run=shipping_run)
    forgotten = []
    monkeypatch.setattr(studies.metrics, "forget_classifiers", lambda: forgotten.append(1))
    studies.run_study("tiny-ship", root=tmp_path / "other", log=Log())
    written = tmp_path / "other" / "tiny-ship-checkpoints" / "tiny-2.safetensors"
    assert written.exists() and len(forgotten) == 3, "a results folder of one's own keeps its checkpoints beside it"
    meta = checkpoints.metadata(written)
    assert meta["seed"] == 2 and meta["steps"] == 3 and meta["config"] == {"size": 5} and meta["metrics"] == {"m": 1.0}
    torch.manual_seed(2)
    assert all(torch.equal(a, b) for a, b in zip(checkpoints.load(written).parameters(),
                                                 models.build("mlp-ign").parameters()))
    # the full study into the course's results folder ships into the course's checkpoints folder; --fast never does
    monkeypatch.setattr(studies.results, "path", lambda name: tmp_path / "data" / "results" / f"{name}.json")
    monkeypatch.setattr(studies.checkpoints, "folder", lambda: tmp_path / "data" / "checkpoints")
    (tmp_path / "data" / "checkpoints").mkdir(parents=True)
    assert studies.run_study("tiny-ship", log=Log()) == tmp_path / "data" / "results" / "tiny-ship.json"
    assert sorted(p.name for p in (tmp_path / "data" / "checkpoints").glob("*.safetensors")) == [
        "tiny-0.safetensors", "tiny-1.safetensors", "tiny-2.safetensors"]
    studies.run_study("tiny-ship", fast=True, log=Log())
    assert (tmp_path / "data" / "results" / "tiny-ship-fast-checkpoints" / "tiny-0.safetensors").exists()
    assert len(list((tmp_path / "data" / "checkpoints").glob("*"))) == 6, "--fast must not touch shipped checkpoints"


def test_a_summary_waits_for_every_run_and_a_checkpoint_study_has_none(register, tmp_path):
    log = Log()
    studies.run_study("tiny-test", root=tmp_path, keys=["tiny-s0"], log=log)
    assert re.fullmatch(r"study tiny-test: 1 runs in [0-9] s; no summary until the other 2 runs are done", log[-1][0])
    register("tiny-checkpoints-only", summarize=None)
    for keys in (["tiny-s0"], None):
        log.clear()
        assert studies.run_study("tiny-checkpoints-only", root=tmp_path, keys=keys, log=log) == \
            tmp_path / "tiny-checkpoints-only"
        assert re.fullmatch(r"study tiny-checkpoints-only: [12] runs in [0-9] s; no summary", log[-1][0]), log[-1]
    assert not (tmp_path / "tiny-checkpoints-only.json").exists()
    log.clear()
    studies.run_study("tiny-test", root=tmp_path, log=log)
    summary = re.escape(str(tmp_path / "tiny-test.json"))
    assert re.fullmatch(rf"study tiny-test: summary {summary} \([0-9] s\)", log[-1][0])


def test_the_grid_is_checked_before_any_run(register, tmp_path):
    register("tiny-twice", grid=lambda fast=False, root=None: tiny_grid(fast) + tiny_grid(fast)[:1])
    with pytest.raises(studies.StudyError) as error:
        studies.run_study("tiny-twice", root=tmp_path, log=Log())
    assert str(error.value) == "study 'tiny-twice' lists some runs twice: ['tiny-s0']"
    assert not (tmp_path / "tiny-twice").exists()
    seven = lambda fast=False, root=None: [{"key": f"run-{k}", "seed": k, "config": {"size": 2}} for k in range(7)]
    register("tiny-seven", grid=seven)
    with pytest.raises(studies.StudyError) as error:
        studies.run_study("tiny-seven", root=tmp_path, keys=["run-9"], log=Log())
    assert str(error.value) == ("study 'tiny-seven' has no run 'run-9' (did you mean 'run-6'?); its runs: run-0, "
                                "run-1, run-2, run-3, run-4, run-5, ... (7 in all).")
    register("tiny-six", grid=lambda fast=False, root=None: seven()[:6])
    with pytest.raises(studies.StudyError, match=r"its runs: run-0, run-1, run-2, run-3, run-4, run-5\.$"):
        studies.run_study("tiny-six", root=tmp_path, keys=["run-9"], log=Log())
    with pytest.raises(studies.StudyError) as error:
        studies.run_study("tiny-test", root=tmp_path, keys=["qqq"], log=Log())
    assert str(error.value) == "study 'tiny-test' has no run 'qqq'; its runs: tiny-s0, tiny-s1, tiny-s2."
    for jobs in (0, True, 1.5, "2"):
        with pytest.raises(studies.StudyError, match=r"--jobs must be a whole number >= 1"):
            studies.run_study("tiny-test", root=tmp_path, jobs=jobs, log=Log())
    deep = tmp_path / "not" / "yet" / "there"
    studies.run_study("tiny-test", root=deep, log=Log())
    assert (deep / "tiny-test.json").exists(), "a results folder is made with its parents"


def test_a_run_file_from_before_devices_counts_as_cpu_and_a_damaged_one_is_named(tmp_path):
    studies.run_study("tiny-test", root=tmp_path, log=Log())
    path = tmp_path / "tiny-test" / "tiny-s0.json"
    record = json.loads(path.read_text())
    del record["device"]
    path.write_text(json.dumps(record))
    log = Log()
    studies.run_study("tiny-test", root=tmp_path, log=log)
    assert "3 already done, 0 to run" in log[0][0]
    path.write_text(path.read_text()[:40])
    with pytest.raises(studies.StudyError) as error:
        studies.run_study("tiny-test", root=tmp_path, log=Log())
    assert str(error.value).startswith(f"{path} cannot be read (JSONDecodeError: ")
    assert str(error.value).endswith("); was it edited by hand or cut off? Delete it to rerun that run, or restore it "
                                     "(git checkout -- FILE for a shipped study), then run the study again.")


def test_an_earlier_summary_is_read_from_the_results_folder_or_asked_for(tmp_path):
    studies.run_study("tiny-test", fast=True, root=tmp_path, log=Log())
    total = studies.earlier_summary("tiny-test", True, tmp_path, "needed")["total"]
    assert total == json.loads((tmp_path / "tiny-test-fast.json").read_text())["results"]["total"]
    for fast, option in ((False, ""), (True, " --fast")):
        with pytest.raises(studies.StudyError) as error:
            studies.earlier_summary("tiny-test", fast, tmp_path / "empty", "the choice needs it")
        assert str(error.value) == f"the choice needs it; run `python3 course.py study tiny-test{option}` first."


def test_a_run_is_timed_on_one_thread_on_its_device(monkeypatch):
    seen = {}

    def run(config, seed):
        seen.update(threads=torch.get_num_threads(), device=os.environ.get("IGN_LESSONS_DEVICE"))
        start = time.process_time()
        while time.process_time() - start < 0.05:
            pass
        time.sleep(0.1)
        return {"metrics": {"x": config["x"] + seed}, "timings": {"own": 1.5}}

    with runtime.threads(2):
        out = studies.execute(run, {"x": 1}, 2)
        assert torch.get_num_threads() == 2
    assert seen == {"threads": 1, "device": "cpu"} and out["metrics"] == {"x": 3}
    timings = out["timings"]
    assert timings["own"] == 1.5 and 0.15 <= timings["wall_seconds"] < 2 and 0.05 <= timings["cpu_seconds"] < 0.14
    assert timings["wall_seconds"] == round(timings["wall_seconds"], 3)
    assert out["environment"] == {**studies.environment(), "torch_threads": 1}
    assert "IGN_LESSONS_DEVICE" not in os.environ
    assert studies.execute(lambda config, seed: {"metrics": {}}, {}, 0)["timings"].keys() == {"wall_seconds",
                                                                                            "cpu_seconds"}


def test_the_environment_says_where_a_run_ran():
    import platform

    import numpy
    env = studies.environment()
    names = [line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
             if line.startswith("model name")] if Path("/proc/cpuinfo").exists() else []
    assert env == {"python": platform.python_version(), "torch": torch.__version__, "numpy": numpy.__version__,
                   "platform": platform.platform(), "machine": platform.machine(),
                   "cpu": names[0] if names else (platform.processor() or platform.machine()),
                   "cpu_capability": torch.backends.cpu.get_cpu_capability(), "device": "cpu",
                   "torch_threads": torch.get_num_threads()}


def _git(folder, *args):
    import subprocess
    return subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True, check=True).stdout.strip()


def test_the_git_revision_is_marked_dirty_only_by_the_code(tmp_path, monkeypatch):
    import shutil
    if shutil.which("git") is None:
        pytest.skip("no git")
    monkeypatch.setattr(studies, "__file__", str(tmp_path / "ign_lessons" / "studies" / "__init__.py"))
    assert studies.git_revision() is None, "outside a git checkout"
    (tmp_path / "ign_lessons" / "studies").mkdir(parents=True)
    for name in ("ign_lessons/core.py", "course.py", "pyproject.toml", "constraints.txt", "notebooks.ipynb"):
        (tmp_path / name).write_text("one\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
    head = _git(tmp_path, "rev-parse", "HEAD")
    assert studies.git_revision() == head
    (tmp_path / "notebooks.ipynb").write_text("two\n")
    (tmp_path / "ign_lessons" / "new.py").write_text("untracked\n")
    assert studies.git_revision() == head, "notebooks and untracked files do not change a study's numbers"
    for name in ("ign_lessons/core.py", "course.py", "pyproject.toml", "constraints.txt"):
        (tmp_path / name).write_text("two\n")
        assert studies.git_revision() == head + "+dirty", name
        (tmp_path / name).write_text("one\n")
    monkeypatch.setenv("PATH", str(tmp_path / "no-git-here"))
    assert studies.git_revision() is None, "without git"


def test_runs_fan_out_on_one_thread_each_and_in_order():
    from concurrent.futures import ThreadPoolExecutor
    with runtime.threads(2):
        seen = []
        assert studies.map_runs(lambda a, b: (a * b, torch.get_num_threads()), [(2, 3), (4, 5)],
                                done=lambda i, r: seen.append((i, r))) == [(6, 1), (20, 1)]
        assert seen == [(0, (6, 1)), (1, (20, 1))] and torch.get_num_threads() == 2
        here, seen = threading.get_ident(), []
        with ThreadPoolExecutor(1) as pool:
            out = studies.map_runs(lambda a: (a, torch.get_num_threads(), threading.get_ident() != here), [(7,), (8,)],
                                   executor=pool, done=lambda i, r: seen.append((i, r)))
        assert out == [(7, 1, True), (8, 1, True)], "an executor given runs every job"
        assert sorted(seen) == [(0, (7, 1, True)), (1, (8, 1, True))]
        assert studies.map_runs(pow, [(2, 2)]) == [4], "workers=1 by default: in this process"


def test_the_local_pool_is_spawned_processes_on_one_thread(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)  # torch's own default in the workers, but for the pool's
    with studies.local_pool(1) as pool:
        assert pool._max_workers == 1 and pool._mp_context.get_start_method() == "spawn"
        pid, threads = pool.submit(_where_and_threads).result()
    assert pid != os.getpid() and threads == 1


def test_a_study_runs_on_local_processes_and_on_a_dask_cluster(tmp_path):
    from distributed import LocalCluster
    log = Log()
    studies.run_study("tiny-test", jobs=2, root=tmp_path / "pool", log=log)
    assert "3 to run on 2 local processes (cpu)" in log[0][0]
    runs = results.load_runs("tiny-test", tmp_path / "pool")
    assert all(r["metrics"]["pid"] != os.getpid() for r in runs), "--jobs 2 runs in other processes"
    assert json.loads((tmp_path / "pool" / "tiny-test.json").read_text())["config"]["where"] == "2 local processes"
    with LocalCluster(n_workers=1, processes=False, threads_per_worker=1, dashboard_address="127.0.0.1:0",
                      scheduler_kwargs={"dashboard": False}) as cluster:
        log.clear()
        studies.run_study("tiny-test", scheduler=cluster, root=tmp_path / "dask", log=log)
    assert "3 to run on the Dask cluster at LocalCluster(" in log[0][0] and log[0][0].endswith(
        f") (cpu); files in {tmp_path / 'dask' / 'tiny-test'}")
    on_dask = results.load_runs("tiny-test", tmp_path / "dask")
    assert all("Dask" in r["metrics"]["thread"] for r in on_dask), "the runs ran on the cluster's worker"
    assert [r["metrics"]["value"] for r in on_dask] == [r["metrics"]["value"] for r in runs], \
        "the same numbers wherever they ran"


def _where_and_threads():
    return os.getpid(), torch.get_num_threads()


def test_retrain_passes_on_its_options_and_tables_the_seconds(monkeypatch, tmp_path, register):
    register("tiny-later", after=["tiny-test"], budget="a while")
    calls = []
    monkeypatch.setattr(studies, "run_study", lambda name, **options: (calls.append((name, options)), time.sleep(0.06)))
    log = Log()
    seconds = studies.retrain(["tiny-later", "tiny-test"], jobs=2, resume=True, device="cpu", log=log, root=tmp_path)
    options = {"force": False, "jobs": 2, "log": log, "device": "cpu", "root": tmp_path}
    assert calls == [("tiny-test", options), ("tiny-later", options)], "each after what it reads"
    assert list(seconds) == ["tiny-test", "tiny-later"] and all(v == 0.1 for v in seconds.values()), seconds
    assert [text for text, _ in log] == ["== tiny-test (no time)", "== tiny-test: 0 s", "== tiny-later (a while)",
                                         "== tiny-later: 0 s",
                                         "retrain: seconds per study\n  tiny-test                     0\n"
                                         "  tiny-later                    0\n  total                         0"]
    assert all(kwargs == {"flush": True} for _, kwargs in log)
    calls.clear()
    studies.retrain(log=Log())
    assert [name for name, _ in calls] == list(studies.discover()), "no names: every study, in order"
    assert all(options["force"] and options["jobs"] == 1 for _, options in calls)


@pytest.mark.parametrize("cores, jobs", [(None, 1), (1, 1), (2, 2), (16, 2)])
def test_the_default_jobs_are_one_per_core_at_most_two(monkeypatch, cores, jobs):
    monkeypatch.setattr(studies.os, "cpu_count", lambda: cores)
    assert studies.default_jobs() == jobs


def test_a_study_label_names_the_fast_version():
    assert studies.study_label("x") == "x" and studies.study_label("x", True) == "x-fast"
