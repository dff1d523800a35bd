"""The studies that make every shipped file in data/: checkpoints and study results, one module each.

Two kinds of jobs live here:
- **recipes**, registered with @recipe("name"): functions called with no arguments that train and write
  their file(s) under data/. `python3 course.py retrain [name ...]` runs them (all, in the order of
  RECIPE_ORDER, by default).
- **studies**, registered with @study("name", grid=..., summarize=...): a grid of independent runs
  (model, data, settings, seed). `python3 course.py study NAME` runs them (`run_study`): each run
  writes one results file (config, seed, environment, metrics, timings, git revision) under
  data/results/NAME/, a run whose file exists with the same config is skipped (an interrupted study
  resumes; `--force` reruns), and the study writes its summary, data/results/NAME.json, which the
  notebooks read. `--fast` writes NAME-fast/ and NAME-fast.json instead, never the full results.
  A run may ship a model: its result's "checkpoint" ({"model", "name", "config", "metrics", ...}) is
  saved by this process as data/checkpoints/NAME.safetensors (in NAME[-fast]-checkpoints/ beside the
  run files for --fast or another results folder). A study may also be a recipe.

Runs fan out through the standard `concurrent.futures.Executor` interface (`map_runs`): in this process,
on a local pool of spawned processes (`--jobs N`), or on a Dask cluster (`--scheduler tcp://host:port`,
dask.distributed's `Client(...).get_executor()`). Every run computes on one torch thread wherever it
runs, so a run's numbers do not depend on where it ran (on machines with the same CPU family and the
same torch). Workers only compute; this process writes every file.

Modules are found automatically: a new study is one new file. Studies import the core (runtime, data,
models, losses, train, metrics, ...); nothing in the core imports them.
"""
import contextlib
import difflib
import functools
import importlib
import json
import multiprocessing
import os
import pkgutil
import platform
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import torch

from .. import checkpoints, results, runtime
from ..runtime import CourseError

RECIPES = {}
STUDIES = {}
# Recipes that others depend on run first: the digits metric's classifier judges the digit models.
RECIPE_ORDER = ("digit-classifier",)


class StudyError(CourseError):
    """An unknown study, bad options or an unreachable cluster; the message says what to do."""


def recipe(name):
    """Register a function that regenerates one or more shipped files."""
    def register(function):
        RECIPES[name] = function
        return function
    return register


@dataclass(frozen=True)
class Study:
    """A named grid of runs. `grid(fast, root)` -> [{"key": str, "config": dict}] (the key names the run's file,
    the config is JSON and holds "seed"; root is the results folder the study writes to, where a grid that
    builds on another study's summary reads it); `run(config)` -> {"metrics": {...}, "timings": {...}, ...}, a
    module-level function (it is pickled to the workers); `summarize(records, fast)` -> the summary's
    payload, from the run records; `budget`: the full study's time budget, in words."""

    name: str
    grid: object
    run: object
    summarize: object
    budget: str
    doc: str = ""


def study(name, grid, summarize, budget):
    """Register a module-level function `run(config)` as the runs of study `name` (see Study)."""
    def register(function):
        module_doc = getattr(sys.modules.get(function.__module__), "__doc__", None) or ""
        STUDIES[name] = Study(name, grid, function, summarize, budget, module_doc.strip().split("\n")[0])
        return function
    return register


def discover():
    """Import every study module (so that its recipes register); returns RECIPES in running order."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    first = [name for name in RECIPE_ORDER if name in RECIPES]
    return {name: RECIPES[name] for name in first + sorted(set(RECIPES) - set(first))}


def find_study(name):
    """The registered Study called `name`; an unknown name raises StudyError with the closest names."""
    discover()
    if name not in STUDIES:
        close = difflib.get_close_matches(name, STUDIES, n=1)
        raise StudyError(f"unknown study {name!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
                         + f"; known: {', '.join(sorted(STUDIES))}.")
    return STUDIES[name]


# --- running independent jobs: in this process, on a local process pool, or on any Executor ---------------

def _on_one_thread(function, *args):
    """function(*args) with torch on one thread (the thread count of a pool's or a cluster's worker
    is otherwise torch's default, one per core)."""
    with runtime.threads(1):
        return function(*args)


def local_pool(workers):
    """A pool of `workers` fresh (spawned) processes, each with torch on one thread."""
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=torch.set_num_threads, initargs=(1,))


