"""The course's data: 2D toy samplers, the plane grid, the embedded 8x8 digits and 28x28 MNIST digits,
noise sources.

Nothing here needs a network."""
import gzip
import hashlib
import math

import numpy as np
import torch
import torch.nn.functional as F

from . import checks
from .runtime import DIGITS_FILE, CourseError, data_folder

DIGITS_SHA256 = "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"
MNIST_FILE = "mnist/mnist_5k.csv.gz"
MNIST_SHA256 = "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d"
IMAGE_SETS = ("digits", "mnist")  # the image data sets, by the name of their loader
TOY2D = ("ring", "grid", "moons", "spiral", "circles")
DEFAULT_NOISE = {"ring": 0.05, "grid": 0.05, "moons": 0.05, "spiral": 0.05, "circles": 0.04}


class DataError(CourseError):
    """Raised for a bad request or a damaged data file; the message says how to fix it."""


def _check_n(n):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise DataError(f"n must be a positive whole number of samples, got {n!r}.")
    return int(n)


def toy2d_modes(name):
    """Centres of the Gaussian mixtures ('ring': 8 on a circle of radius 2, 'grid': 5x5), else None."""
    if name == "ring":
        angles = torch.arange(8) * (2 * math.pi / 8)
        return 2.0 * torch.stack([angles.cos(), angles.sin()], dim=1)
    if name == "grid":
        ticks = torch.linspace(-2, 2, 5)
        return torch.cartesian_prod(ticks, ticks)
    if name in TOY2D:
        return None
    checks.choice("2D data set", name, TOY2D, DataError)


def toy2d(name, n, seed=0, noise=None):
    """n points of a named 2D data set (see TOY2D) as a float32 tensor of shape (n, 2)."""
    if name not in TOY2D:
        checks.choice("2D data set", name, TOY2D, DataError)
    n = _check_n(n)
    noise = DEFAULT_NOISE[name] if noise is None else float(checks.number("noise", noise, low=0, error=DataError))
    g = torch.Generator().manual_seed(checks.whole("seed", seed, error=DataError))
    modes = toy2d_modes(name)
    if modes is not None:
        points = modes[torch.randint(len(modes), (n,), generator=g)]
    elif name == "moons":
        t = torch.rand(n, generator=g) * math.pi
        upper = torch.rand(n, generator=g) < 0.5
        points = torch.where(upper[:, None],
                             torch.stack([t.cos(), t.sin()], 1),
                             torch.stack([1 - t.cos(), 0.5 - t.sin()], 1))
        points = (points - torch.tensor([0.5, 0.25])) * 1.6
    elif name == "spiral":
        t = torch.rand(n, generator=g).sqrt() * 3 * math.pi
        arm = (torch.rand(n, generator=g) < 0.5).float() * math.pi
        points = torch.stack([t * (t + arm).cos(), t * (t + arm).sin()], 1) / (1.5 * math.pi)
    else:  # circles
        radius = torch.where(torch.rand(n, generator=g) < 0.5, 1.0, 2.0)
        t = torch.rand(n, generator=g) * 2 * math.pi
        points = radius[:, None] * torch.stack([t.cos(), t.sin()], 1)
    return (points + noise * torch.randn(n, 2, generator=g)).float()


def _sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _checked_table(relative, sha256):
    """The rows of a shipped, gzip-compressed CSV file, after checking its SHA-256."""
    path = data_folder() / relative
    if not path.exists():
        raise DataError(f"The data file {path} is missing. Restore it with "
                        f"`git checkout -- data/{relative}` (it ships with the course).")
    actual = _sha256(path)
    if actual != sha256:
        raise DataError(f"The data file {path} is damaged: SHA-256 {actual}, expected "
                        f"{sha256}. Restore it with `git checkout -- data/{relative}`.")
    with gzip.open(path, "rt") as handle:
        return np.loadtxt(handle, delimiter=",", dtype=np.float32)


DIGITS_SPLITS = ("all", "train", "test", "val", "fit")


