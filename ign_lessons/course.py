"""What every notebook calls first: seeding, the device, fast mode and an environment report."""
import os
import platform
import random
import sys
from pathlib import Path

import numpy as np
import torch

FAST = os.environ.get("IGN_LESSONS_FAST", "") not in ("", "0")
DATA = Path(os.environ.get("IGN_LESSONS_DATA", Path(__file__).resolve().parent.parent / "data"))


def device():
    """The one place that picks the device: IGN_LESSONS_DEVICE if set, else CUDA, MPS, then CPU."""
    wanted = os.environ.get("IGN_LESSONS_DEVICE")
    if wanted:
        return torch.device(wanted)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def steps(full, fast=None):
    """A step count: `full` normally, `fast` (default a twentieth) when IGN_LESSONS_FAST=1."""
    if not FAST:
        return full
    return fast if fast is not None else max(1, full // 20)


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
        "fast mode": FAST,
        "data folder": str(DATA),
    }


def start(seed=0, report=True):
    """Seed everything, set plot defaults, print a one-line report; returns the device."""
    import matplotlib.pyplot as plt
    seed_everything(seed)
    plt.rcParams.update({"figure.dpi": 110, "axes.grid": False, "image.cmap": "gray"})
    dev = device()
    if report:
        mode = "FAST mode (IGN_LESSONS_FAST=1): step counts are shrunk" if FAST else "full mode"
        print(f"ign_lessons ready: torch {torch.__version__}, device {dev}, {mode}, seed {seed}")
    return dev
