"""Checkers for 05_ign_is_a_gan."""
import torch

from .. import losses, models
from . import Wrong, checker, param_grads

_CASES = [((20.0, 20.0, 2.5), "l1"), ((1.0, 1.0, 0.1), "l2sq"), ((1.0, 2.0, 3.0), "l2")]


def _problem(seed=0):
    torch.manual_seed(seed)
    f = models.build("mlp-ign", hidden=16, depth=2).double()
    return f, torch.randn(16, 2, dtype=torch.float64), torch.randn(16, 2, dtype=torch.float64)


@checker
def check_stopgrad_ign(answer):
    """answer(f, x, z, weights, distance) -> scalar: IGN's loss in stop-gradient form, no frozen copy.

    Only the gradient is compared (the two forms differ in value by lambda_i * idem)."""
    f, x, z = _problem()
    for weights, distance in _CASES:
        got = answer(f, x, z, weights, distance)
        if not isinstance(got, torch.Tensor) or got.dim() != 0:
            raise Wrong(f"expected a scalar tensor (a batch mean), got {getattr(got, 'shape', type(got).__name__)}")
        if not got.requires_grad:
            raise Wrong("the loss carries no gradient: do not wrap it in torch.no_grad() or detach everything")
        want, _ = losses.ign_loss(f, x, z, weights, distance)
        g_got, g_want = param_grads(got, f), param_grads(want, f)
        if not torch.allclose(g_got, g_want, atol=1e-10, rtol=1e-8):
            raise Wrong(f"with weights {weights} and distance {distance!r} the gradient differs from IGN's "
                        f"(max error {(g_got - g_want).abs().max():.2e}). The detached delta(sg f(z)) must "
                        "carry weight -(lambda_i + lambda_t): it cancels the outer f's part of delta(f(z)) "
                        "and adds the tightness term. Average each delta over the batch (.mean()).")


@checker
def check_mlp_parameters(answer):
    """answer(hidden, depth) -> number of parameters of models.build("mlp-ign", hidden=..., depth=...)."""
    for hidden, depth in ((128, 3), (90, 3), (16, 1), (7, 4)):
        got = answer(hidden, depth)
        want = models.count_parameters(models.build("mlp-ign", hidden=hidden, depth=depth))
        if got != want:
            hint = ("count the biases too: a Linear(a, b) layer has a*b + b parameters"
                    if got == want - (hidden * depth + 2) else
                    "the net is Linear(2, h), then depth-1 layers Linear(h, h), then Linear(h, 2)")
            raise Wrong(f"hidden={hidden}, depth={depth}: you say {got}, not the network's count; {hint}")


@checker
def check_matched_width(answer):
    """answer(hidden) -> the width w such that two nets of width w (depth 3) have as close as possible
    to, without exceeding, the parameters of one net of width `hidden`."""
    count = lambda w: models.count_parameters(models.build("mlp-ign", hidden=w))
    for hidden in (128, 64, 200):
        got = answer(hidden)
        budget = count(hidden)
        want = max(w for w in range(1, hidden + 1) if 2 * count(w) <= budget)
        if got != want:
            hint = ("half the width gives about a QUARTER of the parameters (the h*h layers dominate); "
                    "try hidden / sqrt(2)" if got == hidden // 2 else
                    f"two nets of width {got} have {2 * count(got)} parameters; the budget is {budget}")
            raise Wrong(f"hidden={hidden}: you say {got}, the answer is another width; {hint}")
