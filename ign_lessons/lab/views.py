"""What the lab draws, computed from a session: data, not pictures.

`frame(session, n, probe)` returns one frame as a dict of small numbers and compact float32 arrays (bytes):
the data and the samples, a grid of the energy delta (IGN, split IGN) or of D's probability of "real" (GAN),
the vector field f(x) - x (or the generator's gradient on the fakes), the warped grid of the generator, the
orbits f^n(z), the probe, the losses and the coverage trace. The browser (lab.js) draws it; a frame is a
few tens of kilobytes and takes a few milliseconds to compute.

`static_views` draws the same views with matplotlib, for places where widgets cannot run (an HTML export).
"""
import io
import math

import numpy as np
import torch

from .. import data, losses, models, plots
from .session import FIXED_TOL, LIMIT, N_SHOW, N_TRAJECTORIES, Session

HEAT_GRID = 48             # the heatmap: 48 x 48 cells over the plane (the browser smooths it)
FIELD_GRID = 15            # arrows of the vector field: 15 x 15, thinned from the heatmap's grid
WARP_LINES, WARP_POINTS, WARP_LIMIT = 13, 40, 2.5   # the warped grid: 13 + 13 lines of 40 points, z in [-2.5, 2.5]
N_ARROWS = 120             # the GAN's gradient arrows, on the first 120 fakes
ENERGY_RANGE = (-3.0, math.log10(3.0))  # the energy's colour scale: log10 delta from 0.001 to 3
LOSS_POINTS = 300          # at most this many points per loss curve


def f32(tensor):
    """A tensor (or array) as little-endian float32 bytes, the form the browser reads as a Float32Array."""
    array = tensor.detach().cpu().numpy() if torch.is_tensor(tensor) else np.asarray(tensor)
    return np.ascontiguousarray(array, dtype="<f4").tobytes()


def _plane(steps):
    grid, _, _ = data.plane(LIMIT, steps)  # row-major from (-L, -L): x fastest
    return grid


@torch.no_grad()
def _warp_lines(net, latent):
    """The warped grid: lines of constant z2 then of constant z1, each WARP_POINTS points, mapped by `net`."""
    along = torch.linspace(-WARP_LIMIT, WARP_LIMIT, WARP_POINTS)
    lines = []
    for value in torch.linspace(-WARP_LIMIT, WARP_LIMIT, WARP_LINES):
        lines.append(torch.stack([along, value.expand_as(along)], 1))
    for value in torch.linspace(-WARP_LIMIT, WARP_LIMIT, WARP_LINES):
        lines.append(torch.stack([value.expand_as(along), along], 1))
    z = torch.cat(lines)
    if latent != 2:
        return None
    return net(z.to(models.device_of(net))).cpu()


