"""Study results: NAME.json files with the config that produced them; the shipped ones in data/results/.

`save` writes where it is told; only the studies (python -m ign_lessons retrain / study) write data/.
A study run by `python -m ign_lessons study NAME` also keeps one file per run in data/results/NAME/
(`save_run`, `load_runs`); NAME.json is its summary.
"""
import json
import platform
from datetime import datetime, timezone
from pathlib import Path

import torch

from .runtime import CourseError, data_folder


def path(name):
    """Where the shipped results of study `name` live: data/results/NAME.json."""
    return data_folder() / "results" / f"{name}.json"


def save(target, payload, config=None):
    """Write a study's numbers to `target` (a .json path) with the config that produced them; returns it."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    record = {"name": target.stem, "config": config or {}, "results": payload, "torch": torch.__version__,
              "python": platform.python_version(),
              "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    target.write_text(json.dumps(record, indent=2) + "\n")
    return target


def _read(where, fix):
    """The JSON of a results file; a damaged one (edited by hand, cut off) is named, with what to do."""
    try:
        return json.loads(Path(where).read_text())
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError
        raise CourseError(f"{where} cannot be read ({type(error).__name__}: {error}); was it edited by hand or cut "
                          f"off? {fix}") from None


def load(name, root=None):
    """A study's record, {"results", "config", ...}: the shipped one, or the one under the results folder `root`."""
    where = path(name) if root is None else Path(root) / f"{name}.json"
    if not where.exists():
        known = ", ".join(sorted(p.stem for p in where.parent.glob("*.json"))) or "none"
        raise FileNotFoundError(f"No study results {name!r} ({where} is missing). Shipped: {known}. "
                                "Regenerate with `python3 course.py retrain`.")
    return _read(where, f"Restore it with `git checkout -- {where}`, or regenerate it with `python3 course.py "
                        "retrain`.")


def save_run(target, record):
    """Write one run's record (a JSON dict) to `target`, atomically: an interrupted study leaves no half file."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.write_text(json.dumps(record, indent=1) + "\n")
    partial.replace(target)
    return target


def load_runs(name, root=None):
    """Every run record of study `name` (data/results/NAME/*.json, or under `root`), sorted by key."""
    folder = (Path(root) if root is not None else path(name).parent) / name
    if not folder.is_dir():
        raise FileNotFoundError(f"No run files for study {name!r} ({folder} is missing). "
                                f"Make them with `python3 course.py study {name.removesuffix('-fast')}"
                                + (" --fast" if name.endswith("-fast") else "") + "`.")
    return [_read(p, "Delete it to rerun that run, or restore it (git checkout -- FILE for a shipped study), then "
                     "run the study again.") for p in sorted(folder.glob("*.json"))]


def encode_points(points):
    """2D points as compact text "x,y x,y ..." (2 decimals; non-finite or huge values clipped to +-99)."""
    clipped = torch.nan_to_num(points.detach().float().cpu(), 99, 99, -99).clamp(-99, 99)
    return " ".join(f"{x:.2f},{y:.2f}" for x, y in clipped.tolist())


def decode_points(text):
    """The (n, 2) tensor of points stored by encode_points."""
    return torch.tensor([[float(v) for v in pair.split(",")] for pair in text.split()])
