"""Numbers that judge samples: 2D mode coverage and quality, idempotence and reconstruction errors."""
import torch

from . import data, models
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


def mode_shares(samples, name="ring"):
    """Share of 2D samples whose *nearest* mode is each mode, however far: where the mass sits."""
    modes = data.toy2d_modes(name)
    if modes is None:
        raise ValueError(f"{name!r} has no discrete modes; choose 'ring' or 'grid'.")
    nearest = torch.cdist(samples.detach().float().cpu(), modes).argmin(1)
    return (torch.bincount(nearest, minlength=len(modes)).float() / len(samples)).tolist()


def oscillation(shares_over_time):
    """How much of the generated mass changes mode between successive snapshots.

    `shares_over_time`: one row of mode shares (e.g. `mode_shares`) per snapshot. Returns the mean
    total-variation distance between consecutive rows: 0 when the distribution holds still,
    1 when all of the mass moves to other modes at every snapshot."""
    rows = torch.as_tensor(shares_over_time, dtype=torch.float32)
    if rows.dim() != 2 or len(rows) < 2:
        raise ValueError(f"need at least two snapshots of mode shares (a 2D table), got shape {tuple(rows.shape)}.")
    return float(0.5 * (rows[1:] - rows[:-1]).abs().sum(1).mean())


class ModeTrace:
    """A training callback that follows a 2D generator: `callback(step, history)` for train.train_gan.

    Each call samples G on the same `n` z's and records the step, the nearest-mode shares
    (`mode_shares`), the covered modes and near share (`mode_coverage`) and the samples' mean."""

    def __init__(self, G, name="ring", n=1000, seed=0):
        self.G, self.name = G, name
        self.z = models.noise(G.latent_shape, n, seed)
        self.steps, self.shares, self.modes, self.near, self.means = [], [], [], [], []

    @torch.no_grad()
    def __call__(self, step, history=None):
        was_training = self.G.training
        self.G.eval()
        fake = self.G(self.z.to(next(self.G.parameters()).device)).cpu()
        self.G.train(was_training)
        cover = mode_coverage(fake, self.name)
        self.steps.append(step)
        self.shares.append(mode_shares(fake, self.name))
        self.modes.append(cover["modes"])
        self.near.append(cover["near"])
        self.means.append(fake.mean(0).tolist())

    def oscillation(self, after=0.5):
        """`oscillation` of the mode shares recorded from `after` (a fraction of the run) to the end."""
        start = after * self.steps[-1] if self.steps else 0
        return oscillation([s for step, s in zip(self.steps, self.shares) if step >= start])


@torch.no_grad()
def idempotence_error(f, z, kind="l1"):
    """Mean d(f(f(z)), f(z)): zero when f is idempotent on its own outputs."""
    fz = f(z)
    return float(per_sample_distance(f(fz), fz, kind).mean())


@torch.no_grad()
def reconstruction_error(f, x, kind="l1"):
    """Mean d(f(x), x): zero when every real sample is a fixed point."""
    return float(per_sample_distance(f(x), x, kind).mean())
