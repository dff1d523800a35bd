"""Checkers for 04_ign_2d: IGN's three terms with their gradient routing, the clamp, re-applying f."""
import torch

from .. import losses, models
from . import Wrong, checker, param_grads

TERMS = ("rec", "idem", "tight")


def _small_ign(seed):
    torch.manual_seed(seed)
    f = models.build("mlp-ign", hidden=16, depth=2).double()
    return f, 2 * torch.randn(24, 2, dtype=torch.float64), torch.randn(24, 2, dtype=torch.float64)


def _close(a, b, tol=1e-9):
    return (a - b).abs().max().item() <= tol * (1 + b.abs().max().item())


def _terms(answer, f, x, z):
    got = answer(f, x, z)
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        raise Wrong(f"return three numbers (rec, idem, tight), got {type(got).__name__}")
    for name, value in zip(TERMS, got):
        if not isinstance(value, torch.Tensor) or value.dim() != 0:
            raise Wrong(f"{name} must be one number (a 0-dimensional tensor): take the .mean() over the "
                        f"batch; got {getattr(value, 'shape', type(value).__name__)}")
    return got


# What each public routing bug (losses.IGN_BUGS) does to a term, in the checker's words.
BUG_ROUTES = {
    ("idem", "swapped"): "through the outer f only (the inner f(z) is detached: the bug that swaps idem and tight)",
    ("tight", "tight_frozen"): "through the frozen copy (its gradient is zero: the set of fixed points never shrinks)",
    ("tight", "tight_not_detached"): "through both applications (f(z) is not detached, so it also pushes f(z) "
                                     "off the fixed points)",
    ("tight", "swapped"): "through the inner f only (the bug that swaps idem and tight)",
}


def _diagnose(name, got, f, x, z):
    """Say which routing the learner's term has: a public bug of losses.ign_terms_with_bug, or a usual slip."""
    for (term, bug), routing in BUG_ROUTES.items():
        if term == name and _close(got, param_grads(losses.ign_terms_with_bug(f, x, z, bug)[TERMS.index(name)], f)):
            return routing
    if not got.abs().max() > 0:
        return "nowhere (it carries no gradient at all)"
    if name == "idem":
        fz = f(z)
        if _close(got, param_grads(losses.per_sample_distance(f(fz), fz).mean(), f)):
            return "through both applications (the outer f is not frozen)"
    return None


@checker
def check_ign_terms(answer):
    """answer(f, x, z) -> (rec, idem, tight) with L1 distance, batch means, routed as in IGN."""
    hints = {"rec": "rec = d(f(x), x) with d the mean absolute difference per sample",
             "idem": "idem = d(f'(f(z)), f(z)): apply a frozen f (weights detached, e.g. losses.frozen(f)) "
                     "to f(z), and do not detach f(z)",
             "tight": "tight = -d(f(y), y) with y = f(z).detach(), the outer f with its live weights"}
    for seed in range(3):
        f, x, z = _small_ign(seed)
        got = _terms(answer, f, x, z)
        want = losses.ign_terms(f, x, z)
        for name, g, w in zip(TERMS, got, want):
            if not torch.allclose(g.detach(), w.detach(), atol=1e-9):
                raise Wrong(f"the value of {name} is not right; {hints[name]}")
        for name, g, w in zip(TERMS, got, want):
            grad_got, grad_want = param_grads(g, f), param_grads(w, f)
            if not _close(grad_got, grad_want):
                routing = _diagnose(name, grad_got, f, x, z)
                where = f"your {name} sends its gradient {routing}" if routing else \
                    f"the gradient of {name} is wrong although its value is right"
                raise Wrong(f"{where}. {hints[name]}")


@checker
def check_tight_clamp(answer):
    """answer(tight, rec, a) -> per-sample tanh(tight / (a rec)) * a rec, with rec treated as a constant."""
    tight = -torch.tensor([1e-4, 0.02, 0.1, 0.5, 3.0, 50.0], dtype=torch.float64)
    rec = torch.tensor([0.05, 0.05, 0.1, 0.2, 0.1, 0.3], dtype=torch.float64)
    for a in (1.5, 3.0):
        t, r = tight.clone().requires_grad_(True), rec.clone().requires_grad_(True)
        got = answer(t, r, a)
        if not isinstance(got, torch.Tensor) or got.shape != tight.shape:
            raise Wrong(f"return one clamped value per sample (shape {tuple(tight.shape)}), got "
                        f"{getattr(got, 'shape', type(got).__name__)}")
        want = torch.tanh(tight / (a * rec)) * a * rec
        if not torch.allclose(got.detach(), want, atol=1e-12):
            if (got.detach().abs() > a * rec + 1e-12).any():
                raise Wrong("some values exceed a * rec in size: the clamp must keep tight within (-a rec, 0]")
            raise Wrong("the values do not follow tanh(tight / (a rec)) * a rec; divide inside the tanh, "
                        "multiply outside")
        if not got.requires_grad:
            raise Wrong("the clamped tightness carries no gradient; detach rec only, not tight")
        grad_t, grad_r = torch.autograd.grad(got.sum(), (t, r), allow_unused=True)
        if grad_r is not None and grad_r.abs().max() > 0:
            raise Wrong("gradient flows into rec through the clamp, which would push rec *up*; "
                        "use rec.detach() inside the clamp")
        if grad_t is None or not torch.allclose(grad_t, 1 - torch.tanh(tight / (a * rec)) ** 2, atol=1e-12):
            raise Wrong("tight's gradient should be sech^2(tight / (a rec)): nearly 1 for small values, "
                        "fading for large ones")


@checker
def check_apply_repeatedly(answer):
    """answer(f, z, n) -> tensor (n + 1, N, 2): z, f(z), f(f(z)), ..., f^n(z), without gradients."""
    f = lambda y: 0.5 * y + torch.tensor([1.0, -2.0])  # a contraction towards its fixed point (2, -4)
    z = torch.randn(5, 2)
    for n in (0, 1, 4):
        got = answer(f, z, n)
        if not isinstance(got, torch.Tensor) or got.shape != (n + 1, 5, 2):
            raise Wrong(f"for n = {n} expected a tensor of shape {(n + 1, 5, 2)} (z and n applications), "
                        f"got {getattr(got, 'shape', type(got).__name__)}")
        if not torch.equal(got[0], z):
            raise Wrong("the first row must be z itself, before any application of f")
        want = [z]
        for _ in range(n):
            want.append(f(want[-1]))
        if not torch.allclose(got, torch.stack(want), atol=1e-6):
            raise Wrong("row k must be f applied k times to z: apply f to the previous row, not to z")
    net = models.build("mlp-ign", hidden=8, depth=1)
    if answer(net, z, 2).requires_grad:
        raise Wrong("the trajectory carries gradients; wrap the loop in torch.no_grad()")
