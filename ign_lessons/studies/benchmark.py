"""Time one training step of each model and loss form; report ratios measured in one run.

Rounds are interleaved (every form once per round) so that machine load affects all forms alike;
the median over rounds is reported, relative to the 2D GAN step.
"""
import statistics
import time

import torch

from .. import data, losses, train


def _ign_step(loss_fn, f, opt, x):
    z = torch.randn_like(x)
    loss = loss_fn(f, x, z)
    opt.zero_grad()
    loss.backward()
    opt.step()


def _gan_step(G, D, opt_g, opt_d, x):
    fake = G(torch.randn((len(x), *G.latent_shape)))
    d_loss = losses.gan_d_loss(D, x, fake)
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    g_loss = losses.gan_g_loss(D, fake)
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()


def forms(batch=128):
    """name -> a function doing one training step (each with its own models and optimizer).

    Every IGN form uses IGN's default weights and distance for its data (train.IGN_DEFAULTS)."""
    points, digits = data.toy2d("ring", batch), data.digits()[0][:batch]
    steps = {}
    for label, x in (("2D", points), ("digits", digits)):
        weights = train.ign_defaults(x)["weights"]
        G, D = train.default_models(x, ("generator", "discriminator"))
        opts = torch.optim.Adam(G.parameters()), torch.optim.Adam(D.parameters())
        steps[f"GAN {label}"] = lambda G=G, D=D, o=opts, x=x: _gan_step(G, D, *o, x)
        f = train.default_models(x, ("ign",))[0]
        opt = torch.optim.Adam(f.parameters())
        steps[f"IGN {label} (frozen, functional)"] = lambda f=f, o=opt, x=x, w=weights: _ign_step(
            lambda f, x, z: losses.ign_loss(f, x, z, w)[0], f, o, x)
        steps[f"IGN {label} (stop-gradient)"] = lambda f=f, o=opt, x=x, w=weights: _ign_step(
            lambda f, x, z: losses.ign_loss_stopgrad(f, x, z, w), f, o, x)
        twin = losses.frozen_copy(f)
        steps[f"IGN {label} (paper listing, copy refreshed)"] = lambda f=f, o=opt, x=x, t=twin, w=weights: _ign_step(
            lambda f, x, z: losses.ign_loss_paper_listing(f, t, x, z, w), f, o, x)
    return steps


def measure(rounds=7, repeats=20):
    """Median seconds per step of each form, rounds interleaved."""
    table = forms()
    times = {name: [] for name in table}
    for step in table.values():
        step()  # warm-up
    for _ in range(rounds):
        for name, step in table.items():
            start = time.perf_counter()
            for _ in range(repeats):
                step()
            times[name].append((time.perf_counter() - start) / repeats)
    return {name: statistics.median(t) for name, t in times.items()}


def main():
    result = measure()
    base = result["GAN 2D"]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; ratio = time / (GAN 2D step)")
    print(f"{'form':<46}{'ms/step':>9}{'ratio':>8}")
    for name, seconds in result.items():
        print(f"{name:<46}{seconds * 1e3:>9.2f}{seconds / base:>8.2f}")
    return result
