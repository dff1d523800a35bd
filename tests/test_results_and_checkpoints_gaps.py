"""The mutation-testing gaps of results.py and checkpoints.py (python3 course.py mutate, docs/mutation.md):
what a results file holds and where it goes, and every way of loading a checkpoint (a shipped name, a
.safetensors or .json path, a str) checked for integrity and for an exact match of its weights."""
import hashlib
import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load as load_weights
from safetensors.torch import save as weights_bytes

from ign_lessons import checkpoints, models, results
from ign_lessons.runtime import CourseError, data_folder

# --- results -------------------------------------------------------------------------------------------


def test_results_save_writes_the_record_where_it_is_told_and_load_reads_it_back(tmp_path):
    target = tmp_path / "new" / "deeper" / "study.json"
    assert results.save(target, {"fd": [1.5, 2]}, config={"seed": 3}) == target
    text = target.read_text()
    record = json.loads(text)
    assert text.endswith("}\n") and text.startswith('{\n  "name"'), "indented JSON with a final newline"
    assert record["name"] == "study" and record["config"] == {"seed": 3} and record["results"] == {"fd": [1.5, 2]}
    assert record["torch"] == torch.__version__ and set(record) == {"name", "config", "results", "torch", "python",
                                                                     "created"}
    results.save(tmp_path / "bare.json", [1])
    assert json.loads((tmp_path / "bare.json").read_text())["config"] == {}
    assert results.load("study", root=tmp_path / "new" / "deeper") == record
    assert results.path("compare-2d") == data_folder() / "results" / "compare-2d.json"


def test_results_load_names_what_is_missing_and_what_is_damaged(tmp_path):
    results.save(tmp_path / "b.json", 1)
    results.save(tmp_path / "a.json", 2)
    with pytest.raises(FileNotFoundError, match=r"No study results 'c' .*Shipped: a, b\. Regenerate"):
        results.load("c", root=tmp_path)
    with pytest.raises(FileNotFoundError, match="Shipped: none"):
        results.load("c", root=tmp_path / "empty")
    (tmp_path / "a.json").write_text('{"cut off')
    with pytest.raises(CourseError, match=r"a\.json cannot be read \(JSONDecodeError.*git checkout -- .*a\.json"):
        results.load("a", root=tmp_path)
    shipped = sorted((data_folder() / "results").glob("*.json"))[0]
    assert results.load(shipped.stem) == json.loads(shipped.read_text())


def test_save_run_is_atomic_and_load_runs_reads_every_run_sorted(tmp_path):
    runs = tmp_path / "study"
    assert results.save_run(tmp_path / "x" / "y" / "z.json", {}) == tmp_path / "x" / "y" / "z.json"
    for key in ("b", "a", "c"):
        assert results.save_run(runs / f"{key}.json", {"key": key}) == runs / f"{key}.json"
    assert sorted(p.name for p in runs.iterdir()) == ["a.json", "b.json", "c.json"], "no .partial file is left"
    assert (runs / "a.json").read_text() == '{\n "key": "a"\n}\n'
    assert [r["key"] for r in results.load_runs("study", root=tmp_path)] == ["a", "b", "c"]
    (runs / "b.json").write_text("{")
    with pytest.raises(CourseError, match=r"b\.json cannot be read.*Delete it to rerun that run"):
        results.load_runs("study", root=tmp_path)
    with pytest.raises(FileNotFoundError, match=r"course\.py study other`"):
        results.load_runs("other", root=tmp_path)
    with pytest.raises(FileNotFoundError, match=r"course\.py study other --fast`"):
        results.load_runs("other-fast", root=tmp_path)


def test_load_runs_reads_the_shipped_run_files_by_default():
    runs = results.load_runs("compare-2d-fast")
    files = sorted((data_folder() / "results" / "compare-2d-fast").glob("*.json"))
    assert len(runs) == len(files) > 0 and runs[0] == json.loads(files[0].read_text())


