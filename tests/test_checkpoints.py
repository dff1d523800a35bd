import pytest
import torch

from ign_lessons import checkpoints, models


def test_roundtrip_keeps_weights_and_metadata(tmp_path):
    net = models.build("mlp-ign", hidden=8, depth=1)
    meta = checkpoints.save(net, tmp_path / "tiny.pt", config={"lr": 1e-3}, seed=1, steps=5,
                            metrics={"rec": 0.1})
    back = checkpoints.load(tmp_path / "tiny.pt", map_location="cpu")
    x = torch.randn(4, 2)
    assert torch.equal(back(x), net(x))
    assert back.meta["sha256"] == meta["sha256"] and back.meta["config"] == {"lr": 1e-3}
    assert not back.training


def test_damaged_missing_and_mismatched_checkpoints_fail_clearly(tmp_path):
    net = models.build("mlp-ign", hidden=8, depth=1)
    checkpoints.save(net, tmp_path / "tiny.pt")
    weights = tmp_path / "tiny.pt"
    weights.write_bytes(weights.read_bytes() + b"x")
    with pytest.raises(checkpoints.CheckpointError, match="damaged.*expected"):
        checkpoints.load(weights)
    with pytest.raises(checkpoints.CheckpointError, match="No checkpoint"):
        checkpoints.load("no-such-model")
    checkpoints.save(net, tmp_path / "other.pt")
    other = models.build("mlp-ign", hidden=16, depth=1)
    torch.save(other.state_dict(), tmp_path / "other.pt")
    meta = (tmp_path / "other.json")
    import hashlib
    import json
    m = json.loads(meta.read_text())
    m["sha256"] = hashlib.sha256((tmp_path / "other.pt").read_bytes()).hexdigest()
    meta.write_text(json.dumps(m))
    with pytest.raises(checkpoints.CheckpointError, match="does not fit the architecture"):
        checkpoints.load(tmp_path / "other")


def test_only_spec_models_can_be_saved(tmp_path):
    with pytest.raises(checkpoints.CheckpointError, match="models.build"):
        checkpoints.save(torch.nn.Linear(2, 2), tmp_path / "x.pt")
