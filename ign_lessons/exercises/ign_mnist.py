"""Checkers for 09_ign_mnist: the encoder's sides at 28x28, the comparison at equal time, and the
nearest-training-digit baseline of restoration."""
import torch

from .. import models
from . import Wrong, checker


@checker
def check_sides(answer):
    """answer(size) -> the image side before each stride-2 convolution of the DCGAN encoder, then the side
    left for its last convolution: [28, 14, 7] for 28, [8, 4] for 8 (models.halvings)."""
    for size in (28, 8, 16, 32, 12, 56, 7):
        base, k = models.halvings(size)
        want = [size // 2 ** i for i in range(k + 1)]
        got = answer(size)
        if not isinstance(got, (list, tuple)) or [int(v) for v in got] != want:
            if size == 28 and isinstance(got, (list, tuple)) and list(got)[:3] == [28, 14, 7]:
                raise Wrong("28 = 7 x 4: halving stops at 7, where a 7x7 convolution takes what is left; 7 is "
                            "odd, so a stride-2 layer cannot halve it")
            raise Wrong(f"for size {size} expected {len(want)} sides from {size} down to the base between 4 "
                        f"and 7, got {got!r}: halve while the side is even and larger than 7")


@checker
def check_at_equal_time(answer):
    """answer(curve, seconds) -> the point of `curve` (rows [step, train_seconds, fd], by step) with the most
    steps whose training time is at most `seconds` (the first point when none fits)."""
    curve = [[500, 10.0, 90.0], [1000, 20.5, 60.0], [1500, 30.0, 50.0], [2000, 41.0, 45.0]]
    cases = [(30.0, curve[2]), (29.9, curve[1]), (100.0, curve[3]), (5.0, curve[0]), (20.5, curve[1])]
    for seconds, want in cases:
        got = answer(curve, seconds)
        if list(got) != want:
            if seconds == 30.0 and list(got) == curve[1]:
                raise Wrong("a point trained for exactly `seconds` counts: use <=, not <")
            if seconds > 10.0 and got[1] > seconds:
                raise Wrong(f"with a budget of {seconds} s you picked a point trained for {got[1]} s, longer than "
                            "the budget: keep the points whose seconds are <= it")
            if seconds == 5.0:
                raise Wrong("when no point fits the budget, return the first one (the least trained)")
            raise Wrong(f"for {seconds} s expected {want}, got {got!r}: the last point (most steps) whose "
                        "train_seconds is at most the budget")
    shuffled = [curve[2], curve[0], curve[3], curve[1]]
    if list(answer(shuffled, 30.0)) != curve[2]:
        raise Wrong("the rows may come in any order: pick by the most steps among those that fit, not by position")


@checker
def check_nearest_train(answer):
    """answer(images, train_images) -> for each image, the training image at the smallest L1 distance (N, C, H, W)."""
    g = torch.Generator().manual_seed(0)
    spread, spike = torch.full((2, 1, 6, 6), 0.2), torch.zeros(2, 1, 6, 6)  # from 0: L1 7.2 / 1.5, L2 1.2 / 1.5
    spread[1] += 1.0
    spike[:, 0, 0, 0] = 1.5
    spike[1] += 1.0
    train_images = torch.cat([torch.rand(36, 1, 6, 6, generator=g) * 0.4 - 0.9, spread, spike])
    images = torch.cat([train_images[:3], (train_images[3:6] + 0.3 * torch.randn(3, 1, 6, 6, generator=g)),
                        torch.zeros(1, 1, 6, 6), torch.ones(1, 1, 6, 6)])
    got = answer(images, train_images)
    if not isinstance(got, torch.Tensor) or tuple(got.shape) != tuple(images.shape):
        raise Wrong(f"expected a tensor of shape {tuple(images.shape)} (one training image per image), got "
                    f"{tuple(getattr(got, 'shape', ())) or type(got).__name__}")
    table = torch.cdist(images.flatten(1), train_images.flatten(1), p=1)
    want = train_images[table.argmin(1)]
    if not torch.equal(got[:3], images[:3]):
        raise Wrong("a training image's nearest training image is itself")
    l2 = train_images[torch.cdist(images.flatten(1), train_images.flatten(1)).argmin(1)]
    if not torch.equal(got, want):
        if torch.equal(got, l2):
            raise Wrong("that is the nearest in L2 distance; the course's distance here is L1 (p=1)")
        raise Wrong("some images got another training image than their nearest: flatten, torch.cdist(..., p=1), "
                    "argmin over the training images, then index them")
