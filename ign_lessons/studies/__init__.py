"""The studies that make every shipped file in data/: checkpoints and study results, one module each.

Every shipped file comes from a **study**, registered with @study("name", grid=..., summarize=..., budget=...):
a declared grid of independent runs, each `run(config, seed)` (a module-level function, pickled to the
workers). `python3 course.py study NAME` runs one (`run_study`): each run writes one results file (config,
seed, device, environment, metrics, timings, git revision) under data/results/NAME/, a run whose file holds
the same config and device is skipped (an interrupted study resumes; `--force` reruns), and the study writes
its summary, data/results/NAME.json, which the notebooks read; a summary only reads the run files. `--fast`
writes NAME-fast/ and NAME-fast.json instead, never the full results. A run may ship a model: its result's
"checkpoint" ({"model", "name", "config", "metrics", ...}) is saved by this process as
data/checkpoints/NAME.safetensors (in NAME[-fast]-checkpoints/ beside the run files for --fast or another
results folder). A study that only ships checkpoints has no summary (summarize=None).
`python3 course.py retrain [NAME ...]` reruns every study (or those named) in the order of their `after`
dependencies, and says how long each took.

Runs fan out through the standard `concurrent.futures.Executor` interface (`map_runs`): in this process,
on a local pool of spawned processes (`--jobs N`), or on a Dask cluster (`--scheduler tcp://host:port`,
dask.distributed's `Client(...).get_executor()`). Every run computes on one torch thread and on the study's
device (`--device`, the CPU by default, recorded in each run's file) wherever it runs, so a run's numbers do
not depend on where it ran (on machines with the same CPU family and the same torch). Workers only compute;
this process writes every file.

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
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import torch

from .. import checkpoints, metrics, results, runtime
from ..runtime import CourseError

STUDIES = {}


class StudyError(CourseError):
    """An unknown study, bad options or an unreachable cluster; the message says what to do."""


@dataclass(frozen=True)
class Study:
    """A named grid of runs. `grid(fast, root)` -> [{"key": str, "seed": int, "config": dict}] (the key names
    the run's file, the config is JSON; root is the results folder the study writes to, where a grid that
    builds on another study's summary reads it); `run(config, seed)` -> {"metrics": {...}, "timings": {...},
    ...}, a module-level function; `summarize(records, fast)` -> the summary's payload, from the run records
    alone (None: the study only ships checkpoints); `budget`: the full study's time budget, in words;
    `after`: the studies whose files this one reads (retrain runs them first); `settings(fast)` -> the
    study-wide settings its summary's config records beside the engine's (optional)."""

    name: str
    grid: object
    run: object
    summarize: object
    budget: str
    doc: str = ""
    after: tuple = ()
    settings: object = None


def study(name, grid, summarize, budget, doc, after=(), settings=None):
    """Register a module-level function `run(config, seed)` as the runs of study `name` (see Study); `doc`: what
    it makes, in a line."""
    def register(function):
        STUDIES[name] = Study(name, grid, function, summarize, budget, doc, tuple(after), settings)
        return function
    return register


def discover():
    """Import every study module (so that its studies register); returns STUDIES, each after what it reads."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    ordered = {}

    def visit(name, path=()):
        if name in path:
            raise StudyError(f"studies {' -> '.join(path + (name,))} read each other's files in a circle.")
        if name not in ordered:
            for earlier in sorted(STUDIES[name].after):
                visit(earlier, path + (name,))
            ordered[name] = STUDIES[name]

    for name in sorted(STUDIES):
        visit(name)
    return ordered


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


# What a study's numbers depend on. Notebooks are left out: they do not change a study's numbers, and git would
# pass each one whose file date changed through the notebook filter (nbstripout), seconds per notebook.
CODE = ("ign_lessons", "course.py", "pyproject.toml", "constraints.txt")


def git_revision():
    """The checkout's commit, with "+dirty" when the tracked code (CODE) differs from it; None outside a git
    checkout."""
    root = Path(__file__).resolve().parents[2]
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        if head.returncode:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", *CODE], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head.stdout.strip() + ("+dirty" if dirty else "")


