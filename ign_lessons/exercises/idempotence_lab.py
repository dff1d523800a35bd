"""Checkers for 08_idempotence_lab: the share of the plane a network keeps fixed, and how fast a point settles."""
import torch

from .. import data, losses, models
from . import Wrong, checker


def _net(seed):
    torch.manual_seed(seed)
    return models.build("mlp-ign", hidden=16, depth=2)


@checker
def check_fixed_share(answer):
    """answer(f, limit, steps, tol) -> the share of data.plane(limit, steps) with d(f(y), y) < tol (L1)."""
    for seed, (limit, steps, tol) in enumerate([(3.0, 40, 0.05), (2.0, 25, 0.3), (1.0, 10, 1.0)]):
        f = _net(seed)
        grid, _, _ = data.plane(limit, steps)
        with torch.no_grad():
            expected = float((losses.energy(f, grid) < tol).float().mean())
        got = answer(f, limit, steps, tol)
        if not isinstance(got, float):
            raise Wrong(f"return a Python float (use float(...)), got {type(got).__name__}")
        if abs(got - expected) > 1e-6:
            raise Wrong(f"for limit={limit}, steps={steps}, tol={tol} your share is off ({got:.4f}); is every "
                        "point of the plane's grid counted once, with the L1 distance and a strict < tol?")


@checker
def check_settle(answer):
    """answer(f, point, tol, most) -> how many applications of f until a point moves less than tol (L1 mean)."""
    shrink = lambda y: 0.5 * y  # moves y by |y|/2: from (8, 8) the moves are 4, 2, 1, 0.5, 0.25, ...
    cases = [((8.0, 8.0), 0.3, 20, 5), ((8.0, 8.0), 5.0, 20, 1), ((8.0, 8.0), 1e-9, 6, 6)]
    for point, tol, most, expected in cases:
        got = answer(shrink, torch.tensor([point]), tol, most)
        if got != expected:
            raise Wrong(f"with f(y) = y / 2 from {point}, tol={tol}, most={most} your count is {got!r}, which is "
                        "not it; does it count the application that settles, and stop at `most`?")
