"""Every study of the course: its first fast run goes to a Dask LocalCluster and writes its file, and asked again
the study finds it done; the same run from the same seed, here, gives the same numbers, and from the next seed
other numbers (a run that ignored its seed, or drew from an unseeded source, fails). The cluster's workers have
every cache of the metrics filled before any run, and each run here starts with them empty: a run whose numbers
depend on what its process did before (as when loading the metric's classifier moved the global generator)
differs."""
import json
import shutil

import pytest
import torch

from ign_lessons import checkpoints, metrics, results, studies

QUIET = dict(log=lambda *args, **kwargs: None)
COURSE = sorted(n for n, s in studies.discover().items() if s.run.__module__.startswith("ign_lessons"))
# A study whose numbers do not depend on a seed, and vary run to run: it measures the machine (time per step).
MACHINE = {"mnist-cost"}
# What a run's file holds beside what the run returned
RECORDED = ("study", "key", "config", "seed", "device", "git", "checkpoint_file")


def _numbers(value):
    """A run's output without its clocks: every key that names a time is dropped, all the way down."""
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items() if not any(w in k for w in ("second", "time", "ms_per"))}
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    return value


def _output(out, dropped=("checkpoint",)):
    """What a run's numbers are: its output less its timings (a machine's), environment and shipped model."""
    return _numbers(studies.as_json({k: v for k, v in out.items()
                                     if k not in ("timings", "environment", *dropped)}))


@pytest.fixture(scope="module")
def root(tmp_path_factory, cluster):
    """A results folder holding the fast summaries that some grids read: the shipped one, or the whole fast
    study run here on the cluster."""
    folder = tmp_path_factory.mktemp("every-study")
    from distributed import Client
    with Client(cluster) as client:  # warm every cache a run may meet (the runs here start cold)
        for image_set, name in metrics.CLASSIFIERS.items():
            for split in ("test", "val"):
                client.run(metrics._reference_features, name, image_set, split)
        for shape in ("moons", "circles", "spiral"):
            client.run(metrics.shape_regions, shape)
    found = studies.discover()
    for name in sorted({earlier for spec in found.values() for earlier in spec.after if found[earlier].summarize}):
        if results.path(f"{name}-fast").exists():
            shutil.copy(results.path(f"{name}-fast"), folder)
        else:
            studies.run_study(name, fast=True, scheduler=cluster, root=folder, **QUIET)
    return folder


def test_loading_a_checkpoint_leaves_the_global_generator_alone():
    """Found by the test below: the metric's classifier, loaded on first use, built its network from the global
    generator, so a run that measured itself while training drew other numbers afterwards the first time."""
    torch.manual_seed(7)
    before = torch.random.get_rng_state().clone()
    checkpoints.load("digit-classifier", map_location="cpu")
    assert torch.equal(torch.random.get_rng_state(), before)


@pytest.mark.parametrize("name", COURSE)
def test_a_study_runs_on_a_dask_cluster_resumes_and_depends_on_its_seed_alone(name, root, cluster):
    spec = studies.STUDIES[name]
    first = spec.grid(True, root)[0]
    studies.run_study(name, fast=True, scheduler=cluster, root=root, keys=[first["key"]], **QUIET)
    record = json.loads((root / f"{name}-fast" / f"{first['key']}.json").read_text())
    assert record["environment"]["torch_threads"] == 1 and record["device"] == "cpu"
    lines = []
    studies.run_study(name, fast=True, jobs=1, root=root, keys=[first["key"]], log=lambda *a, **k: lines.append(a[0]))
    assert "1 runs, 1 already done, 0 to run" in lines[0], lines[0]
    if name in MACHINE:
        return
    metrics.forget_classifiers()
    metrics.shape_regions.cache_clear()
    here = _output(studies.execute(spec.run, first["config"], first["seed"]))
    assert _output(record, RECORDED) == here, f"the run from seed {first['seed']} differs here and on the cluster"
    other = _output(studies.execute(spec.run, first["config"], first["seed"] + 1))
    assert other != here, f"the run from seed {first['seed'] + 1} gives the same numbers"