def test_points_are_encoded_with_two_decimals_and_clipped_and_decoded_back():
    points = torch.tensor([[1.234, -5.678], [float("nan"), float("inf")], [float("-inf"), 1e9], [-1e9, 0.006]],
                          requires_grad=True)
    text = results.encode_points(points)
    assert text == "1.23,-5.68 99.00,99.00 -99.00,99.00 -99.00,0.01"
    want = torch.tensor([[1.23, -5.68], [99.0, 99.0], [-99.0, 99.0], [-99.0, 0.01]])
    assert torch.equal(results.decode_points(text), want)
    assert results.decode_points(text).shape == (4, 2)


# --- checkpoints ---------------------------------------------------------------------------------------

def _file_tensors(name_or_path):
    weights, _ = checkpoints._paths(name_or_path)
    return load_weights(weights.read_bytes())


@pytest.mark.parametrize("name", checkpoints.names())
def test_every_shipped_checkpoint_loads_exactly_the_weights_its_file_holds(name):
    model = checkpoints.load(name, map_location="cpu")
    held = _file_tensors(name)
    state = model.state_dict()
    assert set(state) == set(held) and all(torch.equal(state[k], held[k]) for k in held), name
    assert model.meta == checkpoints.metadata(name) and not model.training
    assert model.spec == model.meta["model"] and next(model.parameters()).device.type == "cpu"


def test_a_checkpoint_loads_the_same_by_path_json_path_and_str(tmp_path):
    torch.manual_seed(0)
    net = models.build("mlp-ign", hidden=8, depth=1)
    temporaries, replace = [], checkpoints.os.replace

    def spy(source, target):
        temporaries.append((Path(source), Path(target)))
        replace(source, target)

    checkpoints.os.replace = spy
    try:
        checkpoints.save(net, tmp_path / "a" / "b" / "tiny.safetensors")
    finally:
        checkpoints.os.replace = replace
    for temporary, target in temporaries:  # written beside the target, hidden, marked as partial
        assert temporary.parent == target.parent and temporary.name.startswith(f".{target.name}.")
        assert temporary.name.endswith(".part")
    meta = checkpoints.save(net, tmp_path / "tiny.safetensors", seed=4, steps=9, metrics={"rec": 0.5})
    for way in (tmp_path / "tiny.safetensors", tmp_path / "tiny.json", str(tmp_path / "tiny.safetensors")):
        back = checkpoints.load(way, map_location="cpu")
        assert all(torch.equal(a, b) for a, b in zip(back.state_dict().values(), net.state_dict().values()))
        assert back.meta == meta == checkpoints.metadata(way)
    text = (tmp_path / "tiny.json").read_text()
    assert text.startswith('{\n  "name": "tiny",\n') and text.endswith("}\n")
    written = json.loads(text)
    content = (tmp_path / "tiny.safetensors").read_bytes()
    assert written == meta and meta["sha256"] == hashlib.sha256(content).hexdigest()
    assert (meta["name"], meta["seed"], meta["steps"], meta["metrics"], meta["config"]) == ("tiny", 4, 9, {"rec": 0.5},
                                                                                           {})
    assert meta["model"] == net.spec and meta["parameters"] == models.count_parameters(net)
    assert checkpoints._embedded_spec(content) == net.spec, "the weights file carries its own spec"


@pytest.fixture
def shipped(tmp_path, monkeypatch):
    """A shipped folder in tmp_path, holding a copy of the shipped 'ign-2d-ring'."""
    for suffix in (".json", ".safetensors"):
        shutil.copy(checkpoints.folder() / f"ign-2d-ring{suffix}", tmp_path / f"ign-2d-ring{suffix}")
    monkeypatch.setattr(checkpoints, "folder", lambda: tmp_path)
    return tmp_path / "ign-2d-ring.safetensors"


def test_a_shipped_name_is_checked_for_integrity_like_a_path(shipped):
    assert checkpoints.names() == ["ign-2d-ring"] and checkpoints._paths("ign-2d-ring")[0] == shipped
    good = shipped.read_bytes()
    shipped.write_bytes(good[:-4])
    with pytest.raises(checkpoints.CheckpointError, match=r"damaged \(shorter than its header says.*git checkout"):
        checkpoints.load("ign-2d-ring")
    shipped.write_bytes(good[:-1] + bytes([good[-1] ^ 1]))
    with pytest.raises(checkpoints.CheckpointError, match=r"is damaged: SHA-256 .*git checkout") as error:
        checkpoints.load("ign-2d-ring")
    assert "shorter" not in str(error.value), "a changed byte is not a cut-off file"
    shipped.write_bytes(good + b"\0")
    with pytest.raises(checkpoints.CheckpointError, match=r"is damaged: SHA-256"):
        checkpoints.load("ign-2d-ring")
    shipped.unlink()
    with pytest.raises(checkpoints.CheckpointError, match=r"is missing\. Restore it with `git checkout"):
        checkpoints.load("ign-2d-ring")