def _curves(history):
    """Each loss as (first index, stride, smoothed values), at most LOSS_POINTS points."""
    out = {}
    for name, values in history.items():
        if name == "r1" or not values:
            continue
        v = np.asarray(values, dtype=np.float64)
        window = max(1, min(25, len(v) // 20))
        if window > 1:
            kernel = np.ones(window) / window
            v = np.convolve(v, kernel, mode="valid")
        stride = max(1, math.ceil(len(v) / LOSS_POINTS))
        out[name] = v[::stride]
    return out


@torch.no_grad()
def frame(session, n=3, probe=None, layers=None):
    """One frame of the session as it is now: a dict for the browser (see the module's docstring).

    layers: the views shown (None: all); the vector field, the warped grid and the orbits are computed only
    when shown (the browser asks for a new frame when one is switched on)."""
    s = session
    shown = lambda name: layers is None or name in layers
    with s.lock:
        dev = models.device_of(s.generator)
        fake = s.samples()
        real = s.real[:N_SHOW]
        out = {"kind": s.kind, "step": s.steps, "dataset": s.settings["dataset"], "n": n, "limit": LIMIT,
               "data": f32(real), "samples": f32(fake.clamp(-50, 50)), "alarm": s.alarm or "",
               "verdict": s.verdict(), "checkpoint": s.checkpoint or ""}
        grid = _plane(HEAT_GRID).to(dev)
        if s.autoencoder is not None:
            A = s.autoencoder
            with models.evaluating(A), models.evaluating(s.generator):
                delta = losses.energy(A, grid, s.settings["distance"]).cpu()
                out["heat"] = f32(delta.clamp_min(1e-12).log10().clamp(*ENERGY_RANGE))
                out["heat_kind"], out["heat_range"] = "energy", list(ENERGY_RANGE)
                out["fixed_level"] = math.log10(FIXED_TOL)
                field = _plane(FIELD_GRID).to(dev)
                out["field"] = f32(torch.cat([field.cpu(), (A(field) - field).cpu()], 1)) if shown("field") else None
                out["orbits"], out["orbit_len"] = None, 0
                if shown("orbits"):
                    path = s.orbit(s.z[:N_TRAJECTORIES], n)
                    out["orbits"] = f32(torch.stack(path, 1))  # (trajectories, n + 1, 2)
                    out["orbit_len"] = len(path)
                out["warp"] = f32(_warp_lines(s.generator, 2)) if s.kind == "IGN" and shown("warp") else None
        else:
            G, D = s.generator, s.discriminator
            with models.evaluating(G), models.evaluating(D):
                out["heat"] = f32(torch.sigmoid(D(grid)).cpu().reshape(-1))
                out["heat_kind"], out["heat_range"], out["fixed_level"] = "p_real", [0.0, 1.0], None
                out["field"] = out["warp"] = None
                if shown("field"):
                    with torch.enable_grad():
                        push = losses.fake_gradients(D, fake[:N_ARROWS].to(dev), s.settings["loss"]).cpu()
                    out["field"] = f32(torch.cat([fake[:N_ARROWS], push], 1))
                warp = _warp_lines(G, s.settings["latent"]) if shown("warp") else None
                out["warp"] = f32(warp) if warp is not None else None
                out["orbits"], out["orbit_len"] = None, 0
        out["heat_grid"], out["field_grid"] = HEAT_GRID, FIELD_GRID
        out["warp_shape"] = [2 * WARP_LINES, WARP_POINTS]
        curves = _curves(s.history)
        first = s.steps - len(next(iter(s.history.values()))) if s.history else s.steps
        out["losses"] = {name: {"start": first, "stride": max(1, math.ceil(len(s.history[name]) / LOSS_POINTS)),
                                "values": f32(v)} for name, v in curves.items()}
        t = s.trace
        out["trace"] = {"step": list(t["step"]), "modes": list(t["modes"]), "of": t["of"],
                        "near": [round(v, 4) for v in t["near"]], "dist": [round(v, 4) for v in t["dist"]]}
        if s.kind != "GAN":
            out["weights"] = list(s.settings["weights"])
            last = {k: s.history[k][-1] for k in ("rec", "idem", "tight") if k in s.history}
            out["terms"] = {k: round(float(v), 5) for k, v in last.items()}
        out["probe"] = None
        if probe is not None:
            result = s.probe(*probe, n)
            out["probe"] = {"orbit": [list(map(float, p[0])) for p in result["orbit"]], "text": result["text"]}
        return out


# --- the same views with matplotlib, for static copies ------------------------------------------------

def new_figure():
    """The static figure: 2 rows of 3 panels, 12 x 7.4 inches."""
    import matplotlib.pyplot as plt
    fig = plt.figure(figsize=(12, 7.4), dpi=72)
    axes = fig.subplots(2, 3, gridspec_kw=dict(left=0.04, right=0.94, bottom=0.07, top=0.95, wspace=0.32,
                                               hspace=0.3))
    return fig, axes.ravel()


def draw(session, axes, n=3, probe=None):
    """Draw every view of the session's current state on six matplotlib axes."""
    from matplotlib.colors import LogNorm
    real = session.real[:N_SHOW]
    fake = session.samples()
    plots.points(real, ax=axes[0], color=plots.REAL_COLOUR, label="data")
    plots.points(fake, ax=axes[0], color=plots.FAKE_COLOUR, label="generated",
                 title=f"{session.kind}: samples vs data, step {session.steps}")
    axes[0].legend(loc="upper right", markerscale=3)
    if session.autoencoder is not None:
        f, A = session.generator, session.autoencoder
        if session.kind == "IGN":
            plots.trajectories(f, session.z[:N_TRAJECTORIES], n=n, ax=axes[1], real=real)
        else:
            plots.trajectories(A, session.orbit(session.z[:N_TRAJECTORIES], 1)[-1], n=n - 1, ax=axes[1], real=real)
        axes[1].set_title(f"f^n(z), n = {n}: z re-applied to f" if session.kind == "IGN"
                          else f"G(z), then A applied {n - 1} time(s)")
        energy = lambda y: losses.energy(A, y, session.settings["distance"]).clamp_min(10 ** ENERGY_RANGE[0])
        a = "f" if session.kind == "IGN" else "A"
        plots.heatmap(energy, ax=axes[2], steps=110, colorbar=True, cmap="magma",
                      norm=LogNorm(10 ** ENERGY_RANGE[0], 10 ** ENERGY_RANGE[1]),
                      title=f"energy delta(y) = d({a}(y), y); dark: low")
        plots.fixed_points(A, ax=axes[3], distance=session.settings["distance"], real=real, steps=64, legend=False)
        plots.vector_field(A, ax=axes[3], steps=17, title=f"vector field {a}(x) - x, fixed points", color="0.25")
    else:
        G, D = session.generator, session.discriminator
        plots.discriminator_view(D, G, session.z, real=real, ax=axes[1], colorbar=False, n_arrows=120,
                                 title="D's P(real), fakes, gradient arrows")
        if tuple(G.latent_shape) == (2,):
            plots.generator_grid(G, ax=axes[2], title="the warped generator grid G(z)")
        plots.heatmap(lambda y: torch.sigmoid(D(y)), ax=axes[3], steps=110, colorbar=True, cmap="PRGn",
                      vmin=0, vmax=1, title="D's probability of \"real\"")
    _traces(session, axes[4], axes[5])
    if probe is not None:
        path = torch.cat(probe["orbit"]).numpy()
        for ax in (list(axes[1:4]) if session.autoencoder is not None else [axes[1], axes[3]]):
            ax.plot(path[:, 0], path[:, 1], "-o", color="#00b4ff", ms=5, lw=1.5, zorder=10, mec="black", mew=0.6)
            ax.plot(*path[0], marker="*", color="#00b4ff", ms=14, mec="black", zorder=11)


def _traces(session, ax_loss, ax_cover):
    history = session.history
    if history:
        names = [k for k in ("loss", "rec", "idem", "tight", "d_loss", "g_loss") if k in history]
        labels = {}
        if {"idem", "tight"} <= set(names) and np.array_equal(history["tight"], -np.asarray(history["idem"])):
            names.remove("tight")  # the same numbers, negated (no clamp): one curve says both
            labels["idem"] = "idem (= -tight)"
        smooth = min(25, max(1, len(history[names[0]]) // 10))
        low, high = min(min(history[k]) for k in names), max(max(history[k]) for k in names)
        scale = "linear" if low > 0 and high < 10 * low else "log" if low > 0 else "symlog"
        plots.curves(history, names, ax=ax_loss, smooth=smooth, start=session.steps - len(history[names[0]]) + 1,
                     labels=labels, title=f"losses: {smooth}-step means" + {"linear": "", "log": ", log axis",
                                                                             "symlog": ", log beyond ±0.1"}[scale])
        ax_loss.set_yscale(scale, **({"linthresh": 0.1} if scale == "symlog" else {}))
    else:
        ax_loss.text(0.5, 0.5, "no training yet", ha="center", va="center", transform=ax_loss.transAxes)
        ax_loss.set(title="losses", xticks=[], yticks=[])
    t = session.trace
    modes = t["modes"][-1] is not None
    ax_cover.plot(t["step"], t["near"], color=plots.MODEL_COLOURS[session.kind], marker=".",
                  label="share of samples near a mode" if modes else "share of samples near the data")
    ax_cover.set(ylim=(0, 1.02), xlabel="step", ylabel="share")
    if modes:
        ax_cover.step(t["step"], [m / t["of"] for m in t["modes"]], where="post", color="0.2",
                      label=f"modes covered / {t['of']}")
    ax_cover.set_title("coverage: " + session.verdict().split(":")[0] if session.alarm else
                       f"coverage: {t['modes'][-1]}/{t['of']}, {t['near'][-1]:.0%} near" if t["modes"][-1] is not None
                       else f"coverage: {t['near'][-1]:.0%} near data")
    ax_cover.legend(loc="best")


def png(fig, dpi=80):
    """A figure as PNG bytes (IPython.display.Image(png(fig)) shows it as a plain image anywhere)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def static_views(settings=None, steps=0, checkpoint=None, n=3, probe=(1.0, 1.0), **changes):
    """The lab's views as an ordinary matplotlib figure, for places where widgets cannot run (an HTML export).

    A Session of `settings` (with `changes`), from `checkpoint` if given, trained `steps` more steps.
    Returns (figure, session)."""
    session = Session(settings, **changes)
    if checkpoint:
        session.reset(checkpoint=checkpoint)
    session.step(steps)
    fig, axes = new_figure()
    draw(session, axes, n, session.probe(*probe, n) if probe else None)
    return fig, session