@contextlib.contextmanager
def on_device(device):
    """Inside: runtime.device() is `device` (the course's one place that picks it), in this process."""
    before = os.environ.get("IGN_LESSONS_DEVICE")
    os.environ["IGN_LESSONS_DEVICE"] = device
    try:
        yield runtime.device()
    finally:
        if before is None:
            os.environ.pop("IGN_LESSONS_DEVICE", None)
        else:
            os.environ["IGN_LESSONS_DEVICE"] = before


def execute(function, config, seed, device="cpu"):
    """One run of a study, where it is sent: function(config, seed) on one torch thread and on `device`, timed,
    with its environment."""
    with runtime.threads(1), on_device(device):
        start, cpu = time.perf_counter(), time.process_time()
        out = function(config, seed)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        where = environment()
    return {**out, "timings": {**out.get("timings", {}), "wall_seconds": round(wall, 3), "cpu_seconds": round(cpu, 3)},
            "environment": where}


def as_json(value):
    """`value` as its JSON file holds it (tuples as lists, all the way down)."""
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


def _recorded(path):
    """(config, device) that a run's file records (device "cpu" in files from before devices were recorded),
    or None when there is no file yet; a file that no longer parses is named, with what to do (a study never
    overwrites what it cannot read)."""
    if not path.exists():
        return None
    try:
        record = json.loads(path.read_text())
        return record["config"], record.get("device", "cpu")
    except (ValueError, KeyError, TypeError) as error:
        raise StudyError(f"{path} cannot be read ({type(error).__name__}: {error}); was it edited by hand or cut "
                         "off? Delete it to rerun that run, or restore it (git checkout -- FILE for a shipped "
                         "study), then run the study again.") from None


def _check_device(device):
    """The study's device, checked on this machine: a name torch knows and this machine has (StudyError)."""
    try:
        with on_device(device) as chosen:
            return str(chosen)
    except CourseError as error:
        raise StudyError(str(error).replace("IGN_LESSONS_DEVICE", "--device")) from None


