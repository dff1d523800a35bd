"""Checkpoints: weights in NAME.safetensors beside NAME.json metadata; the shipped ones in data/checkpoints/.

The metadata records how to rebuild the model (models.build spec), the training config, seed,
steps, metrics and the weights file's SHA-256. Weights are stored with safetensors, a format of
plain arrays that cannot hold code (a pickled `.pt` file can run any code when it is loaded, so the
course never loads one). Both files are written atomically: a save that is interrupted leaves the
old checkpoint as it was. `save` writes where it is told; only `python -m ign_lessons retrain`
writes data/.
"""
import difflib
import hashlib
import json
import os
import platform
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_weights
from safetensors.torch import save as weights_bytes

from . import models
from .runtime import CourseError, data_folder, device

SUFFIX = ".safetensors"


class CheckpointError(CourseError):
    """A missing, damaged, unsafe or mismatched checkpoint; the message says how to fix it."""


def folder():
    """The folder of the shipped checkpoints, data/checkpoints/."""
    return data_folder() / "checkpoints"


def names():
    """Names of the checkpoints that ship with the course."""
    return sorted(p.stem for p in folder().glob("*.json"))


def _paths(name_or_path):
    """(weights, metadata) paths of a shipped name or of a path ending in .safetensors or .json."""
    path = Path(name_or_path)
    if path.suffix in (".pt", ".pth", ".pkl", ".bin"):
        raise CheckpointError(f"{path}: the course stores weights as {SUFFIX} files and never loads a {path.suffix} "
                              "file, which may be a pickle that runs code when it is loaded. Save the model again "
                              f"with checkpoints.save(model, 'NAME{SUFFIX}').")
    if path.suffix in (SUFFIX, ".json"):
        return path.with_suffix(SUFFIX), path.with_suffix(".json")
    if path.suffix or len(path.parts) > 1:
        raise CheckpointError(f"{path}: name a shipped checkpoint ({', '.join(names()) or 'none'}) or a path "
                              f"ending in {SUFFIX}.")
    return folder() / f"{path}{SUFFIX}", folder() / f"{path}.json"


def write_atomically(files):
    """Write {path: bytes}: each to a temporary file in its folder (flush, fsync), then rename them all.
    A crash or Ctrl-C before the renames leaves every old file as it was, and no temporary file behind."""
    written = []
    try:
        for path, content in files.items():
            handle, temporary = tempfile.mkstemp(dir=Path(path).parent, prefix=f".{Path(path).name}.", suffix=".part")
            written.append((temporary, path))
            with os.fdopen(handle, "wb") as out:
                out.write(content)
                out.flush()
                os.fsync(out.fileno())
        for temporary, path in written:
            os.replace(temporary, path)
    finally:
        for temporary, _ in written:
            Path(temporary).unlink(missing_ok=True)


