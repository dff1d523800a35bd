import pytest
import torch

from ign_lessons import data, models, train


@pytest.mark.parametrize("bad, words", [
    ([[0.0, 1.0]], "torch.Tensor"),
    (torch.zeros(10, 3), "shape"),
    (torch.zeros(1, 2), "at least 2"),
    (torch.tensor([[0.0, float("nan")], [1.0, 1.0]]), "NaN"),
    (torch.zeros(4, 1, 6, 6), "power of two"),
])
def test_bad_samples_are_refused_with_a_fix(bad, words):
    with pytest.raises(train.TrainingError, match=words):
        train.train_ign(bad, steps=1, progress=False)


def test_trainers_accept_points_and_images():
    points = data.toy2d("moons", 64)
    images = data.digits()[0][:64]
    for samples in (points, images):
        f, h = train.train_ign(samples, steps=3, batch=16, progress=False)
        assert models.sample(f, 5).shape == (5, *samples.shape[1:])
        assert len(h["rec"]) == 3
        G, D, h = train.train_gan(samples, steps=3, batch=16, progress=False)
        assert models.sample(G, 5).shape == (5, *samples.shape[1:])
        G, A, h = train.train_split_ign(samples, steps=2, batch=16, progress=False)
        G, A, h = train.train_ebgan(samples, steps=2, batch=16, progress=False)
        assert set(h) == {"d_loss", "g_loss"}


def test_a_diverging_run_stops_and_keeps_finite_weights():
    points = data.toy2d("ring", 256)
    f, h = train.train_ign(points, steps=200, lr=1e6, progress=False)
    assert h.stopped and "non-finite" in h.stopped
    assert all(torch.isfinite(p).all() for p in f.parameters())
    assert len(h["loss"]) < 200