@contextlib.contextmanager
def dask_executor(scheduler):
    """A concurrent.futures.Executor on a Dask cluster: dask.distributed's Client(scheduler).get_executor().

    `scheduler`: an address such as "tcp://host:8786", or a cluster object (e.g. a LocalCluster).
    Its workers need this package and torch installed (the same versions, for the same numbers)."""
    try:
        from distributed import Client
    except ImportError:
        raise StudyError("--scheduler needs dask.distributed: pip install 'dask[distributed]' "
                         "(it is in the course's test extra: pip install -e '.[test]').") from None
    try:
        client = Client(scheduler, timeout="20s")
    except (OSError, TimeoutError) as error:
        raise StudyError(f"could not reach a Dask scheduler at {scheduler!r} ({error}); start one with "
                         "`dask scheduler` and workers with `dask worker ADDRESS --nthreads 1`, or drop "
                         "--scheduler to run on this machine.") from None
    with client:
        yield client.get_executor()


def map_runs(function, jobs, workers=1, executor=None, done=None):
    """[function(*job) for job in jobs], each on one torch thread: in this process when workers <= 1
    and no executor is given, else in `workers` fresh processes, or on `executor` (any
    concurrent.futures.Executor, e.g. a Dask cluster's). Independent runs give the same numbers either
    way. `done(index, result)` is called, in this process, as each job finishes."""
    jobs = list(jobs)
    results_ = [None] * len(jobs)
    if executor is None and workers <= 1:
        with runtime.threads(1):
            for i, job in enumerate(jobs):
                results_[i] = function(*job)
                if done:
                    done(i, results_[i])
        return results_
    with contextlib.ExitStack() as stack:
        if executor is None:
            executor = stack.enter_context(local_pool(workers))
        futures = {executor.submit(_on_one_thread, function, *job): i for i, job in enumerate(jobs)}
        try:
            for future in as_completed(futures):
                i = futures[future]
                results_[i] = future.result()
                if done:
                    done(i, results_[i])
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    return results_


# --- the study command ------------------------------------------------------------------------------------

def environment():
    """Where a run ran: enough to tell whether two machines should give the same bits."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    import numpy
    capability = getattr(getattr(torch.backends, "cpu", None), "get_cpu_capability", lambda: None)()
    return {"python": platform.python_version(), "torch": torch.__version__, "numpy": numpy.__version__,
            "platform": platform.platform(), "machine": platform.machine(), "cpu": cpu,
            "cpu_capability": capability,
            "device": str(runtime.device()), "torch_threads": torch.get_num_threads()}


def git_revision():
    """The checkout's commit, with "+dirty" when tracked files differ from it; None outside a git checkout."""
    root = Path(__file__).resolve().parents[2]
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        if head.returncode:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head.stdout.strip() + ("+dirty" if dirty else "")


def execute(function, config):
    """One run of a study, where it is sent: function(config) on one torch thread, timed, with its environment."""
    with runtime.threads(1):
        start, cpu = time.perf_counter(), time.process_time()
        out = function(config)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {**out, "timings": {**out.get("timings", {}), "wall_seconds": round(wall, 3), "cpu_seconds": round(cpu, 3)},
            "environment": environment()}


def _as_json(value):
    return json.loads(json.dumps(value))


def study_label(name, fast=False):
    """The name a study's files carry: NAME, or NAME-fast for its fast version."""
    return f"{name}-fast" if fast else name


def earlier_summary(name, fast, root, why):
    """The summary ("results") of study `name` that another study builds on, read from the results folder `root`
    (None: data/results/); a missing one raises StudyError saying `why` it is needed and to run it first."""
    try:
        return results.load(study_label(name, fast), root)["results"]
    except Exception:
        raise StudyError(f"{why}; run `python3 course.py study {name}{' --fast' if fast else ''}` first.") from None


