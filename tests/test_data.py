import shutil

import pytest
import torch

from ign_lessons import data, runtime


def test_digits_range_shape_and_labels():
    images, labels = data.digits()
    assert images.shape == (1797, 1, 8, 8) and labels.shape == (1797,)
    assert images.min() == -1 and images.max() == 1
    assert set(labels.tolist()) == set(range(10))


def test_digit_splits_are_disjoint_fixed_and_resizable():
    train, _ = data.digits(split="train")
    test, _ = data.digits(split="test")
    assert len(train) + len(test) == 1797
    assert torch.equal(test, data.digits(split="test")[0])
    rows = {tuple(r.tolist()) for r in train.flatten(1)}
    overlap = sum(tuple(r.tolist()) in rows for r in test.flatten(1))
    assert overlap < 10  # only digits whose 8x8 bitmaps happen to coincide
    assert data.digits(size=16)[0].shape == (1797, 1, 16, 16)


@pytest.mark.parametrize("name", data.TOY2D)
def test_toy2d_shapes_seeds_and_noise(name):
    a = data.toy2d(name, 500, seed=3)
    assert a.shape == (500, 2) and a.dtype == torch.float32 and torch.isfinite(a).all()
    assert torch.equal(a, data.toy2d(name, 500, seed=3))
    assert not torch.equal(a, data.toy2d(name, 500, seed=4))
    assert data.toy2d(name, 500, seed=3, noise=0.5).std() > data.toy2d(name, 500, seed=3, noise=0).std() * 1.02


def test_ring_samples_sit_on_their_modes():
    points, modes = data.toy2d("ring", 2000, noise=0.02), data.toy2d_modes("ring")
    assert torch.cdist(points, modes).min(1).values.max() < 0.15
    assert len(modes) == 8 and len(data.toy2d_modes("grid")) == 25


@pytest.mark.parametrize("call, words", [
    (lambda: data.toy2d("rings", 10), "choose one of"),
    (lambda: data.toy2d("ring", 0), "positive whole number"),
    (lambda: data.toy2d("ring", 2.5), "positive whole number"),
    (lambda: data.toy2d("ring", 10, noise=-1), "noise"),
    (lambda: data.digits(size=4), "size"),
    (lambda: data.digits(split="validation"), "split"),
])
def test_bad_requests_say_what_to_do(call, words):
    with pytest.raises(data.DataError, match=words):
        call()


def test_damaged_or_missing_digits_file_names_the_fix(tmp_path, monkeypatch):
    copy = tmp_path / "digits"
    copy.mkdir()
    original = runtime.data_folder() / data.DIGITS_FILE
    target = copy / original.name
    shutil.copy(original, target)
    monkeypatch.setattr(data, "data_folder", lambda: tmp_path)
    target.write_bytes(original.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(data.DataError, match=f"expected {data.DIGITS_SHA256}.*git checkout"):
        data.digits()
    assert target.exists()  # the loader never deletes or rewrites data
    target.unlink()
    with pytest.raises(data.DataError, match="missing"):
        data.digits()
    assert original.exists()
