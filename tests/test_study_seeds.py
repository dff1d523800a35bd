"""Every study's seeding: the first run of its fast grid, run twice from its seed, gives the same numbers, and run
from the next seed gives other numbers (a run that ignored its seed, or drew from an unseeded source, fails)."""
import shutil

import pytest
import torch

from ign_lessons import checkpoints, results, studies

# A study whose numbers do not depend on a seed, and vary run to run: it measures the machine (time per step).
MACHINE = {"mnist-cost"}


def _numbers(value):
    """A run's output without its clocks: every key that names a time is dropped, all the way down."""
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items() if not any(w in k for w in ("second", "time", "ms_per"))}
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    return value


def _output(out):
    return _numbers(studies.as_json({k: v for k, v in out.items() if k not in ("checkpoint", "environment")}))


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """A results folder holding the fast summaries that some grids read (shipped ones, or made here)."""
    folder = tmp_path_factory.mktemp("seeds")
    found = studies.discover()
    for name in {earlier for spec in found.values() for earlier in spec.after if found[earlier].summarize}:
        if results.path(f"{name}-fast").exists():
            shutil.copy(results.path(f"{name}-fast"), folder)
        else:
            studies.run_study(name, fast=True, jobs=1, root=folder, log=lambda *a, **k: None)
    return folder


def test_loading_a_checkpoint_leaves_the_global_generator_alone():
    """Found by the test below: the metric's classifier, loaded on first use, built its network from the global
    generator, so a run that measured itself while training drew other numbers afterwards the first time."""
    torch.manual_seed(7)
    before = torch.random.get_rng_state().clone()
    checkpoints.load("digit-classifier", map_location="cpu")
    assert torch.equal(torch.random.get_rng_state(), before)


@pytest.mark.parametrize("name", sorted(n for n, s in studies.discover().items()
                                        if s.run.__module__.startswith("ign_lessons") and n not in MACHINE))
def test_a_run_depends_on_its_seed_and_only_on_it(name, root):
    spec = studies.STUDIES[name]
    first = spec.grid(True, root)[0]
    once, again = (_output(studies.execute(spec.run, first["config"], first["seed"])) for _ in range(2))
    assert once == again, f"{name}: two runs from seed {first['seed']} differ"
    other = _output(studies.execute(spec.run, first["config"], first["seed"] + 1))
    assert other != once, f"{name}: the run from seed {first['seed'] + 1} gives the same numbers"
