import pytest
import torch

from ign_lessons import data, models, runtime, train


@pytest.mark.parametrize("bad, words", [
    ([[0.0, 1.0]], "torch.Tensor"),
    (torch.zeros(10, 3), "shape"),
    (torch.zeros(1, 2), "at least 2"),
    (torch.tensor([[0.0, float("nan")], [1.0, 1.0]]), "NaN"),
    (torch.zeros(4, 1, 9, 9), "4 to 7 times a power of two"),
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


POINTS, DIGITS = data.toy2d("ring", 128), data.digits()[0][:128]
TRAINERS = {
    "gan": lambda seed: train.train_gan(POINTS, steps=6, batch=16, seed=seed, progress=False),
    "gan energy + r1": lambda seed: train.train_gan(POINTS, steps=6, batch=16, seed=seed, loss="energy", r1=1.0,
                                                    d_steps=2, progress=False),
    "gan digits": lambda seed: train.train_gan(DIGITS, steps=3, batch=16, seed=seed, progress=False),
    "ign": lambda seed: train.train_ign(POINTS, steps=6, batch=16, seed=seed, progress=False),
    "ign clamp + coverage + noise": lambda seed: train.train_ign(
        POINTS, steps=6, batch=16, seed=seed, clamp=1.5, coverage=5.0, real_noise=0.1, progress=False),
    "ign digits": lambda seed: train.train_ign(DIGITS, steps=3, batch=16, seed=seed, progress=False),
    "split ign": lambda seed: train.train_split_ign(POINTS, steps=6, batch=16, seed=seed, progress=False),
    "ebgan": lambda seed: train.train_ebgan(POINTS, steps=6, batch=16, seed=seed, progress=False),
    "self gan": lambda seed: train.train_self_gan(POINTS, lambda a, b: (a - b).abs().mean(1), steps=6,
                                                  weights=(20, 20, 1), seed=seed, batch=16, progress=False),
    "classifier": lambda seed: train.train_classifier(steps=3, batch=16, seed=seed, progress=False),
}


def _weights(nets):
    return [t.clone() for net in nets for t in net.state_dict().values()]


@pytest.mark.parametrize("name", TRAINERS)
def test_the_same_seed_gives_the_same_run_and_another_seed_another(name):
    with runtime.threads(1):
        runs = [TRAINERS[name](seed) for seed in (3, 3, 4)]
    same, again, other = (_weights(run[:-1]) for run in runs)
    assert dict(runs[0][-1]) == dict(runs[1][-1]), f"{name}: seed 3 twice gave different histories"
    assert all(torch.equal(a, b) for a, b in zip(same, again)), f"{name}: seed 3 twice gave different weights"
    assert not all(torch.equal(a, b) for a, b in zip(same, other)), f"{name}: seeds 3 and 4 gave the same weights"
    if name != "classifier":
        generator = runs[0][0]
        with runtime.threads(1):
            drawn = [models.sample(generator, 8, seed=1) for _ in range(2)]
        assert torch.equal(*drawn), f"{name}: the same model and sampling seed gave different samples"
