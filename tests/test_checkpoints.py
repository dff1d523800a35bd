import hashlib
import io
import json
import os
import pickle

import pytest
import torch

from ign_lessons import checkpoints, models


def tiny(hidden=8):
    return models.build("mlp-ign", hidden=hidden, depth=1)


def test_roundtrip_keeps_weights_and_metadata(tmp_path):
    net = tiny()
    meta = checkpoints.save(net, tmp_path / "tiny.safetensors", config={"lr": 1e-3}, seed=1, steps=5,
                            metrics={"rec": 0.1})
    back = checkpoints.load(tmp_path / "tiny.safetensors", map_location="cpu")
    x = torch.randn(4, 2)
    assert torch.equal(back(x), net(x))
    assert back.meta["sha256"] == meta["sha256"] and back.meta["config"] == {"lr": 1e-3}
    assert not back.training
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.json", "tiny.safetensors"]  # no temporary left


def test_damaged_missing_and_mismatched_checkpoints_fail_clearly(tmp_path):
    net = tiny()
    weights = tmp_path / "tiny.safetensors"
    checkpoints.save(net, weights)
    weights.write_bytes(weights.read_bytes() + b"x")
    with pytest.raises(checkpoints.CheckpointError, match="damaged.*expected"):
        checkpoints.load(weights)
    with pytest.raises(checkpoints.CheckpointError, match="No checkpoint"):
        checkpoints.load("no-such-model")
    other = tmp_path / "other.safetensors"
    checkpoints.save(tiny(hidden=16), other)
    meta = json.loads(other.with_suffix(".json").read_text())
    meta["model"] = tiny().spec  # the metadata of another architecture, with a matching hash
    other.with_suffix(".json").write_text(json.dumps(meta))
    with pytest.raises(checkpoints.CheckpointError, match="holds the weights of a mlp-ign.*do not belong together"):
        checkpoints.load(other)
    # a file saved before the weights carried their spec: the shapes still tell
    from safetensors.torch import save as weights_bytes
    legacy = weights_bytes({k: v.contiguous() for k, v in tiny(hidden=16).state_dict().items()})
    other.write_bytes(legacy)
    other.with_suffix(".json").write_text(json.dumps({**meta, "sha256": hashlib.sha256(legacy).hexdigest()}))
    with pytest.raises(checkpoints.CheckpointError, match="does not fit the architecture"):
        checkpoints.load(other)
    weights.unlink()
    with pytest.raises(checkpoints.CheckpointError, match="is missing"):
        checkpoints.load(weights.with_suffix(".json"))


@pytest.mark.parametrize("damage", [
    lambda meta: "{not json",
    lambda meta: json.dumps({k: v for k, v in meta.items() if k != "sha256"}),
    lambda meta: json.dumps({**meta, "model": {"kind": "mlp-ign"}}),
    lambda meta: json.dumps({**meta, "model": ["mlp-ign"]}),
    lambda meta: json.dumps({**meta, "sha256": 42}),
    lambda meta: "[]",
], ids=["not-json", "no-hash", "no-options", "model-not-a-dict", "hash-not-text", "a-list"])
def test_damaged_metadata_gets_the_course_error(tmp_path, damage):
    path = tmp_path / "tiny.safetensors"
    meta = checkpoints.save(tiny(), path)
    path.with_suffix(".json").write_text(damage(meta))
    with pytest.raises(checkpoints.CheckpointError, match="tiny.json is damaged.*Restore it"):
        checkpoints.load(path)


def test_metadata_of_a_model_kind_the_course_does_not_know_is_refused(tmp_path):
    path = tmp_path / "tiny.safetensors"
    meta = checkpoints.save(tiny(), path)
    meta["model"] = {"kind": "mlp-ing", "options": {}}
    path.with_suffix(".json").write_text(json.dumps(meta))
    with pytest.raises(checkpoints.CheckpointError, match="cannot build.*did you mean 'mlp-ign'"):
        checkpoints.load(path)


class Payload:
    """A pickle that, when loaded, creates a file: what a malicious checkpoint would do."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def pickled(obj):
    return pickle.dumps(obj)


def torch_saved(obj):
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def unpickled(content):
    return torch.load(io.BytesIO(content), weights_only=False) if content[:2] == b"PK" else pickle.loads(content)


@pytest.mark.parametrize("dump", [pickled, torch_saved], ids=["pickle", "torch.save"])
def test_a_crafted_pickle_with_valid_metadata_and_hash_is_refused_by_every_loader_and_runs_nothing(tmp_path, dump):
    path = tmp_path / "evil.safetensors"
    meta = checkpoints.save(tiny(), path)
    marker = tmp_path / "the-payload-ran"
    evil = dump({"net.0.weight": Payload(marker)})
    unpickled(evil)["net.0.weight"].close()  # the payload works: unpickling the file creates the marker
    assert marker.exists()
    marker.unlink()
    path.write_bytes(evil)
    meta["sha256"] = hashlib.sha256(evil).hexdigest()
    path.with_suffix(".json").write_text(json.dumps(meta))
    for way in (path, path.with_suffix(".json"), str(path)):
        with pytest.raises(checkpoints.CheckpointError, match="not a safetensors file.*nothing in it was run"):
            checkpoints.load(way)
    pt = tmp_path / "evil.pt"
    pt.write_bytes(evil)
    pt.with_suffix(".json").write_text(json.dumps(meta))
    with pytest.raises(checkpoints.CheckpointError, match="never loads a .pt file"):
        checkpoints.load(pt)
    with pytest.raises(checkpoints.CheckpointError, match="never loads a .pt file"):
        checkpoints.metadata(pt)
    assert not marker.exists()


def test_an_interrupted_save_leaves_the_old_checkpoint_intact(tmp_path, monkeypatch):
    path = tmp_path / "tiny.safetensors"
    old = tiny()
    checkpoints.save(old, path, steps=1)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    calls = []

    def interrupted_fsync(fd):
        calls.append(fd)
        if len(calls) == 2:  # the weights are on disk in their temporary file; Ctrl-C while writing the metadata
            raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted_fsync)
    with pytest.raises(KeyboardInterrupt):
        checkpoints.save(tiny(), path, steps=2)
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # the same files, no temporary left
    back = checkpoints.load(path, map_location="cpu")
    assert back.meta["steps"] == 1
    assert all(torch.equal(a, b) for a, b in zip(back.state_dict().values(), old.state_dict().values()))


def test_saving_refuses_other_suffixes_foreign_models_and_non_finite_weights(tmp_path):
    with pytest.raises(checkpoints.CheckpointError, match="models.build"):
        checkpoints.save(torch.nn.Linear(2, 2), tmp_path / "x.safetensors")
    with pytest.raises(checkpoints.CheckpointError, match="ending in .safetensors"):
        checkpoints.save(tiny(), tmp_path / "x.pt")
    net = tiny()
    with torch.no_grad():
        next(net.parameters())[0, 0] = float("nan")
    with pytest.raises(checkpoints.CheckpointError, match="NaN or infinite weights; nothing was written"):
        checkpoints.save(net, tmp_path / "x.safetensors")
    assert list(tmp_path.iterdir()) == []


def test_every_shipped_checkpoint_is_a_safetensors_file_with_its_hash():
    for name in checkpoints.names():
        weights, _ = checkpoints._paths(name)
        assert weights.read_bytes()[8:9] == b"{", name  # a safetensors header: 8-byte length, then JSON
        assert hashlib.sha256(weights.read_bytes()).hexdigest() == checkpoints.metadata(name)["sha256"]