def save(model, path, config=None, seed=None, steps=None, metrics=None):
    """Write the model's weights to `path` (NAME.safetensors; NAME.json beside it); returns the metadata."""
    if not hasattr(model, "spec"):
        raise CheckpointError("only models made by models.build(...) can be saved (they carry .spec).")
    if Path(path).suffix != SUFFIX:
        raise CheckpointError(f"save to a path ending in {SUFFIX} (its metadata goes beside it as .json), "
                              f"got {str(path)!r}.")
    weights, meta_path = _paths(path)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    if not all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point()):
        raise CheckpointError("the model has NaN or infinite weights; nothing was written (train it again, "
                              "or keep the weights of an earlier step: train's history says which).")
    content = weights_bytes(state, metadata={"model": json.dumps(model.spec, sort_keys=True)})
    meta = {
        "name": weights.stem, "model": model.spec, "config": config or {}, "seed": seed,
        "steps": steps, "metrics": metrics or {},
        "sha256": hashlib.sha256(content).hexdigest(),
        "parameters": models.count_parameters(model), "torch": torch.__version__,
        "python": platform.python_version(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    text = (json.dumps(meta, indent=2) + "\n").encode()  # fails here, before anything is written
    try:
        weights.parent.mkdir(parents=True, exist_ok=True)
        write_atomically({weights: content, meta_path: text})
    except OSError as error:
        fix = ("that path is a folder, choose another file name" if isinstance(error, IsADirectoryError) else
               f"make its folder writable (chmod u+w {weights.parent}) or save elsewhere")
        raise CheckpointError(f"could not write {weights} ({error.strerror or error}); nothing was written: "
                              f"{fix}.") from None
    return meta


def metadata(name_or_path):
    """The metadata dict of a checkpoint, without loading its weights."""
    weights, meta_path = _paths(name_or_path)
    if not meta_path.exists():
        name = str(name_or_path)
        words = sorted(name.lower().replace("_", "-").split("-"))  # the same words in another order come first
        close = ([n for n in names() if sorted(n.split("-")) == words]
                 or [n for n in names() if n.startswith(f"{name}-")] or difflib.get_close_matches(name, names(), n=1))
        raise CheckpointError(f"No checkpoint {name!r} ({meta_path} is missing)"
                              + (f"; did you mean {' or '.join(map(repr, close))}?" if close else ".") + " Shipped: "
                              f"{', '.join(names()) or 'none'}. Regenerate them with `python3 course.py retrain`.")
    restore = (f"Restore it with `git checkout -- {meta_path}`, or save the model again.")
    try:
        meta = json.loads(meta_path.read_text())
        kind, options, digest = meta["model"]["kind"], meta["model"]["options"], meta["sha256"]
    except (ValueError, KeyError, TypeError) as error:
        raise CheckpointError(f"{meta_path} is damaged ({type(error).__name__}: {error}); it needs a model "
                              f"kind, its options and a sha256. {restore}") from None
    if not (isinstance(kind, str) and isinstance(options, dict) and isinstance(digest, str)):
        raise CheckpointError(f"{meta_path} is damaged: model.kind, model.options and sha256 have the wrong types. "
                              + restore)
    return meta


def _header(content):
    """The JSON header of a safetensors file (8 bytes of its length, then the JSON), or {} if unreadable."""
    try:
        header = json.loads(content[8:8 + int.from_bytes(content[:8], "little")])
        return header if isinstance(header, dict) else {}
    except ValueError:
        return {}


def _cut_off(content):
    """True when the file is shorter than its header says: the end of a copy or a download is missing."""
    header = _header(content)
    ends = [v["data_offsets"][1] for k, v in header.items() if k != "__metadata__" and isinstance(v, dict)
            and isinstance(v.get("data_offsets"), list) and len(v["data_offsets"]) == 2]
    return bool(ends) and len(content) < 8 + int.from_bytes(content[:8], "little") + max(ends)


def _embedded_spec(content):
    """The model spec that `save` writes into the weights file's own header, or None (files saved before it did)."""
    spec = (_header(content).get("__metadata__") or {}).get("model")
    try:
        return json.loads(spec) if isinstance(spec, str) else None
    except ValueError:
        return None


def _restore_hint(weights):
    """How to get a good copy back: git for the shipped files, a new save for the user's own."""
    if weights.parent.resolve() == folder().resolve():
        return f"Restore it with `git checkout -- {weights}` or regenerate it with `python3 course.py retrain`."
    return "Save the model again with checkpoints.save (a damaged file cannot be repaired)."


def load(name_or_path, map_location=None):
    """Rebuild a model from a checkpoint; returns it in eval mode with `.meta` attached."""
    meta = metadata(name_or_path)
    weights, _ = _paths(name_or_path)
    if not weights.exists():
        raise CheckpointError(f"{weights} is missing. {_restore_hint(weights)}")
    content = weights.read_bytes()
    actual = hashlib.sha256(content).hexdigest()
    if actual != meta["sha256"]:
        truncated = " (shorter than its header says: its end is cut off)" if _cut_off(content) else ""
        raise CheckpointError(f"{weights} is damaged{truncated}: SHA-256 {actual}, expected {meta['sha256']}. "
                              + _restore_hint(weights))
    try:
        state = load_weights(content)
    except (SafetensorError, ValueError, RuntimeError) as error:
        raise CheckpointError(f"{weights} is not a safetensors file ({error}); it was refused and nothing in it "
                              "was run. Only load checkpoints written by checkpoints.save.") from None
    try:
        with torch.random.fork_rng(devices=[]):  # its initial weights are replaced: leave the caller's draws alone
            model = models.build(meta["model"]["kind"], **meta["model"]["options"])
    except (CourseError, TypeError) as error:
        raise CheckpointError(f"{weights}: its metadata describes a model the course cannot build "
                              f"({meta['model']}): {error}") from None
    embedded = _embedded_spec(content)
    if embedded is not None and embedded != meta["model"]:
        raise CheckpointError(f"{weights} holds the weights of a {embedded['kind']} {embedded['options']}, but its "
                              f"metadata file says {meta['model']['kind']} {meta['model']['options']}: the two files "
                              "do not belong together. " + _restore_hint(weights))
    try:
        model.load_state_dict(state)
    except RuntimeError as error:
        raise CheckpointError(f"{weights} does not fit the architecture {meta['model']} recorded in its "
                              f"metadata (was it trained with another model?): {error}") from None
    model.meta = meta
    return model.to(map_location or device()).eval()
