"""The energy GAN as one loss: every single-loss form has the gradients of the alternating losses."""
import pytest
import torch

from ign_lessons import losses, models

SEEDS = (0, 1, 2, 3)


def small_gan(seed):
    """Random small float64 networks, a real batch and a z batch (of another size, on purpose)."""
    torch.manual_seed(seed)
    G = models.build("mlp-generator", hidden=16, depth=2).double()
    D = models.build("mlp-discriminator", hidden=16, depth=2).double()
    return G, D, torch.randn(32, 2, dtype=torch.float64) * 2, torch.randn(24, 2, dtype=torch.float64)


def gradients(loss, nets):
    params = [p for net in nets for p in net.parameters()]
    return [torch.zeros_like(p) if g is None else g
            for p, g in zip(params, torch.autograd.grad(loss, params, allow_unused=True))]


def alternating_gradients(G, D, x, z):
    """D's gradients from energy_d_loss and G's from energy_g_loss, at the same point."""
    fake = G(z)
    return (gradients(losses.energy_g_loss(D, fake), [G])
            + gradients(losses.energy_d_loss(D, x, fake), [D]))


def max_difference(a, b):
    return max((u - v).abs().max().item() for u, v in zip(a, b))


SINGLE_LOSSES = {
    "frozen": losses.one_loss_frozen,
    "stopgrad": losses.one_loss_stopgrad,
    "deepcopy": losses.one_loss_copies,
    "listing": lambda G, D, x, z: losses.one_loss_copies(
        G, D, x, z, copies=(losses.frozen_copy(G), losses.frozen_copy(D))),
}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("form", SINGLE_LOSSES)
def test_single_loss_has_the_gradients_of_the_alternating_losses(form, seed):
    G, D, x, z = small_gan(seed)
    want = alternating_gradients(G, D, x, z)
    got = gradients(SINGLE_LOSSES[form](G, D, x, z), [G, D])
    assert max(g.abs().max().item() for g in want) > 1e-3  # the check is not trivially zero
    assert max_difference(got, want) < 1e-12


def test_listing_copies_are_refreshed_from_the_current_weights():
    G, D, x, z = small_gan(0)
    copies = losses.frozen_copy(G), losses.frozen_copy(D)
    with torch.no_grad():
        for p in [*G.parameters(), *D.parameters()]:
            p.add_(0.1)
    got = gradients(losses.one_loss_copies(G, D, x, z, copies=copies), [G, D])
    assert max_difference(got, alternating_gradients(G, D, x, z)) < 1e-12
    assert all(not p.requires_grad for twin in copies for p in twin.parameters())


def test_naive_single_losses_without_frozen_weights_are_wrong():
    G, D, x, z = small_gan(0)
    want = alternating_gradients(G, D, x, z)
    no_stopgrad = D(x).mean() - D(G(z)).mean()  # G would *raise* its energy
    assert max_difference(gradients(no_stopgrad, [G, D]), want) > 1e-3


def test_frozen_passes_gradient_to_the_input_and_none_to_the_weights():
    G, D, x, _ = small_gan(1)
    y = x.clone().requires_grad_(True)
    losses.frozen(D)(y).sum().backward()
    assert all(p.grad is None for p in D.parameters())
    y_plain = x.clone().requires_grad_(True)
    D(y_plain).sum().backward()
    assert torch.allclose(y.grad, y_plain.grad, rtol=0, atol=1e-12)
    assert y.grad.abs().max() > 0


def test_frozen_neither_copies_weights_nor_records_a_graph_for_them():
    G, D, x, _ = small_gan(2)
    frozen_D = losses.frozen(D)
    assert not frozen_D(x).requires_grad  # no graph at all when the input needs no gradient
    with torch.no_grad():  # an optimizer step after `frozen` was made is seen: weights are shared
        for p in D.parameters():
            p.mul_(1.5)
    assert torch.equal(frozen_D(x), D(x).detach())


def count_forwards(net):
    calls = []
    net.register_forward_hook(lambda *_: calls.append(1))
    return calls


def test_stop_gradient_form_runs_the_generator_once_the_frozen_form_twice():
    for form, g_calls in (("stopgrad", 1), ("frozen", 2)):
        G, D, x, z = small_gan(0)
        g, d = count_forwards(G), count_forwards(D)
        SINGLE_LOSSES[form](G, D, x, z).backward()
        assert (len(g), len(d)) == (g_calls, 3), form


def test_ebgan_losses_route_gradients_as_in_the_paper():
    torch.manual_seed(0)
    G = models.build("mlp-generator", hidden=16, depth=2).double()
    A = models.build("mlp-ign", hidden=16, depth=2).double()
    x, z = torch.randn(16, 2, dtype=torch.float64), torch.randn(16, 2, dtype=torch.float64)
    fake = G(z)
    energy = losses.energy(A, x)
    assert energy.shape == (16,) and torch.allclose(energy, (A(x) - x).abs().mean(1))
    d_grads = gradients(losses.ebgan_d_loss(A, x, fake, margin=1.0), [G])
    assert all(g.abs().max() == 0 for g in d_grads)  # the discriminator loss never trains G
    g_grads = gradients(losses.ebgan_g_loss(A, fake), [G])
    assert max(g.abs().max().item() for g in g_grads) > 0
    # a fake whose energy is above the margin gets no push from the hinge
    far = torch.full((4, 2), 50.0, dtype=torch.float64)
    hinge = gradients(losses.ebgan_d_loss(A, x, far, margin=1.0), [A])
    real_only = gradients(losses.energy(A, x).mean(), [A])
    assert max_difference(hinge, real_only) < 1e-12
