"""Each checker of 02_gan_digits accepts the worked solution and rejects typical mistakes."""
import pytest
import torch

from ign_lessons import data, metrics
from ign_lessons.exercises import Wrong
from ign_lessons.exercises import gan_digits as checks


def stub(*args):
    raise NotImplementedError


def solution_truncated(n, limit, seed):
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, 32, 1, 1, generator=g)
    while (too_big := z.abs() > limit).any():
        z[too_big] = torch.randn(int(too_big.sum()), generator=g)
    return z


def test_truncated_noise():
    assert checks.check_truncated_noise(solution_truncated)
    assert checks.check_truncated_noise(stub).status == "not attempted"
    seeded = lambda seed: torch.Generator().manual_seed(seed)
    for wrong, words in [
        (lambda n, limit, seed: torch.randn(n, 32, generator=seeded(seed)), "shape"),
        (lambda n, limit, seed: torch.randn(n, 32, 1, 1, generator=seeded(seed)).clamp(-limit, limit), "pile up"),
        (lambda n, limit, seed: solution_truncated(n, limit, seed) * 0.5, "spread"),
        (lambda n, limit, seed: solution_truncated(n, limit, 0), "different seeds"),
    ]:
        with pytest.raises(Wrong, match=words):
            checks.check_truncated_noise.strict(wrong)


def solution_noise(n, seed):
    images, _ = data.digits(split="train")
    g = torch.Generator().manual_seed(seed)
    return (images.mean(0) + images.std(0) * torch.randn(n, 1, 8, 8, generator=g)).clamp(-1, 1)


def test_pixel_noise():
    assert checks.check_pixel_noise(solution_noise)
    images, _ = data.digits(split="train")
    seeded = lambda seed: torch.Generator().manual_seed(seed)
    gaussian = lambda n, seed: torch.randn(n, 1, 8, 8, generator=seeded(seed))
    for wrong, words in [
        (lambda n, seed: solution_noise(n, seed) * 1.5, r"\[-1, 1\]"),
        (lambda n, seed: torch.rand(n, 1, 8, 8, generator=seeded(seed)) * 2 - 1, "means"),
        # one mean for all pixels; one spread for all pixels (clamping then moves the means too);
        # a variance in place of a standard deviation
        (lambda n, seed: (images.mean() + images.std(0) * gaussian(n, seed)).clamp(-1, 1),
         "the per-pixel means differ"),
        (lambda n, seed: (images.mean(0) + images.std() * gaussian(n, seed)).clamp(-1, 1),
         "spreads differ .* wrong spread"),
        (lambda n, seed: (images.mean(0) + images.var(0) * gaussian(n, seed)).clamp(-1, 1),
         "the per-pixel spreads differ"),
        (lambda n, seed: solution_noise(n, 0), "different seeds"),
    ]:
        with pytest.raises(Wrong, match=words):
            checks.check_pixel_noise.strict(wrong)


def solution_floor(feats, n, repeats=10, seed=0):
    return checks.reference_floor(feats, n, repeats, seed)


def test_floor():
    assert checks.check_floor(solution_floor)
    # A correct answer that draws its splits differently passes too: the tolerance covers sampling noise.
    assert checks.check_floor(lambda feats, n, repeats, seed: solution_floor(feats, n, repeats, seed + 100))
    assert checks.check_floor(stub).status == "not attempted"
    train_feats = metrics.features(data.digits(split="train")[0])
    pixels = data.digits(split="test")[0].flatten(1).double()
    for wrong, words in [
        (lambda feats, n, repeats, seed: metrics.frechet_distance(feats[:n], feats[:n]), "same digits"),
        (lambda feats, n, repeats, seed: metrics.frechet_distance(pixels[:n], pixels[n:2 * n]), "off by more than 10%"),
        (lambda feats, n, repeats, seed: solution_floor(feats, 180, repeats, seed), "off by more than 10%"),
        (lambda feats, n, repeats, seed: solution_floor(feats[:n], n // 2, repeats, seed), "off by more than 10%"),
        (lambda feats, n, repeats, seed: solution_floor(train_feats, n, repeats, seed), "the `feats` you are given"),
        (lambda feats, n, repeats, seed: solution_floor(feats, n, repeats, 0), "different seeds"),
    ]:
        with pytest.raises(Wrong, match=words):
            checks.check_floor.strict(wrong)
