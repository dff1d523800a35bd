"""The course's quality metric for generated digits, judged by a small shipped digit classifier.

For a batch of generated 8x8 digits, `digits_quality` reports:
- **fd**: the Frechet distance between Gaussians fitted to the classifier's features (its
  penultimate layer) of generated digits and of held-out real digits (data.digits(split="test")).
  It is the formula of FID (Heusel et al. 2017, arXiv:1706.08500) with a digit classifier in place
  of the Inception network, so its values are not comparable with published FIDs.
- **floor**: the same distance between two disjoint halves of the held-out real digits, with the
  same sample sizes. A generator as good as the data scores about the floor, never much below.
- **shares**: the share of generated digits the classifier puts in each class (10 numbers), and
  **confidence**: its mean top softmax probability (real held-out digits score about 0.99).

Sample sizes are explicit: the 360 held-out digits are split at random into a reference half A
and a real half B of `sample` = 180 digits each; the generated score compares `sample` random
generated digits with A, the floor compares B with A. Both are averaged over `repeats` random
splits. Shares and confidence use all the images passed in.
"""
import contextlib
import functools
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from . import checkpoints, data, models
from .course import device as default_device
from .train import run

CLASSIFIER = "digit-classifier"
SAMPLE = 180
REPEATS = 20


class QualityError(ValueError):
    """Images the metric cannot judge, or a checkpoint that is not a digit classifier."""


@dataclass(frozen=True)
class DigitsQuality:
    """The result of digits_quality: distances, class shares, confidence and the sample sizes used."""

    fd: float
    floor: float
    shares: tuple
    confidence: float
    images: int
    sample: int
    repeats: int

    def covered(self, min_share=0.03):
        """Number of digit classes holding at least `min_share` of the images."""
        return sum(share >= min_share for share in self.shares)

    def __str__(self):
        shares = " ".join(f"{k}:{s:.0%}" for k, s in enumerate(self.shares))
        return (f"FD {self.fd:.1f} (real-data floor {self.floor:.1f}; {self.sample} vs {self.sample} "
                f"digits, mean of {self.repeats} splits) | confidence {self.confidence:.3f} | "
                f"classes with >= 3%: {self.covered()}/10 | shares of {self.images} images: {shares}")


def check_images(images, minimum=1):
    """Validate images for the metric: a finite tensor (N, 1, 8, 8) with values in [-1, 1], N >= minimum."""
    if not isinstance(images, torch.Tensor):
        raise QualityError(f"images must be a torch.Tensor, got {type(images).__name__}.")
    if images.dim() != 4 or tuple(images.shape[1:]) != (1, 8, 8):
        raise QualityError(f"images must have shape (N, 1, 8, 8) like data.digits(), got {tuple(images.shape)}; "
                           "reshape flat vectors with images.reshape(-1, 1, 8, 8).")
    if len(images) < minimum:
        raise QualityError(f"need at least {minimum} images, got {len(images)}; generate more "
                           "(1,000 is a good number).")
    images = images.detach().float().cpu()
    bad = (~torch.isfinite(images)).sum().item()
    if bad:
        raise QualityError(f"images contain {bad} NaN or infinite values; the generator has probably "
                           "diverged: retrain it with a smaller learning rate.")
    low, high = images.min().item(), images.max().item()
    if low < -1.01 or high > 1.01:
        raise QualityError(f"images must lie in [-1, 1] like data.digits(), got values in [{low:.3g}, {high:.3g}]; "
                           "rescale them (raw 0..16 pixels: x / 8 - 1) or clamp them.")
    return images


@functools.lru_cache(maxsize=4)
def classifier(name=CLASSIFIER):
    """The shipped digit classifier (loaded once, on the CPU, in eval mode)."""
    model = checkpoints.load(name, map_location="cpu")
    if getattr(model, "role", None) != "classifier":
        raise QualityError(f"checkpoint {name!r} holds a {model.meta['model']['kind']}, not a digit "
                           "classifier; use the shipped 'digit-classifier'.")
    return model


def _classifier(model):
    if isinstance(model, str):
        return classifier(model)
    if getattr(model, "role", None) != "classifier":
        raise QualityError(f"expected a classifier built by models.build('conv-classifier'), got "
                           f"{type(model).__name__}.")
    return model


@contextlib.contextmanager
def _evaluating(model):
    """Run a model in eval mode (no dropout) on the CPU, then restore its mode and device."""
    was_training, device = model.training, next(model.parameters()).device
    try:
        yield model.eval().cpu()
    finally:
        model.train(was_training).to(device)


@torch.no_grad()
def features(images, model=CLASSIFIER):
    """The classifier's penultimate-layer features of images, as float64 (N, feature_dim)."""
    with _evaluating(_classifier(model)) as net:
        return net.features(check_images(images)).double()


def gaussian(feats):
    """Mean and covariance of features (N, d): the Gaussian the Frechet distance compares."""
    return feats.mean(0), torch.cov(feats.T)


def sqrtm_psd(matrix):
    """Square root of a symmetric positive semi-definite matrix, by eigendecomposition."""
    values, vectors = torch.linalg.eigh(matrix)
    return (vectors * values.clamp(min=0).sqrt()) @ vectors.T


