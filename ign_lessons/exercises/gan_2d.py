"""Checkers for 01_gan_2d."""
import math

import torch
import torch.nn.functional as F

from .. import data, losses, metrics, models
from . import Wrong, checker


@checker
def check_nonsaturating_loss(answer):
    """answer(logits): the non-saturating generator loss, mean of -log sigmoid(logit), as a tensor."""
    logits = torch.tensor([-200.0, -30.0, -2.0, 0.0, 0.5, 3.0, 40.0], requires_grad=True)
    got = answer(logits)
    if not isinstance(got, torch.Tensor) or got.numel() != 1:
        raise Wrong(f"return one number as a torch tensor (a batch mean), got {type(got).__name__} "
                    f"{tuple(getattr(got, 'shape', ()))}")
    if not torch.isfinite(got).all():
        raise Wrong("the loss is not finite for a logit of -200: sigmoid(-200) rounds to 0 and log(0) = -inf. "
                    "Use -log sigmoid(t) = softplus(-t) (torch.nn.functional.softplus)")
    plain = logits.detach()
    want = F.softplus(-plain).mean()
    if not torch.allclose(got.detach().reshape(()), want, rtol=1e-4, atol=1e-4):
        value = float(got.detach())
        if math.isclose(value, float(-F.softplus(plain).mean()), rel_tol=1e-3):
            raise Wrong("that is the minimax generator loss log(1 - sigmoid(t)); the non-saturating one "
                        "is -log sigmoid(t): large when D calls the fake fake (t very negative)")
        if math.isclose(value, -float(want), rel_tol=1e-3):
            raise Wrong("wrong sign: the generator *minimises* -log sigmoid(t)")
        if math.isclose(value, float(want) * len(logits), rel_tol=1e-3):
            raise Wrong("take the mean over the batch, not the sum")
        raise Wrong(f"your loss is {value:.4f} for the logits {plain.tolist()}, which is not the mean of "
                    "-log sigmoid(t) over them")
    if not got.requires_grad:
        raise Wrong("the result carries no gradient: keep it a tensor computed from `logits` (no .item(), "
                    "no .detach(), no numpy) so that the generator can be trained with it")
    grad, = torch.autograd.grad(got.reshape(()), logits)
    if not torch.allclose(grad, -(1 - torch.sigmoid(plain)) / len(logits), atol=1e-5):
        raise Wrong("the value is right but its gradient is not that of mean(softplus(-t)); compute the loss "
                    "from `logits` with torch operations only")


def _small_discriminator():
    torch.manual_seed(3)
    return models.build("mlp-discriminator", hidden=16, depth=2)


@checker
def check_push_on_fakes(answer):
    """answer(D, fake): for each fake sample, minus the gradient of its own non-saturating loss
    -log sigmoid(D(fake_i)) with respect to its position; a tensor of the shape of `fake`."""
    D = _small_discriminator()
    fake = torch.randn(64, 2, generator=torch.Generator().manual_seed(4)) * 1.5
    got = answer(D, fake)
    if not isinstance(got, torch.Tensor) or got.shape != fake.shape:
        raise Wrong(f"expected a tensor of shape {tuple(fake.shape)} (one arrow per fake), got "
                    f"{getattr(got, 'shape', type(got).__name__)}")
    got = got.detach()
    want = losses.fake_gradients(D, fake, "nonsaturating")
    if torch.allclose(got, want, rtol=1e-3, atol=1e-6):
        return
    if torch.allclose(got, -want, rtol=1e-3, atol=1e-6):
        raise Wrong("the arrows point the wrong way: gradient descent moves a sample along MINUS the gradient")
    if torch.allclose(got * len(fake), want, rtol=1e-3, atol=1e-6) or \
            torch.allclose(-got * len(fake), want, rtol=1e-3, atol=1e-6):
        raise Wrong("the arrows are n times too short: differentiate each sample's own loss, i.e. the SUM "
                    "over the batch (the mean divides every gradient by the batch size)")
    minimax = losses.fake_gradients(D, fake, "minimax")
    for scale in (1, len(fake)):
        if torch.allclose(got * scale, minimax, rtol=1e-3, atol=1e-6) or \
                torch.allclose(-got * scale, minimax, rtol=1e-3, atol=1e-6):
            raise Wrong("these are the arrows of the minimax loss log(1 - sigmoid(D(x))); use the "
                        "non-saturating -log sigmoid(D(x)) = softplus(-D(x))")
    raise Wrong("the arrows differ from -d/dx softplus(-D(x)) at each fake; make `fake` a leaf that "
                "requires grad (fake.detach().clone().requires_grad_(True)) and differentiate with "
                "torch.autograd.grad")


def _ring_cases():
    """Sample sets with a known answer and the mistake each one catches."""
    g = torch.Generator().manual_seed(5)
    modes = data.toy2d_modes("ring")
    noise = lambda n: 0.05 * torch.randn(n, 2, generator=g)
    between = 2.0 * torch.stack([torch.cos(torch.arange(8) * math.pi / 4 + math.pi / 8),
                                 torch.sin(torch.arange(8) * math.pi / 4 + math.pi / 8)], 1)
    far = torch.tensor([[6.0, 6.0]]).repeat(1000, 1)
    return [
        ("the real ring", data.toy2d("ring", 2000, seed=1), ""),
        ("a collapsed generator (all samples on one mode)", modes[0] + noise(2000), ""),
        ("half of the ring", modes[torch.arange(2000) % 4] + noise(2000), ""),
        ("one mode plus 5 stray samples at another", torch.cat([modes[0] + noise(1000), modes[1] + noise(5)]),
         "a handful of samples does not cover a mode: require at least min_share of ALL samples"),
        ("1000 far-away points, 1000 on one mode, 15 on another",
         torch.cat([far, modes[1] + noise(1000), modes[2] + noise(15)]),
         "the share of a mode is its number of samples over ALL samples, near or not"),
        ("points on the circle, between the modes", between[torch.arange(2000) % 8] + noise(2000),
         "samples far from every mode must not count: a sample counts for a mode only within `radius` of it"),
    ]


@checker
def check_modes_covered(answer):
    """answer(samples, modes, radius=0.15, min_share=0.01): how many modes hold at least min_share of
    all samples within `radius` of them (the count of metrics.mode_coverage)."""
    modes = data.toy2d_modes("ring")
    for name, samples, hint in _ring_cases():
        got = answer(samples, modes, 0.15, 0.01)
        want = metrics.mode_coverage(samples, "ring", radius=0.15, min_share=0.01)["modes"]
        if isinstance(got, torch.Tensor) and got.numel() == 1:
            got = got.item()
        if not isinstance(got, (int, float)) or got != want:
            raise Wrong(f"for {name} you count {got!r} covered modes, which is not right. "
                        + (hint or "count, for each mode, the samples within `radius` whose nearest mode "
                                   "it is, and compare their share with min_share"))
