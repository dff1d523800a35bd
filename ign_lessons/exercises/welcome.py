"""Checkers for 00_welcome."""
import torch

from .. import data
from . import Wrong, checker


@checker
def check_class_means(answer):
    """answer(): the mean image of each digit class, a tensor (10, 1, 8, 8), row k for class k."""
    got = answer()
    images, labels = data.digits()
    if not isinstance(got, torch.Tensor):
        raise Wrong(f"got a {type(got).__module__}.{type(got).__name__}; return a torch tensor")
    if got.shape != (10, 1, 8, 8):
        raise Wrong(f"expected shape (10, 1, 8, 8), got {tuple(got.shape)}")
    want = torch.stack([images[labels == k].mean(0) for k in range(10)])
    if not torch.allclose(got, want, atol=1e-5):
        worst = (got - want).flatten(1).abs().max(1).values.argmax().item()
        raise Wrong(f"the mean image of class {worst} is off; select images with labels == k")


@checker
def check_ring_sampler(answer):
    """answer(n, seed): n points of 8 Gaussians of std 0.05 on a circle of radius 2."""
    pts = answer(4000, 0)
    if not isinstance(pts, torch.Tensor):
        raise Wrong(f"got a {type(pts).__module__}.{type(pts).__name__}; return a torch tensor")
    if pts.shape != (4000, 2):
        raise Wrong(f"expected shape (4000, 2), got {tuple(pts.shape)}")
    modes = data.toy2d_modes("ring")
    dist = torch.cdist(pts.float(), modes)
    if dist.min(1).values.mean() > 0.15:
        raise Wrong("points are too far from the 8 centres at radius 2 (angles k * 2 pi / 8)")
    shares = torch.bincount(dist.argmin(1), minlength=8).float() / len(pts)
    if shares.min() < 0.08:
        raise Wrong(f"modes are not equally likely: shares {[round(s, 3) for s in shares.tolist()]}")
    spread = (pts - modes[dist.argmin(1)]).std().item()
    if not 0.03 < spread < 0.07:
        raise Wrong(f"the spread around each centre is {spread:.3f}; it should be about 0.05")
    if not torch.equal(pts, answer(4000, 0)):
        raise Wrong("the same seed gives different points; draw from torch.Generator().manual_seed(seed)")
    if torch.equal(pts, answer(4000, 1)):
        raise Wrong("different seeds give the same points; use torch.Generator().manual_seed(seed)")