def digits(size=8, split="all"):
    """The 1,797 UCI handwritten digits: images (N, 1, size, size) in [-1, 1] and labels (N,).

    split (fixed, the same on every machine): "train" (80%, 1,437 digits: what the course's models train on),
    "test" (the other 20%, 360: held out, to score on once), "all" (both); and, to choose settings without
    touching the test digits, "val" (284 of the training digits, a fifth of each class) and "fit" (the other
    1,153 training digits, what a candidate trains on while "val" judges it).
    size: 8 (the native resolution) or larger, resized bilinearly.
    """
    if isinstance(size, bool) or not isinstance(size, int) or size < 8:
        raise DataError(f"size must be a whole number >= 8 (the digits are 8x8), got {size!r}.")
    if split not in DIGITS_SPLITS:
        raise DataError(f"Unknown split {split!r}; the digits have 'train' (80%, what the course's models train "
                        "on), 'test' (the other 20%, held out: score on it once, at the end), 'all' (both), and "
                        "for choosing settings 'val' (a fifth of 'train', held out while choosing) with 'fit' "
                        "(the rest of 'train', what candidates train on). Never choose on 'test'.")
    table = _checked_table(DIGITS_FILE, DIGITS_SHA256)
    images = torch.from_numpy(table[:, :64]).reshape(-1, 1, 8, 8) / 8.0 - 1.0
    labels = torch.from_numpy(table[:, 64]).long()
    if size != 8:
        images = F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False)
    if split != "all":
        order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(1234))
        cut = int(0.8 * len(labels))
        keep = order[cut:] if split == "test" else order[:cut]
        if split in ("val", "fit"):  # a fifth of each class's training digits, in the training split's order
            in_val = torch.zeros(len(keep), dtype=torch.bool)
            for k in range(10):
                mine = (labels[keep] == k).nonzero().flatten()
                in_val[mine[:len(mine) // 5]] = True
            keep = keep[in_val if split == "val" else ~in_val]
        images, labels = images[keep], labels[keep]
    return images.contiguous(), labels


CORRUPTIONS = ("noise", "occlusion", "thin strokes", "faint", "missing pixels", "blur", "shift")


def corrupt(images, kind, seed=0):
    """Corrupted copies of images (N, 1, H, W) in [-1, 1], background -1, drawn with `seed` (CORRUPTIONS):
    "noise" (Gaussian, sigma 0.5, clamped), "occlusion" (a random square of half the side set to background),
    "thin strokes" (erosion: a pixel keeps the ink of its faintest neighbour), "faint" (ink at 40% contrast),
    "missing pixels" (a random 30% set to background), "blur" (each pixel the mean of its 3x3 neighbourhood),
    "shift" (moved one pixel right and one down, background coming in)."""
    checks.choice("corruption", kind, CORRUPTIONS, DataError)
    g = torch.Generator().manual_seed(seed)
    ink = (images + 1) / 2                                    # 0 background, 1 ink
    if kind == "noise":
        return (images + 0.5 * torch.randn(images.shape, generator=g)).clamp(-1, 1)
    if kind == "occlusion":
        out, side = images.clone(), images.shape[-1] // 2
        corner = torch.randint(0, images.shape[-1] - side + 1, (len(images), 2), generator=g)
        for img, (r, c) in zip(out, corner.tolist()):
            img[:, r:r + side, c:c + side] = -1
        return out
    if kind == "thin strokes":
        return (torch.minimum(ink, -F.max_pool2d(-ink, 3, 1, 1)) * 2 - 1).clamp(-1, 1)
    if kind == "faint":
        return -1 + 0.4 * (images + 1)
    if kind == "missing pixels":
        return torch.where(torch.rand(images.shape, generator=g) < 0.3, -1.0, images)
    if kind == "blur":
        return F.avg_pool2d(ink, 3, 1, 1, count_include_pad=True) * 2 - 1
    return F.pad(images, (1, 0, 1, 0), value=-1)[..., :-1, :-1]


MNIST_SPLITS = {"train": (0, 400), "val": (400, 450), "test": (450, 500)}  # of each class's 500 digits


def mnist(split="all"):
    """The 5,000 shipped MNIST digits (500 per class): images (N, 1, 28, 28) in [-1, 1] and labels (N,).

    split: "train" (400 of each class, 4,000), "val" (50 of each, 500: choose settings on it),
    "test" (50 of each, 500: score on it once, at the end) or "all"; fixed, the same on every machine.
    Source and licences: data/mnist/README.md."""
    if split not in ("all", *MNIST_SPLITS):
        raise DataError(f"Unknown split {split!r}; MNIST has 'train' (4,000 digits, what models train on), "
                        "'val' (500, to choose settings on), 'test' (500, held out: score on it once) and 'all'.")
    table = _checked_table(MNIST_FILE, MNIST_SHA256)
    images = torch.from_numpy(table[:, :784]).reshape(-1, 1, 28, 28) / 127.5 - 1.0
    labels = torch.from_numpy(table[:, 784]).long()
    if split != "all":
        g = torch.Generator().manual_seed(1234)
        low, high = MNIST_SPLITS[split]
        keep = torch.cat([torch.nonzero(labels == k).flatten()[torch.randperm(500, generator=g)][low:high]
                          for k in range(10)])
        images, labels = images[keep], labels[keep]
    return images.contiguous(), labels


def image_set(name, split="all"):
    """The images and labels of a named image data set (see IMAGE_SETS) and split."""
    checks.choice("image data set", name, IMAGE_SETS, DataError)
    return digits(split=split) if name == "digits" else mnist(split=split)


def image_set_of(images):
    """The name of the image data set whose images have the shape of `images` (N, 1, 8, 8) or (N, 1, 28, 28)."""
    shape = tuple(getattr(images, "shape", ())[1:])
    if shape == (1, 8, 8):
        return "digits"
    if shape == (1, 28, 28):
        return "mnist"
    raise DataError(f"images of shape (N, 1, 8, 8) are digits and (N, 1, 28, 28) are MNIST digits; got "
                    f"{tuple(getattr(images, 'shape', ())) or type(images).__name__}.")


def random_shift(images, generator, pixels=1):
    """Move each image by a random whole number of pixels (up to `pixels`) in x and y, filling with -1."""
    n, side = len(images), images.shape[-1]
    span = 2 * pixels + 1
    padded = F.pad(images, (pixels,) * 4, value=-1.0).unfold(2, side, 1).unfold(3, side, 1)
    dy, dx = torch.randint(span, (2, n), generator=generator).to(images.device)
    return padded[torch.arange(n, device=images.device), :, dy, dx]


def plane(limit=3.0, steps=100):
    """A grid of points over [-limit, limit]^2: returns (points (steps^2, 2), xs, ys)."""
    xs = torch.linspace(-limit, limit, steps)
    gx, gy = torch.meshgrid(xs, xs, indexing="xy")
    return torch.stack([gx.flatten(), gy.flatten()], 1), gx.numpy(), gy.numpy()


def noise(shape, n, seed=0, device="cpu"):
    """n standard Gaussian samples of a given shape, reproducible from `seed`."""
    g = torch.Generator().manual_seed(checks.whole("seed", seed, error=DataError))
    return torch.randn((n, *shape), generator=g).to(device)


def gaussian_source(samples):
    """The per-coordinate mean and standard deviation of (N, 2) points, as an IGN network's `source`."""
    if samples.dim() != 2:
        raise DataError(f"gaussian_source takes (N, 2) points, got shape {tuple(samples.shape)}.")
    samples = samples.detach().float().cpu()
    return {"mean": samples.mean(0).tolist(), "std": samples.std(0).clamp_min(1e-6).tolist()}


# --- noise sources for images: where an IGN network's z come from ---------------------------------------
# A source is a small JSON-friendly dict (stored in a checkpoint's metadata through the network's
# build options) plus one function, `from_source(source, eps)`, that maps standard Gaussian noise
# eps of the data's shape to it. Keeping the source with the model means `models.sample` and
# `checkpoints.load` draw from the distribution the model was trained with.
IMAGE_SOURCES = ("gaussian", "data", "frequency", "subspace")


def _image_batch(images):
    if not isinstance(images, torch.Tensor) or images.dim() != 4 or len(images) < 2:
        raise DataError(f"an image source is fitted to images (N, C, H, W) with N >= 2, got "
                        f"{tuple(getattr(images, 'shape', ())) or type(images).__name__}.")
    return images.detach().double().cpu()


def image_source(kind, images=None, dims=8):
    """A noise source for images, fitted to `images` (N, C, H, W); pass the *training* split.

    "gaussian":  z ~ N(0, I), nothing fitted: {"kind": "gaussian"}.
    "data":      z = mean + std * eps with the per-pixel mean and standard deviation of the images
                 (a Gaussian with the data's first two moments pixel by pixel, no correlations).
    "frequency": stationary Gaussian noise with the images' mean power spectrum and random phase:
                 z = m + IFFT(FFT(eps) * A / sqrt(H W)), where m is the images' mean pixel value (one
                 number) and A[k] = sqrt(mean_n |FFT(x_n - m)[k]|^2) their root-mean-square amplitude
                 at frequency k. White noise has E|FFT(eps)[k]|^2 = H W at every k, so
                 E|FFT(z - m)[k]|^2 = A[k]^2: the amplitude spectrum of the digits, the phases random.
                 It knows how strokes are correlated (their width, their contrast) but not where they are.
    "subspace":  a low-dimensional source, as a GAN's latent space is: z = mean + sum_k e_k sqrt(l_k) v_k
                 over the images' `dims` leading principal directions v_k (variances l_k), with the first
                 `dims` entries of eps as e_k; every z lies in a `dims`-dimensional plane through the mean.
    """
    if kind == "gaussian":
        return {"kind": "gaussian"}
    checks.choice("image source", kind, IMAGE_SOURCES, DataError)
    x = _image_batch(images)
    if kind == "data":
        return {"kind": "data", "mean": x.mean(0).tolist(), "std": x.std(0).clamp_min(1e-3).tolist()}
    if kind == "subspace":
        if not isinstance(dims, int) or not 1 <= dims <= min(x[0].numel(), len(x) - 1):
            raise DataError(f"a subspace source needs 1 <= dims <= {min(x[0].numel(), len(x) - 1)} (pixels, "
                            f"images - 1), got {dims!r}.")
        flat = x.flatten(1)
        mean = flat.mean(0)
        _, values, vectors = torch.linalg.svd(flat - mean, full_matrices=False)
        basis = vectors[:dims] * (values[:dims] / math.sqrt(len(flat) - 1))[:, None]
        return {"kind": "subspace", "mean": mean.reshape(x.shape[1:]).tolist(), "basis": basis.tolist()}
    m = float(x.mean())
    power = torch.fft.fft2(x - m).abs().pow(2).mean(0)             # (C, H, W), mean over images
    return {"kind": "frequency", "mean": m, "amplitude": power.sqrt().tolist()}


def from_source(source, eps):
    """Map standard Gaussian noise eps (N, ...) to the source: eps itself for None or "gaussian"; for a
    dict without "kind" (the 2D networks' `gaussian_source`) or kind "data", eps * std + mean; for
    "frequency", noise coloured by the amplitude spectrum (see `image_source`)."""
    kind = None if source is None else source.get("kind", "data")
    if kind in (None, "gaussian"):
        return eps
    if kind == "data":
        mean, std = (torch.tensor(source[k], dtype=eps.dtype, device=eps.device) for k in ("mean", "std"))
        return eps * std + mean
    if kind == "frequency":
        amplitude = torch.tensor(source["amplitude"], dtype=eps.dtype, device=eps.device)
        if tuple(amplitude.shape) != tuple(eps.shape[1:]):
            raise DataError(f"this frequency source is for samples of shape {tuple(amplitude.shape)}, "
                            f"got noise of shape {tuple(eps.shape)}.")
        h, w = eps.shape[-2:]
        coloured = torch.fft.ifft2(torch.fft.fft2(eps) * amplitude / math.sqrt(h * w)).real
        return coloured + source["mean"]
    if kind == "subspace":
        mean, basis = (torch.tensor(source[k], dtype=eps.dtype, device=eps.device) for k in ("mean", "basis"))
        if mean.numel() != eps[0].numel():
            raise DataError(f"this subspace source is for samples of shape {tuple(mean.shape)}, "
                            f"got noise of shape {tuple(eps.shape)}.")
        return (eps.flatten(1)[:, :len(basis)] @ basis).reshape(eps.shape) + mean
    raise DataError(f"Unknown source kind {kind!r}; choose one of {', '.join(IMAGE_SOURCES)}.")


def source_noise(source, shape, n, seed=0, device="cpu"):
    """n reproducible samples of a source for data of a given shape (from `noise(shape, n, seed)`)."""
    return from_source(source, noise(shape, n, seed, device))
