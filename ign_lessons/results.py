"""Study results shipped in data/results/NAME.json, written by recipes, read by notebooks."""
import json
import platform
from datetime import datetime, timezone

import torch

from .course import DATA

FOLDER = DATA / "results"


def save(name, payload, config=None):
    """Write a study's numbers with the config that produced them; returns the path."""
    FOLDER.mkdir(parents=True, exist_ok=True)
    record = {"name": name, "config": config or {}, "results": payload, "torch": torch.__version__,
              "python": platform.python_version(),
              "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    path = FOLDER / f"{name}.json"
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path


def load(name):
    """A shipped study's record: {"results", "config", ...}."""
    path = FOLDER / f"{name}.json"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in FOLDER.glob("*.json"))) or "none"
        raise FileNotFoundError(f"No study results {name!r} ({path} is missing). Shipped: {known}. "
                                "Regenerate with `python3 course.py retrain`.")
    return json.loads(path.read_text())