def run_study(name, fast=False, force=False, jobs=1, scheduler=None, root=None, log=print, device="cpu", keys=None):
    """Run study `name`; returns the path of its summary (root/NAME.json, root/NAME-fast.json with `fast`), or
    of its runs' folder for a study without a summary.

    root: the results folder (default data/results/). Each run writes root/NAME[-fast]/KEY.json; a run
    whose file holds the same config and device is skipped unless `force`. jobs: processes of the local pool
    (1: this process); scheduler: a Dask scheduler address (or cluster) to run on instead; device: where every
    run computes ("cpu", the default; "cuda", "cuda:1", "mps"); keys: run only these runs of the grid (the summary is
    written once every run's file exists)."""
    spec = find_study(name)
    say = functools.partial(log, flush=True)  # progress shows at once, also through a pipe
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise StudyError(f"--jobs must be a whole number >= 1, got {jobs!r}.")
    device = _check_device(device)
    label = study_label(name, fast)
    shipped = root is None and not fast  # only the full study, into data/results/, ships checkpoints
    root = Path(root) if root is not None else results.path(label).parent
    folder = root / label
    runs = spec.grid(fast, root)
    keys_ = [run["key"] for run in runs]
    if len(set(keys_)) != len(keys_):
        raise StudyError(f"study {name!r} lists some runs twice: {sorted({k for k in keys_ if keys_.count(k) > 1})}")
    for key in keys or ():
        if key not in keys_:
            close = difflib.get_close_matches(key, keys_, n=1)
            more = f", ... ({len(keys_)} in all)" if len(keys_) > 6 else ""
            raise StudyError(f"study {label!r} has no run {key!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
                             + f"; its runs: {', '.join(keys_[:6])}{more}.")
    folder.mkdir(parents=True, exist_ok=True)  # a folder it cannot write stops the study before any run
    configs = {run["key"]: as_json({**run["config"], "seed": run["seed"]}) for run in runs}
    chosen = [run for run in runs if keys is None or run["key"] in keys]
    todo = [run for run in chosen if force or _recorded(folder / f"{run['key']}.json") != (configs[run["key"]], device)]
    where = (f"the Dask cluster at {scheduler}" if scheduler is not None else
             f"{jobs} local processes" if jobs > 1 else "this process")
    say(f"study {label}: {len(chosen)} runs, {len(chosen) - len(todo)} already done, {len(todo)} to run on {where} "
        f"({device}); files in {folder}")
    revision = git_revision()
    start = time.perf_counter()

    def done(i, out):
        run = todo[i]
        if "checkpoint" in out:
            out = dict(out)
            ship = out.pop("checkpoint")
            where_to = checkpoints.folder() if shipped else root / f"{label}-checkpoints"
            where_to = where_to / f"{ship.pop('name')}.safetensors"
            checkpoints.save(ship.pop("model"), where_to, seed=run["seed"], **ship)
            metrics.forget_classifiers()  # the new checkpoint may be a classifier that the metrics had loaded
            out["checkpoint_file"] = where_to.name
        record = {"study": label, "key": run["key"], "config": configs[run["key"]], "seed": run["seed"],
                  "device": device, "environment": out["environment"], "metrics": out["metrics"],
                  "timings": out["timings"], "git": revision,
                  **{k: v for k, v in out.items() if k not in ("metrics", "timings", "environment")}}
        results.save_run(folder / f"{run['key']}.json", record)
        shown = {k: v for k, v in out["metrics"].items() if not isinstance(v, (list, dict))}
        say(f"  [{i + 1}/{len(todo)}] {run['key']}: {shown} ({out['timings']['wall_seconds']:.1f} s)")

    function = functools.partial(execute, spec.run, device=device)
    jobs_list = [(run["config"], run["seed"]) for run in todo]
    if scheduler is not None:
        with dask_executor(scheduler) as executor:
            map_runs(function, jobs_list, executor=executor, done=done)
    else:
        map_runs(function, jobs_list, workers=jobs, done=done)
    missing = [key for key in keys_ if _recorded(folder / f"{key}.json") != (configs[key], device)]
    if spec.summarize is None or missing:
        say(f"study {label}: {len(todo)} runs in {time.perf_counter() - start:.0f} s; "
            + (f"no summary until the other {len(missing)} runs are done" if missing and spec.summarize else
               "no summary"))
        return folder
    records = [json.loads((folder / f"{key}.json").read_text()) for key in keys_]
    payload = spec.summarize(records, fast)
    config = {**(spec.settings(fast) if spec.settings else {}), "study": name, "fast": fast, "runs": len(runs),
              "run_files": f"{label}/", "git": revision,
              "device": device, "ran_now": len(todo), "where": where if todo else None,
              "seconds_this_time": round(time.perf_counter() - start, 1)}
    target = results.save(root / f"{label}.json", payload, config)
    say(f"study {label}: summary {target} ({time.perf_counter() - start:.0f} s)")
    return target


def retrain(names=(), jobs=1, resume=False, device="cpu", log=print, root=None):
    """Rerun the studies called `names` (default: all), each after the studies whose files it reads, into
    data/ (or the results folder `root`); every run is redone unless `resume`. Returns {name: seconds}, also
    logged as a table at the end."""
    ordered = discover()
    say = functools.partial(log, flush=True)
    for name in names:
        find_study(name)
    chosen = [name for name in ordered if not names or name in names]
    seconds = {}
    for name in chosen:
        start = time.perf_counter()
        say(f"== {name} ({ordered[name].budget})")
        run_study(name, force=not resume, jobs=jobs, log=log, device=device, root=root)
        seconds[name] = round(time.perf_counter() - start, 1)
        say(f"== {name}: {seconds[name]:.0f} s")
    say("retrain: seconds per study\n" + "\n".join(f"  {name:<22} {s:8.0f}" for name, s in seconds.items())
        + f"\n  {'total':<22} {sum(seconds.values()):8.0f}")
    return seconds


def default_jobs():
    """The default --jobs: one process per core, at most 2 (the course's machine)."""
    return max(1, min(2, os.cpu_count() or 1))