def frechet_distance(feats_a, feats_b):
    """|mu_a - mu_b|^2 + tr(C_a) + tr(C_b) - 2 tr((C_a^1/2 C_b C_a^1/2)^1/2), computed in float64.

    feats_a (n, d) and feats_b (m, d): one row per sample, n and m >= 2."""
    for name, feats in (("feats_a", feats_a), ("feats_b", feats_b)):
        if not isinstance(feats, torch.Tensor) or feats.dim() != 2 or len(feats) < 2:
            raise QualityError(f"{name} must be a tensor (samples, features) with at least 2 rows, got "
                               f"{tuple(getattr(feats, 'shape', ())) or type(feats).__name__}.")
        if not torch.isfinite(feats).all():
            raise QualityError(f"{name} contains NaN or infinite values.")
    if feats_a.shape[1] != feats_b.shape[1]:
        raise QualityError(f"both feature sets need the same number of columns, got {feats_a.shape[1]} "
                           f"and {feats_b.shape[1]}.")
    mu_a, cov_a = gaussian(feats_a.double())
    mu_b, cov_b = gaussian(feats_b.double())
    root_a = sqrtm_psd(cov_a)
    cross = torch.linalg.eigvalsh(root_a @ cov_b @ root_a).clamp(min=0).sqrt().sum()
    return float((mu_a - mu_b).pow(2).sum() + cov_a.trace() + cov_b.trace() - 2 * cross)


@functools.lru_cache(maxsize=4)
def _reference_features(name):
    return features(data.digits(split="test")[0], name)


@torch.no_grad()
def digits_quality(images, sample=SAMPLE, repeats=REPEATS, seed=0, model=CLASSIFIER):
    """Judge generated digits (N, 1, 8, 8) in [-1, 1], N >= sample; returns a DigitsQuality.

    See the module's docstring for what each number means and which samples it uses."""
    reference = _reference_features(model) if isinstance(model, str) else features(
        data.digits(split="test")[0], model)
    if isinstance(sample, bool) or not isinstance(sample, int) or not 2 <= sample <= len(reference) // 2:
        raise QualityError(f"sample must be a whole number from 2 to {len(reference) // 2} (half the "
                           f"held-out digits), got {sample!r}.")
    images = check_images(images, minimum=sample)
    with _evaluating(_classifier(model)) as net:
        generated = net.features(images).double()
        probs = F.softmax(net.head(generated.float()), dim=1)
    splits, picks = torch.Generator().manual_seed(seed), torch.Generator().manual_seed(seed + 1)
    fds, floors = [], []
    for _ in range(repeats):
        order = torch.randperm(len(reference), generator=splits)
        half_a, half_b = reference[order[:sample]], reference[order[sample:2 * sample]]
        mine = generated[torch.randperm(len(generated), generator=picks)[:sample]]
        fds.append(frechet_distance(mine, half_a))
        floors.append(frechet_distance(half_b, half_a))
    shares = torch.bincount(probs.argmax(1), minlength=net.classes).float() / len(images)
    return DigitsQuality(fd=sum(fds) / repeats, floor=sum(floors) / repeats,
                         shares=tuple(round(s, 4) for s in shares.tolist()),
                         confidence=float(probs.max(1).values.mean()), images=len(images),
                         sample=sample, repeats=repeats)


@torch.no_grad()
def accuracy(model, split="test"):
    """Share of the digits of a split that the classifier labels correctly."""
    images, labels = data.digits(split=split)
    with _evaluating(_classifier(model)) as net:
        return float((net(images).argmax(1) == labels).float().mean())


def shift(images, generator, pixels=1):
    """Move each image by a random whole number of pixels (up to `pixels`) in x and y, filling with -1."""
    n, side = len(images), images.shape[-1]
    span = 2 * pixels + 1
    padded = F.pad(images, (pixels,) * 4, value=-1.0).unfold(2, side, 1).unfold(3, side, 1)
    dy, dx = torch.randint(span, (2, n), generator=generator).to(images.device)
    return padded[torch.arange(n, device=images.device), :, dy, dx]


def train_classifier(steps=800, seed=0, batch=128, lr=3e-3, model=None, progress=True, device=None):
    """Train a digit classifier on data.digits(split="train") only (random 1-pixel shifts, one-cycle lr).

    Returns (model, history); history has "loss" per step."""
    dev = device or default_device()
    torch.manual_seed(seed)
    model = (model or models.build("conv-classifier")).to(dev).train()
    images, labels = data.digits(split="train")
    images, labels = images.to(dev), labels.to(dev)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr / 3)
    schedule = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=max(steps, 1))

    def step(i):
        pick = torch.randint(len(images), (batch,), generator=gen).to(dev)
        loss = F.cross_entropy(model(shift(images[pick], gen)), labels[pick])
        opt.zero_grad()
        loss.backward()
        opt.step()
        schedule.step()
        return {"loss": loss.detach()}

    history = run(step, steps, (model,), "digit classifier", progress)
    return model.eval(), history