def test_a_user_checkpoint_that_is_damaged_is_to_be_saved_again(tmp_path):
    path = tmp_path / "mine.safetensors"
    checkpoints.save(models.build("mlp-ign", hidden=8, depth=1), path)
    path.write_bytes(path.read_bytes()[:-4])
    with pytest.raises(checkpoints.CheckpointError, match=r"cut off.*Save the model again"):
        checkpoints.load(path)


@pytest.mark.parametrize("change", ["extra", "missing", "shape"])
def test_weights_that_do_not_match_the_architecture_exactly_are_refused(tmp_path, change):
    torch.manual_seed(0)
    net = models.build("mlp-ign", hidden=8, depth=1)
    state = {k: v.contiguous() for k, v in net.state_dict().items()}
    first = next(iter(state))
    if change == "extra":
        state["extra.weight"] = torch.zeros(2)
    elif change == "missing":
        del state[first]
    else:
        state[first] = torch.zeros(3, 3)
    content = weights_bytes(state)  # no spec in the header: only the shapes can tell
    path = tmp_path / "odd.safetensors"
    path.write_bytes(content)
    meta = {"model": net.spec, "sha256": hashlib.sha256(content).hexdigest()}
    path.with_suffix(".json").write_text(json.dumps(meta))
    with pytest.raises(checkpoints.CheckpointError, match="does not fit the architecture"):
        checkpoints.load(path)


def test_paths_of_names_and_files_and_refused_forms(tmp_path):
    folder = checkpoints.folder()
    assert checkpoints._paths("ign-digits") == (folder / "ign-digits.safetensors", folder / "ign-digits.json")
    assert checkpoints._paths(tmp_path / "a.json") == (tmp_path / "a.safetensors", tmp_path / "a.json")
    for bad in ("a.txt", "sub/name", tmp_path / "name"):
        with pytest.raises(checkpoints.CheckpointError, match="name a shipped checkpoint"):
            checkpoints._paths(bad)
    for suffix in (".pt", ".pth", ".pkl", ".bin"):
        with pytest.raises(checkpoints.CheckpointError, match="never loads"):
            checkpoints._paths(f"x{suffix}")


@pytest.mark.parametrize("asked, meant", [("ring-ign-2d", "'ign-2d-ring'"), ("ign_2d_ring", "'ign-2d-ring'"),
                                          ("mnist", "'mnist-classifier' or 'mnist-gan' or 'mnist-ign'"),
                                          ("ign-digit", "'ign-digits'")])
def test_a_missing_name_suggests_the_shipped_one_meant(asked, meant):
    with pytest.raises(checkpoints.CheckpointError, match=f"did you mean {meant}\\?"):
        checkpoints.metadata(asked)


def test_a_name_with_nothing_close_lists_the_shipped_ones_and_a_header_that_is_not_a_dict_is_empty():
    with pytest.raises(checkpoints.CheckpointError, match=r"\(.*zzzz\.json is missing\)\. Shipped: digit-classifier"):
        checkpoints.metadata("zzzz")
    a_list = b"\x02" + bytes(7) + b"[]"
    assert checkpoints._header(a_list) == {} and not checkpoints._cut_off(a_list)


def test_save_into_a_folder_path_says_so(tmp_path):
    (tmp_path / "x.safetensors").mkdir()
    with pytest.raises(checkpoints.CheckpointError, match="that path is a folder"):
        checkpoints.save(models.build("mlp-ign", hidden=8, depth=1), tmp_path / "x.safetensors")
    assert [p.name for p in tmp_path.iterdir()] == ["x.safetensors"]
