"""Checkers for 06_ign_digits: frequency-matched noise, the coverage term's direction and routing,
the nearest-training-digit distance of the memorisation check."""
import functools

import torch

from .. import data, losses, models
from . import Wrong, checker, param_grads


def _shape(got, want):
    if not isinstance(got, torch.Tensor) or tuple(got.shape) != want:
        raise Wrong(f"expected a tensor of shape {want}, got {tuple(getattr(got, 'shape', ())) or type(got).__name__}")


@functools.lru_cache(maxsize=1)
def _train_images():
    return data.digits(split="train")[0]


def _spectrum(z, mean):
    return torch.fft.fft2(z.double() - mean).abs().pow(2).mean(0).sqrt()


@checker
def check_frequency_noise(answer):
    """answer(images, n, seed): n images of stationary Gaussian noise with the images' mean power
    spectrum, random phase and their mean pixel value (data.image_source("frequency"))."""
    images = _train_images()
    got = answer(images, 4000, 0)
    _shape(got, (4000, 1, 8, 8))
    if not torch.isfinite(got).all() or got.is_complex():
        raise Wrong("the noise must be real and finite: keep the real part of the inverse FFT")
    mean = float(images.mean())
    if abs(float(got.mean()) - mean) > 0.03:
        raise Wrong(f"the mean pixel value is {float(got.mean()):.2f}, the digits' is {mean:.2f}: shape the "
                    "noise around the centred images (x - m) and add m back at the end")
    want = _spectrum(images, mean)
    have = _spectrum(got, mean)
    ratio = float((have * want).sum() / (want * want).sum())
    if float(((have / ratio - want).abs() / want.clamp_min(0.5)).max()) > 0.1:
        raise Wrong("the amplitude spectrum differs from the digits' at some frequencies: multiply the FFT of "
                    "white noise by A = sqrt(mean |FFT(x - m)|^2) over the images (the root mean square, "
                    "not the mean of the complex coefficients, which cancel out)")
    if abs(ratio - 1) > 0.1:
        raise Wrong(f"the spectrum has the digits' shape but {ratio:.2f} times their amplitude: white noise has "
                    "|FFT|^2 = H W on average, so divide by sqrt(H W) (= 8) after multiplying by A")
    if float(got.mean(0).std()) > 0.05:
        raise Wrong("the per-pixel means vary across the image: that is position information the random "
                    "phase should destroy; draw fresh white noise for every image")
    if torch.equal(got[:10], answer(images, 10, 1)):
        raise Wrong("different seeds give the same noise; use torch.Generator().manual_seed(seed)")
    if not torch.equal(answer(images, 10, 3), answer(images, 10, 3)):
        raise Wrong("the same seed gives different noise; draw every number from the seeded generator")


def _setup(seed=0):
    torch.manual_seed(seed)
    f = models.build("conv-ign", width=8, latent=4).double()
    g = torch.Generator().manual_seed(seed)
    return f, _train_images()[:6].double(), torch.randn(24, 1, 8, 8, generator=g, dtype=torch.float64)


@checker
def check_coverage(answer):
    """answer(f, x, pool) -> mean over the reals x_i of d(x_i, f(z_j(i))), j(i) the candidate whose f(z)
    is nearest to x_i (L1, chosen without gradient), the gradient flowing into f."""
    f, x, pool = _setup()
    got = answer(f, x, pool)
    if not isinstance(got, torch.Tensor) or got.dim() != 0:
        raise Wrong(f"return one number (a 0-dimensional tensor), got {getattr(got, 'shape', type(got).__name__)}")
    want = losses.coverage_loss(f, x, pool)
    with torch.no_grad():
        fz = f(pool)
        table = (fz.flatten(1)[None] - x.flatten(1)[:, None]).abs().mean(2)     # (reals, candidates)
        by_input = (pool.flatten(1)[None] - x.flatten(1)[:, None]).abs().mean(2).argmin(1)
    got_value = float(got.detach())
    want_value = float(want.detach())
    if abs(got_value - want_value) > 1e-9:
        if abs(got_value - float(table.min(0).values.mean())) < 1e-9:
            raise Wrong("you pick, for each generated sample, its nearest real digit: that pulls samples to the "
                        "digits they are already near (mode-seeking) and lets a class with no sample stay empty. "
                        "Go the other way: for each real x, its nearest generated f(z)")
        if abs(got_value - float(table[torch.arange(len(x)), by_input].mean())) < 1e-9:
            raise Wrong("you choose the candidate whose source z is nearest to x; compare x with the generated "
                        "f(z) instead")
        if abs(got_value - float(table.mean())) < 1e-9:
            raise Wrong("you average over every candidate: choose, for each real x, only its nearest f(z)")
        raise Wrong(f"the value is {got_value:.4f}, expected {want_value:.4f}: mean over the reals of the L1 "
                    "distance (mean over pixels) to their nearest generated sample")
    grads = param_grads(got, f)
    if not grads.abs().max() > 0:
        raise Wrong("no gradient reaches f: the chosen f(z) must be computed with gradient (choose under "
                    "torch.no_grad(), then apply f again to the chosen z's)")
    if not torch.allclose(grads, param_grads(want, f), rtol=1e-6, atol=1e-10):
        raise Wrong("the value is right but the gradient is not: only d(x_i, f(z_j(i))) should carry gradient")


@checker
def check_nearest_distance(answer):
    """answer(images, reference) -> (N,) L1 distance (mean over pixels) of each image to its nearest reference
    image; exact copies have distance 0."""
    reference = _train_images()
    g = torch.Generator().manual_seed(0)
    images = torch.cat([reference[:5], data.digits(split="test")[0][:20],
                        (reference[5:10] + 0.1 * torch.randn(5, 1, 8, 8, generator=g)).clamp(-1, 1)])
    got = answer(images, reference)
    _shape(got, (30,))
    want = torch.cdist(images.flatten(1), reference.flatten(1), p=1).min(1).values / 64
    if not got[:5].abs().max() < 1e-6:
        raise Wrong("training digits themselves should be at distance 0 from the training set")
    if torch.allclose(got, want * 8, atol=1e-4):
        raise Wrong("off by a factor 8: that is the L2-style scaling; use the mean absolute difference over "
                    "the 64 pixels")
    if torch.allclose(got, want * 64, atol=1e-4):
        raise Wrong("the distances are 64 times too large: take the mean over pixels, not the sum")
    if not torch.allclose(got, want, atol=1e-4):
        raise Wrong("some distances are wrong: for each image, the smallest mean absolute difference to any "
                    "reference image (torch.cdist(a, b, p=1) / 64, then .min(1))")