def _recorded_config(path):
    """The config a run's file records, or None when there is no file yet; a file that no longer parses is
    named, with what to do (a study never overwrites what it cannot read)."""
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())["config"]
    except (ValueError, KeyError, TypeError) as error:
        raise StudyError(f"{path} cannot be read ({type(error).__name__}: {error}); was it edited by hand or cut "
                         "off? Delete it to rerun that run, or restore it (git checkout -- FILE for a shipped "
                         "study), then run the study again.") from None


def run_study(name, fast=False, force=False, jobs=1, scheduler=None, root=None, log=print):
    """Run study `name`; returns the path of its summary (root/NAME.json, root/NAME-fast.json with `fast`).

    root: the results folder (default data/results/). Each run writes root/NAME[-fast]/KEY.json; a run
    whose file holds the same config is skipped unless `force`. jobs: processes of the local pool
    (1: this process); scheduler: a Dask scheduler address (or cluster) to run on instead."""
    spec = find_study(name)
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise StudyError(f"--jobs must be a whole number >= 1, got {jobs!r}.")
    label = study_label(name, fast)
    shipped = root is None and not fast  # only the full study, into data/results/, ships checkpoints
    root = Path(root) if root is not None else results.path(label).parent
    folder = root / label
    runs = spec.grid(fast, root)
    keys = [run["key"] for run in runs]
    if len(set(keys)) != len(keys):
        raise StudyError(f"study {name!r} lists some runs twice: {sorted({k for k in keys if keys.count(k) > 1})}")
    folder.mkdir(parents=True, exist_ok=True)  # a folder it cannot write stops the study before any run
    todo = [run for run in runs if force or _recorded_config(folder / f"{run['key']}.json") != _as_json(run["config"])]
    where = (f"the Dask cluster at {scheduler}" if scheduler is not None else
             f"{jobs} local processes" if jobs > 1 else "this process")
    log(f"study {label}: {len(runs)} runs, {len(runs) - len(todo)} already done, {len(todo)} to run on {where}; "
        f"files in {folder}", flush=True)
    revision = git_revision()
    start = time.perf_counter()

    def done(i, out):
        run = todo[i]
        if "checkpoint" in out:
            out = dict(out)
            ship = out.pop("checkpoint")
            where_to = checkpoints.folder() if shipped else root / f"{label}-checkpoints"
            where_to = where_to / f"{ship.pop('name')}.safetensors"
            checkpoints.save(ship.pop("model"), where_to, seed=run["config"].get("seed"), **ship)
            out["checkpoint_file"] = where_to.name
        record = {"study": label, "key": run["key"], "config": _as_json(run["config"]),
                  "seed": run["config"].get("seed"), "environment": out["environment"],
                  "metrics": out["metrics"], "timings": out["timings"], "git": revision,
                  **{k: v for k, v in out.items() if k not in ("metrics", "timings", "environment")}}
        results.save_run(folder / f"{run['key']}.json", record)
        shown = {k: v for k, v in out["metrics"].items() if not isinstance(v, (list, dict))}
        log(f"  [{i + 1}/{len(todo)}] {run['key']}: {shown} ({out['timings']['wall_seconds']:.1f} s)", flush=True)

    function = functools.partial(execute, spec.run)
    jobs_list = [(run["config"],) for run in todo]
    if scheduler is not None:
        with dask_executor(scheduler) as executor:
            map_runs(function, jobs_list, executor=executor, done=done)
    else:
        map_runs(function, jobs_list, workers=jobs, done=done)
    records = [json.loads((folder / f"{key}.json").read_text()) for key in keys]
    payload = spec.summarize(records, fast)
    config = {"study": name, "fast": fast, "runs": len(runs), "run_files": f"{label}/", "git": revision,
              "ran_now": len(todo), "where": where if todo else None,
              "seconds_this_time": round(time.perf_counter() - start, 1)}
    target = results.save(root / f"{label}.json", payload, config)
    log(f"study {label}: summary {target} ({time.perf_counter() - start:.0f} s)", flush=True)
    return target


def default_jobs():
    """The default --jobs: one process per core, at most 2 (the course's machine)."""
    return max(1, min(2, os.cpu_count() or 1))
