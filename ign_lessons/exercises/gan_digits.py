"""Checkers for 02_gan_digits."""
import math

import torch

from .. import data, metrics, quality
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
        raise Wrong(f"the spread is {z.std():.3f}, expected {want_std:.3f} for limit 1: keep the entries "
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
    if (got.mean(0) - want.mean(0)).abs().max() > 0.1:
        raise Wrong("the per-pixel means differ from the training digits': centre each pixel's Gaussian "
                    "on images.mean(0) (split='train')")
    if (got.std(0) - want.std(0)).abs().max() > 0.1:
        raise Wrong("the per-pixel spreads differ from those of the training digits: scale unit Gaussian "
                    "noise by images.std(0), add images.mean(0), then clamp")
    if torch.equal(got, answer(2000, 1)):
        raise Wrong("different seeds give the same images; use torch.Generator().manual_seed(seed)")
    if not torch.equal(got, answer(2000, 0)):
        raise Wrong("the same seed gives different images; draw with a torch.Generator seeded by `seed`")


def reference_floor(n, repeats=20, seed=0):
    """Mean Frechet distance between two disjoint random sets of n held-out digits (classifier features)."""
    feats = quality.features(data.digits(split="test")[0])
    g = torch.Generator().manual_seed(seed)
    values = []
    for _ in range(repeats):
        order = torch.randperm(len(feats), generator=g)
        values.append(metrics.frechet_distance(feats[order[:n]], feats[order[n:2 * n]]))
    return sum(values) / repeats


@checker
def check_floor(answer):
    """answer(n, repeats, seed): mean FD between two disjoint random sets of n held-out digits' features."""
    got = {}
    for n in (60, 180):
        value = answer(n, 10, 0)
        try:
            got[n] = float(value)
        except (TypeError, ValueError):
            raise Wrong(f"return one number, got {type(value).__name__}") from None
        want = reference_floor(n)
        if got[n] < 0.05 * want:
            raise Wrong(f"floor({n}) = {got[n]:.3g}, nearly zero: are both sets the same digits? "
                        "Take the first n and the next n of one random permutation")
        if abs(got[n] - want) > 0.2 * want:
            raise Wrong(f"floor({n}) = {got[n]:.1f}, expected about {want:.1f}. Use the classifier's features "
                        "(quality.features) of data.digits(split='test'), two disjoint sets of n, and "
                        "metrics.frechet_distance, averaged over `repeats` random splits")
    if not got[60] > got[180]:
        raise Wrong("smaller sets should give a larger floor (a noisier estimate); check that n is used")
