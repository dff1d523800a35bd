"""Checkers for 02_gan_digits."""
import functools
import math

import torch

from .. import data, metrics
from . import Wrong, checker

LATENT = 32


def _shape(got, want):
    if not isinstance(got, torch.Tensor) or tuple(got.shape) != want:
        raise Wrong(f"expected a tensor of shape {want}, got {tuple(getattr(got, 'shape', ())) or type(got).__name__}")


@checker
def check_truncated_noise(answer):
    """answer(n, limit, seed): n latent vectors (n, 32, 1, 1) whose Gaussian entries are redrawn until |z| <= limit."""
    z = answer(4000, 1.0, 0)
    _shape(z, (4000, LATENT, 1, 1))
    if z.abs().max() > 1.0 + 1e-6:
        raise Wrong(f"some entries exceed the limit (largest |z| = {z.abs().max():.3f}); redraw them")
    if (z.abs() > 0.99).float().mean() > 0.02:
        raise Wrong("values pile up at +-limit: that is clamping, which keeps the mass of the tails; "
                    "redraw the entries that are too large instead")
    # A standard Gaussian truncated to [-a, a] has variance 1 - 2 a phi(a) / (2 Phi(a) - 1).
    phi, Phi = math.exp(-0.5) / math.sqrt(2 * math.pi), 0.5 * (1 + math.erf(1 / math.sqrt(2)))
    want_std = math.sqrt(1 - 2 * phi / (2 * Phi - 1))
    if abs(z.std().item() - want_std) > 0.03:
        raise Wrong(f"the spread is {z.std():.3f}, which is not that of a Gaussian truncated at 1: keep the entries "
                    "that are within the limit as they are, redraw only the others from N(0, 1)")
    wide = answer(4000, 10.0, 0)
    if abs(wide.std().item() - 1) > 0.03:
        raise Wrong(f"with a limit of 10 nothing should change (std 1), got std {wide.std():.3f}")
    if torch.equal(answer(100, 1.0, 1), answer(100, 1.0, 0)):
        raise Wrong("different seeds give the same vectors; use torch.Generator().manual_seed(seed)")
    if not torch.equal(answer(100, 1.0, 3), answer(100, 1.0, 3)):
        raise Wrong("the same seed gives different vectors; draw every number from the seeded generator")


@checker
def check_pixel_noise(answer):
    """answer(n, seed): n images (n, 1, 8, 8) in [-1, 1], independent Gaussian pixels with the
    training digits' per-pixel mean and standard deviation (then clamped to [-1, 1])."""
    got = answer(2000, 0)
    _shape(got, (2000, 1, 8, 8))
    if got.min() < -1 or got.max() > 1:
        raise Wrong("values must lie in [-1, 1]: clamp after sampling")
    images, _ = data.digits(split="train")
    mean, std = images.mean(0), images.std(0)
    want = (mean + std * torch.randn(20000, 1, 8, 8, generator=torch.Generator().manual_seed(1))).clamp(-1, 1)
    mean_off = (got.mean(0) - want.mean(0)).abs().max().item()
    std_off = (got.std(0) - want.std(0)).abs().max().item()
    if mean_off > 0.1 and std_off > 0.1:
        raise Wrong(f"both the per-pixel means and the per-pixel spreads differ from the training digits' "
                    f"(by up to {mean_off:.2f} and {std_off:.2f}). A wrong spread alone can cause both: clamping "
                    "to [-1, 1] cuts one side more than the other and moves the mean. Use one mean and one "
                    "standard deviation per pixel, images.mean(0) and images.std(0) of split='train', then clamp")
    if mean_off > 0.1:
        raise Wrong(f"the per-pixel means differ from the training digits' (by up to {mean_off:.2f}): centre "
                    "each pixel's Gaussian on images.mean(0) (split='train'), one mean per pixel")
    if std_off > 0.1:
        raise Wrong(f"the per-pixel spreads differ from those of the training digits (by up to {std_off:.2f}): "
                    "scale unit Gaussian noise by images.std(0) (a standard deviation per pixel, not a "
                    "variance), add images.mean(0), then clamp")
    if torch.equal(got, answer(2000, 1)):
        raise Wrong("different seeds give the same images; use torch.Generator().manual_seed(seed)")
    if not torch.equal(got, answer(2000, 0)):
        raise Wrong("the same seed gives different images; draw with a torch.Generator seeded by `seed`")


def reference_floor(feats, n, repeats=800, seed=1):
    """Mean Frechet distance between two disjoint random sets of n rows of feats, over `repeats` splits."""
    g = torch.Generator().manual_seed(seed)
    values = []
    for _ in range(repeats):
        order = torch.randperm(len(feats), generator=g)
        values.append(metrics.frechet_distance(feats[order[:n]], feats[order[n:2 * n]]))
    return sum(values) / repeats


@functools.lru_cache(maxsize=1)
def _held_out_features():
    return metrics.features(data.digits(split="test")[0])


@functools.lru_cache(maxsize=4)
def _held_out_floor(n):
    return reference_floor(_held_out_features(), n)


def _number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        raise Wrong(f"return one number, got {type(value).__name__}") from None


@checker
def check_floor(answer):
    """answer(feats, n, repeats, seed): mean FD between two disjoint random sets of n rows of feats.

    Called with many repeats, so that the answer's own sampling noise is small (about 2%); the
    tolerance is 10%."""
    feats = _held_out_features()
    got = {}
    for n in (60, 180):
        got[n] = _number(answer(feats, n, 200, 0))
        want = _held_out_floor(n)
        if got[n] < 0.05 * want:
            raise Wrong(f"floor(feats, {n}, ...) = {got[n]:.3g}, nearly zero: are both sets the same digits? "
                        "Take the first n and the next n rows of one random permutation")
        if abs(got[n] - want) > 0.1 * want:
            raise Wrong(f"floor(feats, {n}, 200, 0) = {got[n]:.1f} is off by more than 10%. Compare two "
                        "disjoint sets of n rows of `feats` with metrics.frechet_distance, and average over "
                        "`repeats` random splits")
    if not got[60] > got[180]:
        raise Wrong("smaller sets should give a larger floor (a noisier estimate); check that n is used")
    doubled = _number(answer(2 * feats, 60, 5, 0))
    if abs(doubled - 4 * _number(answer(feats, 60, 5, 0))) > 1e-6 * doubled:
        raise Wrong("floor(2 * feats, ...) should be exactly 4 times floor(feats, ...) with the same seed: "
                    "compute the distance on the `feats` you are given, not on other features")
    singles = {_number(answer(feats, 60, 1, seed)) for seed in range(3)}
    if len(singles) == 1:
        raise Wrong("different seeds give the same floor; draw the splits with torch.Generator().manual_seed(seed)")
    if _number(answer(feats, 60, 3, 5)) != _number(answer(feats, 60, 3, 5)):
        raise Wrong("the same seed gives different floors; draw every split from the seeded generator")
