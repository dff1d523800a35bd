"""What every notebook calls first: seeding, the device, fast mode, threads, the data folder."""
import contextlib
import functools
import os
import platform
import random
import sys
from pathlib import Path

import numpy as np
import torch

from .checks import CourseError

DIGITS_FILE = "digits/optdigits_8x8.csv.gz"  # a data folder is one that holds this file
STYLE = Path(__file__).resolve().parent / "course.mplstyle"  # the course's figure style
TRUE, FALSE = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")


def _flag(name):
    value = os.environ.get(name, "").strip().lower()
    if value not in TRUE + FALSE:
        raise CourseError(f"{name}={os.environ[name]!r} is not understood; use {name}=1 (on) or {name}=0 (off).")
    return value in TRUE


FAST = _flag("IGN_LESSONS_FAST")


def steps(full, fast=None):
    """A step count: `full` normally, `fast` (default a twentieth) when IGN_LESSONS_FAST=1."""
    if not FAST:
        return full
    return fast if fast is not None else max(1, full // 20)


def device():
    """The one place that picks the device: IGN_LESSONS_DEVICE if set, else CUDA, MPS, then CPU."""
    wanted = os.environ.get("IGN_LESSONS_DEVICE", "").strip()
    if wanted:
        fix = "use cpu, cuda, cuda:1 or mps, or unset it to let the course choose."
        try:
            chosen = torch.device(wanted)
        except RuntimeError:
            raise CourseError(f"IGN_LESSONS_DEVICE={wanted!r} is not a device torch knows; {fix}") from None
        mps = getattr(torch.backends, "mps", None)
        available = {"cpu": True, "cuda": torch.cuda.is_available(), "mps": bool(mps and mps.is_available())}
        if not available.get(chosen.type, False):
            raise CourseError(f"IGN_LESSONS_DEVICE={wanted!r}: this machine has no usable {chosen.type} device "
                              f"(available: {', '.join(k for k, v in available.items() if v)}); {fix}")
        if chosen.type == "cuda" and (chosen.index or 0) >= torch.cuda.device_count():
            raise CourseError(f"IGN_LESSONS_DEVICE={wanted!r}: there are only {torch.cuda.device_count()} CUDA "
                              f"device(s); {fix}")
        return chosen
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


CORES = torch.get_num_threads()  # torch's own default: one thread per core


def _whole_number(name, smallest):
    """Environment variable `name` as a whole number >= smallest, or None when unset."""
    value = os.environ.get(name, "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) < smallest:
        raise CourseError(f"{name}={value!r} must be a whole number >= {smallest}, or unset.")
    return int(value)


# IGN_LESSONS_SEED: a whole number that the notebooks add to every seed they draw (default 0). Another seed
# changes the path of every live run, as another CPU or library build does; `course.py robustness` runs the
# notebooks under offsets 1-3 to check that each claim holds whichever path a run takes.
SEED = _whole_number("IGN_LESSONS_SEED", 0) or 0


def use_threads(threads=1):
    """The thread policy: how many threads torch uses; IGN_LESSONS_THREADS, if set, overrides `threads`.

    One thread everywhere by default. Measured on 2 cores: the 2D networks run as fast on one thread
    as on two, the digit networks 1.2x faster on two when the machine is quiet, and 5-10x slower on two
    when anything else runs beside them (a browser, a second notebook), because the two threads wait for
    each other. One thread cannot blow up; IGN_LESSONS_THREADS=2 opts in to more. The studies run many
    trainings side by side, one thread per process (studies.map_runs)."""
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise CourseError(f"threads must be a whole number >= 1, got {threads!r}.")
    wanted = _whole_number("IGN_LESSONS_THREADS", 1) or threads
    torch.set_num_threads(wanted)
    return wanted


@contextlib.contextmanager
def threads(n):
    """Run torch on `n` threads inside the block, then restore the count it had."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _candidates():
    here = Path(__file__).resolve().parent
    if os.environ.get("IGN_LESSONS_DATA", "").strip():
        return [Path(os.environ["IGN_LESSONS_DATA"].strip()).expanduser()]
    cwd = Path.cwd()
    # a source checkout, then the course folder seen from itself or from notebooks/ (an installed wheel)
    return list(dict.fromkeys([here.parent / "data", cwd / "data", cwd.parent / "data"]))


@functools.lru_cache(maxsize=1)
def data_folder():
    """The course's data/ folder: IGN_LESSONS_DATA if set, else the checkout's, else beside the notebooks."""
    places = _candidates()
    for place in places:
        if (place / DIGITS_FILE).exists():
            return place
    if os.environ.get("IGN_LESSONS_DATA", "").strip():
        raise CourseError(f"IGN_LESSONS_DATA={os.environ['IGN_LESSONS_DATA']!r} is not the course's data folder: "
                          f"{places[0] / DIGITS_FILE} is missing. Point it at the data/ folder of a clone of the "
                          "course, or unset it.")
    raise CourseError("The course's data folder was not found; looked for " + DIGITS_FILE + " in "
                      + ", ".join(str(p) for p in places) + ". Run from the course's folder (or its notebooks/), "
                      "or set IGN_LESSONS_DATA to the data/ folder of a clone of the course.")


def seed_everything(seed=0):
    """Seed Python, NumPy and torch so that a notebook gives the same numbers run after run."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def environment():
    """A dictionary describing this machine and the course's settings."""
    import matplotlib
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "matplotlib": matplotlib.__version__,
        "device": str(device()),
        "cpu threads": torch.get_num_threads(),
        "seed offset": SEED,
        "fast mode": FAST,
        "data folder": str(data_folder()),
    }


def start(seed=None, threads=1, report=True):
    """Seed everything (with SEED unless `seed` is given), choose torch's threads (`use_threads`), apply
    the course's figure style (course.mplstyle), print a one-line report; returns the device."""
    seed = SEED if seed is None else seed
    import matplotlib.pyplot as plt
    seed_everything(seed)
    count = use_threads(threads)
    plt.style.use(STYLE)
    dev = device()
    if report:
        mode = "FAST mode (IGN_LESSONS_FAST=1): step counts are shrunk" if FAST else "full mode"
        print(f"ign_lessons ready: torch {torch.__version__}, device {dev}, {count} thread(s), {mode}, seed {seed}"
              + (f" (IGN_LESSONS_SEED={SEED})" if SEED else ""))
    return dev
