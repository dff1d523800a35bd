"""Figures of the course, drawn with matplotlib. Each function draws on an `ax` (made if None).

One style for the whole course: the style sheet course.mplstyle beside this file (runtime.start
applies it) sets tick labels of at least 10 pt; figures are at most MAX_WIDTH inches wide; one
colour for real data, one for generated samples and one per model family (MODEL_COLOURS).
"""
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.collections import LineCollection
from matplotlib.colors import ListedColormap

from . import checks, data, losses
from .checks import CourseError
from .models import device_of

MAX_WIDTH = 12  # inches: wider figures shrink on a projector until their labels cannot be read
REAL_COLOUR, FAKE_COLOUR = "#00441b", "#762a83"  # green for data, purple for generated samples
MODEL_COLOURS = {"GAN": "#1f77b4", "IGN": "#d95f02", "split IGN": "#7570b3", "split IGN, matched size": "#e7298a",
                 "EBGAN": "#1b9e77"}


def _ax(ax, size=(4, 4)):
    if ax is None:
        _, ax = plt.subplots(figsize=size)
    return ax


def _ticks(ax, limit):
    ticks = [t for t in (-2, 0, 2) if abs(t) < limit] or [0]
    ax.set_xticks(ticks)
    ax.set_yticks(ticks)
    ax.tick_params(length=2)


def points(samples, ax=None, title=None, limit=3.0, **style):
    """Scatter 2D samples."""
    s = checks.tensor("samples", samples.detach() if isinstance(samples, torch.Tensor) else samples, dims=2,
                      minimum=0)
    if s.shape[1] != 2:
        raise CourseError(f"plots.points draws 2D points (N, 2), got {tuple(s.shape)}; for images use image_grid.")
    ax = _ax(ax)
    s = s.cpu().numpy()
    ax.scatter(s[:, 0], s[:, 1], s=style.pop("s", 4), alpha=style.pop("alpha", 0.6), **style)
    ax.set(xlim=(-limit, limit), ylim=(-limit, limit), aspect="equal", title=title)
    _ticks(ax, limit)
    return ax


def _called(net):
    """How a message names a network (its kind, as models.build made it) or a function."""
    return getattr(net, "spec", {}).get("kind") or getattr(net, "role", None) or type(net).__name__


def _scores(function, grid, what):
    """function(grid) with one number per point of the plane; anything else is refused, saying what to draw."""
    values = function(grid.to(device_of(function))).cpu()
    if values.numel() != len(grid):
        role = getattr(function, "role", None)
        hint = {"ign": "for an IGN network draw its energy, plots.heatmap(lambda y: losses.energy(f, y)), or "
                       "plots.fixed_points(f)",
                "generator": "for a generator draw its samples, plots.points(models.sample(G, 1000)), or its warp, "
                             "plots.generator_grid(G)"}.get(role, "pass a discriminator or a function of one number "
                                                                  "per point")
        raise CourseError(f"{what} colours the plane by one number per point, but this {_called(function)} gives "
                          f"{tuple(values.shape[1:])} per point; {hint}.")
    return values


def _extent(limit, steps):
    """imshow's extent for values on data.plane(limit, steps): each fills the square around its point."""
    half = limit / (steps - 1)
    return (-limit - half, limit + half, -limit - half, limit + half)


@torch.no_grad()
def heatmap(function, ax=None, limit=3.0, steps=100, title=None, cmap="viridis", colorbar=True, **style):
    """Colour the plane by a function of 2D points (a discriminator, an energy delta(x), ...)."""
    ax = _ax(ax)
    grid, _, _ = data.plane(limit, steps)
    values = _scores(function, grid, "heatmap").reshape(steps, steps).numpy()
    mesh = ax.imshow(values, cmap=cmap, origin="lower", extent=_extent(limit, steps), interpolation="nearest",
                     **style)
    if colorbar:
        plt.colorbar(mesh, ax=ax, fraction=0.046, pad=0.04)
    ax.set(xlim=(-limit, limit), ylim=(-limit, limit), aspect="equal", title=title)
    _ticks(ax, limit)
    return ax


