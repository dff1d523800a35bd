"""Checkers for 03_one_loss_gan: the single-loss GAN, its gradient routing, a one-loss EBGAN."""
import torch

from .. import losses, models
from . import Wrong, checker, param_grads

TERMS = ("E D(x)", "-2 E D(sg(G(z)))", "E D(G(z))")


def _small_gan(seed, discriminator="mlp-discriminator"):
    torch.manual_seed(seed)
    G = models.build("mlp-generator", hidden=16, depth=2).double()
    D = models.build(discriminator, hidden=16, depth=2).double()
    return G, D, 2 * torch.randn(48, 2, dtype=torch.float64), torch.randn(40, 2, dtype=torch.float64)


def _call(answer, name, *args):
    """The learner's loss, with a hint when the batches of x and z (sizes differ on purpose) were mixed."""
    try:
        value = answer(*args)
    except RuntimeError as error:
        if "must match the size" not in str(error):
            raise
        raise Wrong(f"{name}: the batches of x and z have different sizes here ({len(args[2])} and "
                    f"{len(args[3])}); take the .mean() of each term on its own before combining them") from None
    return _scalar(value, name)


def _scalar(value, name):
    if not isinstance(value, torch.Tensor) or value.dim() != 0:
        raise Wrong(f"{name} must return one number (a 0-dimensional tensor): take the .mean() of "
                    f"each term; got {getattr(value, 'shape', type(value).__name__)}")
    if not value.requires_grad:
        raise Wrong(f"{name}'s result carries no gradient: did you detach everything, or use torch.no_grad()?")
    return value


def _close(a, b):
    return (a - b).abs().max().item() < 1e-9


@checker
def check_one_loss(answer):
    """answer(G, D, x, z): the energy GAN as one stop-gradient loss, G run once."""
    for seed in range(3):
        G, D, x, z = _small_gan(seed)
        runs = []
        hook = G.register_forward_hook(lambda *_, runs=runs: runs.append(1))
        loss = _call(answer, "one_loss", G, D, x, z)
        hook.remove()
        fake = G(z)
        d_ok = _close(param_grads(loss, D), param_grads(losses.energy_d_loss(D, x, fake), D))
        g_ok = _close(param_grads(loss, G), param_grads(losses.energy_g_loss(D, fake), G))
        if not d_ok and not g_ok:
            raise Wrong("neither player gets its gradient; the loss is E D(x) - 2 E D(sg(G(z))) + E D(G(z)), "
                        "with sg = .detach()")
        if not d_ok:
            raise Wrong("G's gradient is right but D's is not: D must get the gradient of E D(x) - E D(G(z)). "
                        "Check the factor 2 on the detached term")
        if not g_ok:
            raise Wrong("D's gradient is right but G's is not: G must get the gradient of E D(G(z)) only. "
                        "Is exactly one term undetached in G(z), with a + sign?")
        if len(runs) != 1:
            raise Wrong(f"G ran {len(runs)} times; the stop-gradient form needs one run: "
                        "fake = G(z), then use fake and fake.detach()")


@checker
def check_routes(answer):
    """answer(G, D, x, z) -> {term: set of "G"/"D" whose weights get a nonzero gradient from it}."""
    G, D, x, z = _small_gan(0)
    got = answer(G, D, x, z)
    if not isinstance(got, dict) or set(got) != set(TERMS):
        raise Wrong(f"return a dict with exactly the keys {TERMS}, got "
                    f"{sorted(got) if isinstance(got, dict) else type(got).__name__}")
    fake = G(z)
    terms = {TERMS[0]: D(x).mean(), TERMS[1]: -2 * D(fake.detach()).mean(), TERMS[2]: D(fake).mean()}
    for term, value in terms.items():
        want = {name for name, net in (("G", G), ("D", D)) if param_grads(value, net).abs().max() > 0}
        mine = got[term]
        if not isinstance(mine, (set, frozenset)) or not mine <= {"G", "D"}:
            raise Wrong(f"for {term!r} give a set of network names, like {{'D'}} or {{'G', 'D'}}; got {mine!r}")
        if mine != want:
            raise Wrong(f"{term!r} does not send gradient to exactly {sorted(mine)}. Compute it with "
                        "torch.autograd.grad(term, list(net.parameters()), allow_unused=True, "
                        "retain_graph=True) and see which gradients are nonzero")


@checker
def check_ebgan_one_loss(answer):
    """answer(G, A, x, z, margin): EBGAN as one loss; A's gradient of ebgan_d_loss, G's of ebgan_g_loss."""
    for seed, margin in ((0, 50.0), (1, 0.0), (2, 0.3)):
        G, A, x, z = _small_gan(seed, discriminator="mlp-ign")
        loss = _call(answer, "ebgan_one_loss", G, A, x, z, margin)
        fake = G(z)
        a_ok = _close(param_grads(loss, A), param_grads(losses.ebgan_d_loss(A, x, fake, margin, "l2sq"), A))
        g_ok = _close(param_grads(loss, G), param_grads(losses.ebgan_g_loss(A, fake, "l2sq"), G))
        if not g_ok:
            raise Wrong(f"G's gradient is wrong (margin {margin}): G must learn from delta(G(z)) only; the hinge "
                        "max(0, m - delta(.)) must see G(z).detach(). Distance: losses.energy(A, y, 'l2sq')")
        if not a_ok:
            raise Wrong(f"A's gradient is wrong (margin {margin}): A must get the gradient of "
                        "E delta(x) + E max(0, m - delta(sg G(z))) only. The generator's term delta(G(z)) "
                        "also reaches A: cancel that with - E delta(sg(G(z))), as in the GAN's single loss")
