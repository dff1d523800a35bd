"""The study engine on a tiny study that trains nothing: one file per run and a summary, resume and --force,
the device, named runs, retrain, the command line and its errors; and every study's grid is stable."""
import json
import os

import pytest
import torch

from ign_lessons import data, metrics, results, studies
from ign_lessons.__main__ import main

QUIET = dict(log=lambda *args, **kwargs: None)


# --- a tiny study, registered only in the test session: resume and --force without training ----------------

def tiny_grid(fast=False, root=None):
    return [{"key": f"tiny-s{seed}", "seed": seed, "config": {"size": 3 if fast else 5}} for seed in range(3)]


def tiny_summarize(records, fast=False):
    return {"total": sum(r["metrics"]["value"] for r in records)}


def tiny_run(config, seed):
    value = float(torch.randn(config["size"], generator=torch.Generator().manual_seed(seed)).sum())
    return {"metrics": {"value": value, "pid": os.getpid()}, "timings": {}}


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