@torch.no_grad()
def vector_field(f, ax=None, limit=3.0, steps=20, title=None, **style):
    """Arrows from x to f(x) over the plane: where one application of f moves each point."""
    ax = _ax(ax)
    grid, gx, gy = data.plane(limit, steps)
    moved = f(grid.to(device_of(f))).cpu()
    if moved.shape != grid.shape:
        raise CourseError(f"vector_field draws the arrows x -> f(x) of a network that maps 2D points to 2D points "
                          f"(an IGN network or an autoencoder), but this {_called(f)} gives "
                          + ("one number" if moved.dim() == 1 else f"{tuple(moved.shape[1:])}")
                          + " per point; for a discriminator draw its score, plots.heatmap(D).")
    moved = moved - grid
    ax.quiver(gx, gy, moved[:, 0].reshape(steps, steps).numpy(), moved[:, 1].reshape(steps, steps).numpy(),
              angles="xy", scale_units="xy", scale=1, width=0.004, color=style.pop("color", "0.3"), **style)
    ax.set(xlim=(-limit, limit), ylim=(-limit, limit), aspect="equal", title=title)
    _ticks(ax, limit)
    return ax


def image_grid(images, ax=None, rows=None, title=None, labels=None):
    """Show a batch of images (N, 1, H, W) in [-1, 1] as one grid."""
    images = checks.tensor("images", images.detach() if isinstance(images, torch.Tensor) else images, dims=4)
    if images.shape[1] != 1:
        raise CourseError(f"image_grid shows one-channel images (N, 1, H, W), got {tuple(images.shape)}; for flat "
                          "8x8 digits use images.reshape(-1, 1, 8, 8).")
    images = images.cpu().clamp(-1, 1)
    n, _, h, w = images.shape
    rows = rows or int(np.ceil(np.sqrt(n)))
    cols = int(np.ceil(n / rows))
    canvas = np.full((rows * (h + 1) + 1, cols * (w + 1) + 1), 0.25)  # light grey frames
    for i in range(n):
        r, c = divmod(i, cols)
        canvas[1 + r * (h + 1): 1 + r * (h + 1) + h, 1 + c * (w + 1): 1 + c * (w + 1) + w] = \
            (images[i, 0].numpy() + 1) / 2
    ax = _ax(ax, size=(min(MAX_WIDTH, cols * 0.5 + 1), rows * 0.5 + 0.5))
    ax.imshow(canvas, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    ax.set(title=title)
    ax.axis("off")
    return ax


def curves(history, names=None, ax=None, smooth=25, title=None, start=1, labels=None):
    """Plot loss curves from a History, smoothed by a running mean of `smooth` steps, against the step each value
    ends at (`start`: the step of the history's first value); `labels`: {name: legend text}."""
    names = names or [name for name in history if len(history[name])]
    if not names:
        raise CourseError("the history has no values to draw: train for at least one step first.")
    for name in names:
        checks.choice("curve", name, list(history))
    ax = _ax(ax, size=(6, 3))
    for name in names:
        values = np.asarray(history[name])
        window = smooth if smooth > 1 and len(values) > smooth else 1
        if window > 1:
            values = np.convolve(values, np.ones(window) / window, mode="valid")
        ax.plot(start + window - 1 + np.arange(len(values)), values, label=(labels or {}).get(name, name))
    ax.set(xlabel="step", title=title)
    ax.legend()
    return ax


def snapshots(images_by_step, title=None, width=None):
    """Rows of samples from the same fixed z at several training steps: {step: images (N, 1, H, W)}."""
    steps = list(images_by_step)
    if not steps:
        raise CourseError("snapshots needs images of at least one step: {step: images (N, 1, H, W)}.")
    n = len(next(iter(images_by_step.values())))
    fig, axes = plt.subplots(len(steps), 1, figsize=(width or min(MAX_WIDTH, 0.55 * n + 1.2), 0.62 * len(steps) + 0.6),
                             squeeze=False)
    for ax, step in zip(axes[:, 0], steps):
        image_grid(images_by_step[step], ax=ax, rows=1)
        ax.text(-0.01, 0.5, f"step {step}", transform=ax.transAxes, ha="right", va="center")
    if title:
        fig.suptitle(title)
    return fig


def class_shares(shares_by_name, ax=None, min_share=0.03, top=0.3, title="Share of samples per predicted digit"):
    """Grouped bars: for each named sample set, the share the classifier puts in each of 10 classes.

    The axis stops at `top`; taller bars are cut there and labelled with their value."""
    names = list(shares_by_name)
    if not names:
        raise CourseError("class_shares needs at least one named set of shares: {name: 10 shares}.")
    for name, shares in shares_by_name.items():
        try:
            shape = f"shape {np.shape(np.asarray(shares, dtype=float))}"
        except (TypeError, ValueError):
            shape = "a ragged list (rows of different lengths) or values that are not numbers"
        if shape != "shape (10,)":
            raise CourseError(f"class_shares: {name!r} must be 10 shares, one per digit, got {shape}.")
    ax = _ax(ax, size=(9, 3.4))
    width = 0.8 / len(names)
    for i, name in enumerate(names):
        shares = np.asarray(shares_by_name[name], dtype=float)
        x = np.arange(len(shares)) + (i - (len(names) - 1) / 2) * width
        ax.bar(x, np.minimum(shares, top), width, label=name)
        for xi, share in zip(x, shares):
            if share > top:
                ax.text(xi, top * 0.97, f"{share:.0%}", ha="center", va="top", fontsize="small",
                        rotation=90, color="white")
    ax.axhline(0.1, color="0.4", lw=1, ls=":", label="uniform (10%)")
    ax.axhline(min_share, color="red", lw=1, ls="--", label=f"coverage threshold ({min_share:.0%})")
    ax.set(xticks=range(10), ylim=(0, top), xlabel="predicted digit", ylabel="share of samples", title=title)
    ax.legend(fontsize="small", ncol=2, loc="upper left")
    return ax


# --- GAN Lab-style views of a 2D GAN (after Kahng et al., GAN Lab, IEEE VIS 2018) ---------------

def _probabilities(D, grid):
    with torch.no_grad():
        return torch.sigmoid(_scores(D, grid, "D's probability of \"real\""))


def gan_snapshot(G, D, z, limit=3.0, steps=60):
    """What a GAN view needs at one moment: the fakes G(z) and D's probability of "real" over the plane."""
    grid, _, _ = data.plane(limit, steps)
    with torch.no_grad():
        fake = G(z.to(device_of(G))).cpu()
    return {"fake": fake, "prob": _probabilities(D, grid).reshape(steps, steps), "limit": limit}


def _draw_snapshot(snap, ax, real=None, arrows=None, arrow_scale=None, colorbar=False, title=None, n_points=500,
                   n_arrows=150):
    limit, prob = snap["limit"], snap["prob"]
    steps = prob.shape[0]
    _, gx, gy = data.plane(limit, steps)
    mesh = ax.pcolormesh(gx, gy, prob.numpy(), cmap="PRGn", vmin=0, vmax=1, shading="auto", alpha=0.6)
    if colorbar:
        bar = plt.colorbar(mesh, ax=ax, fraction=0.046, pad=0.04)
        bar.set_label("D's probability of \"real\"")
    if real is not None:
        r = real[:n_points].detach().cpu().numpy()
        ax.scatter(r[:, 0], r[:, 1], s=8, color=REAL_COLOUR, edgecolors="white", linewidths=0.4, label="real")
    f = snap["fake"][:n_points].numpy()
    ax.scatter(f[:, 0], f[:, 1], s=8, color=FAKE_COLOUR, edgecolors="white", linewidths=0.4, label="fake")
    outside = _beyond_the_frame(ax, f, limit)
    if outside:  # said in the title, where it covers nothing
        title = f"{title or ''}{' · ' if title else ''}{outside} outside"
    if arrows is not None:
        a = arrows[:n_arrows].detach().cpu().numpy()
        if arrow_scale is None:  # the 90th-percentile arrow is drawn 0.4 long
            arrow_scale = float(np.percentile(np.linalg.norm(a, axis=1), 90)) / 0.4 or 1.0
        ax.quiver(f[:len(a), 0], f[:len(a), 1], a[:, 0], a[:, 1], angles="xy", scale_units="xy",
                  scale=arrow_scale, width=0.005, color="black", alpha=0.8)
    ax.set(xlim=(-limit, limit), ylim=(-limit, limit), aspect="equal", title=title)
    _ticks(ax, limit)
    return ax


def _beyond_the_frame(ax, points, limit):
    """Points outside the square [-limit, limit]^2 drawn on its edge as hollow triangles, so that samples
    that left the view are seen to have left it; returns how many there are."""
    outside = np.abs(points).max(axis=1) > limit
    if outside.any():
        edge = np.clip(points[outside], -0.96 * limit, 0.96 * limit)
        ax.scatter(edge[:, 0], edge[:, 1], s=28, marker="^", facecolors="none", edgecolors=FAKE_COLOUR,
                   linewidths=1, clip_on=False, zorder=4)
    return int(outside.sum())


def discriminator_view(D, G=None, z=None, real=None, loss="nonsaturating", arrows=True, ax=None, limit=3.0,
                       title=None, arrow_scale=None, colorbar=True, n_arrows=150):
    """GAN Lab's main view: D's probability of "real" as a heatmap (green: real, purple: fake), the
    real samples, the fakes G(z), and on each fake an arrow, the push of the generator's loss.

    Arrows are drawn on the first `n_arrows` fakes. arrow_scale: the gradient length drawn as one unit
    of the plane (None: fit the arrows to the panel); give two panels the same value to compare lengths."""
    ax = _ax(ax, size=(5, 4.3))
    if G is None or z is None:
        raise CourseError("discriminator_view needs the generator G and its input z (e.g. models.noise((2,), 500)).")
    snap = gan_snapshot(G, D, z, limit)
    pushes = losses.fake_gradients(D, snap["fake"].to(device_of(D)), loss).cpu() if arrows else None
    return _draw_snapshot(snap, ax, real, pushes, arrow_scale, colorbar, title, n_arrows=n_arrows)


@torch.no_grad()
def generator_grid(G, ax=None, z_limit=2.5, lines=13, limit=3.0, title=None, warped=True):
    """GAN Lab's generator view: a square grid of inputs z in [-z_limit, z_limit]^2 drawn after G
    has warped it into the data plane (warped=False draws the grid itself, for comparison).
    Lines of constant z2 are coloured by z2 (viridis), lines of constant z1 are grey."""
    if getattr(G, "role", None) != "generator":
        raise CourseError(f"generator_grid draws how a GAN generator G warps a grid of z's; got a {_called(G)}"
                          + (": for a discriminator draw its score, plots.heatmap(D)." if getattr(G, "role", None)
                             == "discriminator" else ": for an IGN network draw plots.vector_field(f)."))
    if tuple(G.latent_shape) != (2,):
        raise CourseError(f"generator_grid draws a 2D input grid; this generator takes z of shape {G.latent_shape}.")
    ax = _ax(ax)
    device = device_of(G)
    along = torch.linspace(-z_limit, z_limit, 300)
    colours = plt.get_cmap("viridis")(np.linspace(0, 1, lines))
    for value, colour in zip(torch.linspace(-z_limit, z_limit, lines), colours):
        for z, style in ((torch.stack([value.expand_as(along), along], 1), dict(color="0.6", lw=0.5)),
                         (torch.stack([along, value.expand_as(along)], 1), dict(color=colour, lw=0.9))):
            curve = (G(z.to(device)).cpu() if warped else z).numpy()
            ax.plot(curve[:, 0], curve[:, 1], alpha=0.9, **style)
    span = limit if warped else z_limit * 1.05
    ax.set(xlim=(-span, span), ylim=(-span, span), aspect="equal", title=title)
    _ticks(ax, span)
    return ax


def training_strip(snapshots, real=None, axes=None, title=None, size=2.4):
    """A row of GAN views over training: {step: gan_snapshot(...)}, one panel per step."""
    steps = list(snapshots)
    if not steps:
        raise CourseError("training_strip needs at least one snapshot: {step: plots.gan_snapshot(G, D, z)}.")
    if axes is None:
        fig, axes = plt.subplots(1, len(steps), figsize=(min(MAX_WIDTH, size * len(steps)), size + 0.4),
                                 squeeze=False)
        axes = axes[0]
        if title:
            fig.suptitle(title)
    for i, (ax, step) in enumerate(zip(axes, steps)):
        _draw_snapshot(snapshots[step], ax, real, title=f"step {step}")
        ax.tick_params(labelleft=i == 0)  # one y scale for the row: the panels share it
    return axes


def mode_share_history(trace, ax=None, title=None):
    """Stacked shares of the generated mass at each mode (nearest mode) over training, from a metrics.ModeTrace.

    A healthy run shows eight steady bands; a collapsed one a single band that changes colour."""
    trace.need(1, "mode_share_history")
    ax = _ax(ax, size=(6, 2.8))
    shares = np.asarray(trace.shares).T
    top = np.cumsum(shares, axis=0)
    colours = plt.get_cmap("tab10")(np.arange(len(shares)) % 10)
    for k, colour in enumerate(colours):  # each snapshot's shares hold until the next snapshot
        ax.fill_between(trace.steps, top[k] - shares[k], top[k], step="post", color=colour, linewidth=0)
    ax.set(xlim=(trace.steps[0], trace.steps[-1]), ylim=(0, 1), xlabel="step",
           ylabel="share of samples", title=title)
    return ax


_SUPERSCRIPTS = str.maketrans("0123456789", "\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079")


@torch.no_grad()
def trajectories(f, z, n=3, ax=None, real=None, limit=3.0, title=None, legend=True):
    """Paths z -> f(z) -> f(f(z)) -> ... for n applications of f: where re-applying f takes points.

    Grey lines join the successive positions of each point; each application has its own colour."""
    ax = _ax(ax)
    path = [z.to(device_of(f))]
    for _ in range(n):
        path.append(f(path[-1]))
    path = torch.stack(path).cpu().numpy()
    if real is not None:
        r = real.detach().cpu().numpy()
        ax.scatter(r[:, 0], r[:, 1], s=3, color="0.8", label="data")
    ax.add_collection(LineCollection(path.transpose(1, 0, 2), color="0.55", lw=0.6, alpha=0.7))  # one path per z
    names = ["z", "f(z)", "f(f(z))"] + [f"f{str(k).translate(_SUPERSCRIPTS)}(z)" for k in range(3, n + 1)]
    colours = plt.get_cmap("plasma")(np.linspace(0.0, 0.85, n + 1))
    for k in range(n + 1):
        ax.scatter(path[k, :, 0], path[k, :, 1], s=14 if k else 8, color=colours[k], label=names[k],
                   zorder=3 + k, edgecolors="none")
    ax.set(xlim=(-limit, limit), ylim=(-limit, limit), aspect="equal", title=title)
    if legend:
        ax.legend(loc="upper right", markerscale=1.5, framealpha=0.8)
    _ticks(ax, limit)
    return ax


@torch.no_grad()
def fixed_points(f, ax=None, tol=0.05, distance="l1", real=None, limit=3.0, steps=200, title=None, legend=True):
    """Shade the points f barely moves, delta(y) = d(f(y), y) < tol: the learnt set of fixed points."""
    ax = _ax(ax)
    grid, _, _ = data.plane(limit, steps)
    moved = losses.energy(f, grid.to(device_of(f)), distance).cpu()
    fixed = (moved < tol).reshape(steps, steps).numpy()
    if real is not None:
        r = real.detach().cpu().numpy()
        ax.scatter(r[:, 0], r[:, 1], s=2, color="0.6", alpha=0.5, label="data")
    if fixed.any():
        ax.imshow(np.ma.masked_where(~fixed, fixed), cmap=ListedColormap(["#e66101"]), alpha=0.75,
                  origin="lower", extent=_extent(limit, steps), interpolation="nearest")
        ax.plot([], [], "s", color="#e66101", label="fixed points")
    if legend:
        ax.legend(loc="upper right")
    ax.set(xlim=(-limit, limit), ylim=(-limit, limit), aspect="equal",
           title=title or f"fixed points: d(f(y), y) < {tol}")
    _ticks(ax, limit)
    return ax
