"""Checkpoints: state dicts in NAME.pt beside NAME.json metadata; the shipped ones in data/checkpoints/.

The metadata records how to rebuild the model (models.build spec), the training config, seed,
steps, metrics and the file's SHA-256; loading checks the hash and uses weights_only=True.
`save` writes where it is told; only the studies (python -m ign_lessons retrain) write data/.
"""
import hashlib
import json
import platform
from datetime import datetime, timezone
from pathlib import Path

import torch

from . import models
from .runtime import CourseError, data_folder, device


class CheckpointError(CourseError):
    """A missing, damaged or mismatched checkpoint; the message says how to fix it."""


def folder():
    """The folder of the shipped checkpoints, data/checkpoints/."""
    return data_folder() / "checkpoints"


def names():
    """Names of the checkpoints that ship with the course."""
    return sorted(p.stem for p in folder().glob("*.json"))


def _paths(name_or_path):
    path = Path(name_or_path)
    if path.suffix in (".pt", ".json"):
        return path.with_suffix(".pt"), path.with_suffix(".json")
    return folder() / f"{name_or_path}.pt", folder() / f"{name_or_path}.json"


def save(model, path, config=None, seed=None, steps=None, metrics=None):
    """Write the model's state dict to `path` (a .pt file; NAME.json beside it); returns the metadata."""
    if not hasattr(model, "spec"):
        raise CheckpointError("only models made by models.build(...) can be saved (they carry .spec).")
    if Path(path).suffix != ".pt":
        raise CheckpointError(f"save to a path ending in .pt (its metadata goes beside it as .json), got {path}.")
    weights, meta_path = _paths(path)
    weights.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    torch.save(state, weights)
    meta = {
        "name": weights.stem, "model": model.spec, "config": config or {}, "seed": seed,
        "steps": steps, "metrics": metrics or {},
        "sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
        "parameters": models.count_parameters(model), "torch": torch.__version__,
        "python": platform.python_version(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    return meta


def metadata(name_or_path):
    """The metadata dict of a checkpoint, without loading its weights."""
    weights, meta_path = _paths(name_or_path)
    if not meta_path.exists():
        known = ", ".join(names()) or "none"
        raise CheckpointError(f"No checkpoint {name_or_path!r} ({meta_path} is missing). Shipped: {known}. "
                              "Regenerate them with `python3 course.py retrain`.")
    return json.loads(meta_path.read_text())


def load(name_or_path, map_location=None):
    """Rebuild a model from a checkpoint; returns it in eval mode with `.meta` attached."""
    meta = metadata(name_or_path)
    weights, _ = _paths(name_or_path)
    if not weights.exists():
        raise CheckpointError(f"{weights} is missing; restore it with `git checkout -- {weights}` "
                              "or regenerate it with `python3 course.py retrain`.")
    actual = hashlib.sha256(weights.read_bytes()).hexdigest()
    if actual != meta["sha256"]:
        raise CheckpointError(f"{weights} is damaged: SHA-256 {actual}, expected {meta['sha256']}. "
                              f"Restore it with `git checkout -- {weights}`.")
    model = models.build(meta["model"]["kind"], **meta["model"]["options"])
    state = torch.load(weights, map_location="cpu", weights_only=True)
    try:
        model.load_state_dict(state)
    except RuntimeError as error:
        raise CheckpointError(f"{weights} does not fit the architecture {meta['model']} recorded in its "
                              f"metadata (was it trained with another model?): {error}") from None
    model.meta = meta
    return model.to(map_location or device()).eval()
