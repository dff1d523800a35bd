"""Numbers that judge samples: 2D mode coverage and quality, idempotence and reconstruction errors."""
import torch

from . import data
from .losses import per_sample_distance
from .quality import DigitsQuality, digits_quality, frechet_distance  # noqa: F401  (the digits metric)


def mode_coverage(samples, name="ring", radius=None, min_share=0.01):
    """How well 2D samples cover a mixture's modes (data sets 'ring' and 'grid').

    A sample is *near* a mode when within `radius` (default 3 standard deviations of the data
    noise, at least 0.1); a mode is *covered* when it holds at least `min_share` of the samples.
    Returns {"modes": covered count, "of": number of modes, "near": share of samples near a mode,
    "shares": share of samples at each mode}."""
    modes = data.toy2d_modes(name)
    if modes is None:
        raise ValueError(f"{name!r} has no discrete modes; use metrics.near_data for it.")
    samples = samples.detach().float().cpu()
    radius = radius or max(3 * data.DEFAULT_NOISE[name], 0.1)
    dist = torch.cdist(samples, modes)
    near = dist.min(1).values < radius
    shares = torch.bincount(dist.argmin(1)[near], minlength=len(modes)).float() / len(samples)
    return {"modes": int((shares >= min_share).sum()), "of": len(modes),
            "near": float(near.float().mean()), "shares": shares.tolist()}


def near_data(samples, reference, radius=0.15):
    """Share of samples within `radius` of some reference point (a quality score for any 2D set)."""
    dist = torch.cdist(samples.detach().float().cpu(), reference.float().cpu())
    return float((dist.min(1).values < radius).float().mean())


@torch.no_grad()
def idempotence_error(f, z, kind="l1"):
    """Mean d(f(f(z)), f(z)): zero when f is idempotent on its own outputs."""
    fz = f(z)
    return float(per_sample_distance(f(fz), fz, kind).mean())


@torch.no_grad()
def reconstruction_error(f, x, kind="l1"):
    """Mean d(f(x), x): zero when every real sample is a fixed point."""
    return float(per_sample_distance(f(x), x, kind).mean())
