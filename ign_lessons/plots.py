"""Figures of the course, drawn with matplotlib. Each function draws on an `ax` (made if None)."""
import matplotlib.pyplot as plt
import numpy as np
import torch


def _ax(ax, size=(4, 4)):
    if ax is None:
        _, ax = plt.subplots(figsize=size)
    return ax


def _ticks(ax, limit):
    ticks = [t for t in (-2, 0, 2) if abs(t) < limit] or [0]
    ax.set_xticks(ticks)
    ax.set_yticks(ticks)
    ax.tick_params(labelsize=7, length=2)


def plane(limit=3.0, steps=100):
    """A grid of points over [-limit, limit]^2: returns (points (steps^2, 2), xs, ys)."""
    xs = torch.linspace(-limit, limit, steps)
    gx, gy = torch.meshgrid(xs, xs, indexing="xy")
    return torch.stack([gx.flatten(), gy.flatten()], 1), gx.numpy(), gy.numpy()


def points(samples, ax=None, title=None, limit=3.0, **style):
    """Scatter 2D samples."""
    ax = _ax(ax)
    s = samples.detach().cpu().numpy()
    ax.scatter(s[:, 0], s[:, 1], s=style.pop("s", 4), alpha=style.pop("alpha", 0.6), **style)
    ax.set(xlim=(-limit, limit), ylim=(-limit, limit), aspect="equal", title=title)
    _ticks(ax, limit)
    return ax


@torch.no_grad()
def heatmap(function, ax=None, limit=3.0, steps=100, title=None, cmap="viridis", colorbar=True, **style):
    """Colour the plane by a function of 2D points (a discriminator, an energy delta(x), ...)."""
    ax = _ax(ax)
    grid, gx, gy = plane(limit, steps)
    param = next(iter(getattr(function, "parameters", lambda: iter(()))()), None)
    device = param.device if param is not None else "cpu"
    values = function(grid.to(device)).reshape(steps, steps).cpu().numpy()
    mesh = ax.pcolormesh(gx, gy, values, cmap=cmap, shading="auto", **style)
    if colorbar:
        plt.colorbar(mesh, ax=ax, fraction=0.046, pad=0.04)
    ax.set(xlim=(-limit, limit), ylim=(-limit, limit), aspect="equal", title=title)
    _ticks(ax, limit)
    return ax


@torch.no_grad()
def vector_field(f, ax=None, limit=3.0, steps=20, title=None, **style):
    """Arrows from x to f(x) over the plane: where one application of f moves each point."""
    ax = _ax(ax)
    grid, gx, gy = plane(limit, steps)
    param = next(f.parameters(), None) if hasattr(f, "parameters") else None
    moved = f(grid.to(param.device if param is not None else "cpu")).cpu() - grid
    ax.quiver(gx, gy, moved[:, 0].reshape(steps, steps).numpy(), moved[:, 1].reshape(steps, steps).numpy(),
              angles="xy", scale_units="xy", scale=1, width=0.004, color=style.pop("color", "0.3"), **style)
    ax.set(xlim=(-limit, limit), ylim=(-limit, limit), aspect="equal", title=title)
    _ticks(ax, limit)
    return ax


def image_grid(images, ax=None, rows=None, title=None, labels=None):
    """Show a batch of images (N, 1, H, W) in [-1, 1] as one grid."""
    images = images.detach().cpu().clamp(-1, 1)
    n, _, h, w = images.shape
    rows = rows or int(np.ceil(np.sqrt(n)))
    cols = int(np.ceil(n / rows))
    canvas = np.full((rows * (h + 1) + 1, cols * (w + 1) + 1), 0.25)  # light grey frames
    for i in range(n):
        r, c = divmod(i, cols)
        canvas[1 + r * (h + 1): 1 + r * (h + 1) + h, 1 + c * (w + 1): 1 + c * (w + 1) + w] = \
            (images[i, 0].numpy() + 1) / 2
    ax = _ax(ax, size=(cols * 0.5 + 1, rows * 0.5 + 0.5))
    ax.imshow(canvas, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    ax.set(title=title)
    ax.axis("off")
    return ax


def curves(history, names=None, ax=None, smooth=25, title=None):
    """Plot loss curves from a History, smoothed by a running mean of `smooth` steps."""
    ax = _ax(ax, size=(6, 3))
    for name in names or list(history):
        values = np.asarray(history[name])
        if smooth > 1 and len(values) > smooth:
            values = np.convolve(values, np.ones(smooth) / smooth, mode="valid")
        ax.plot(values, label=name)
    ax.set(xlabel="step", title=title)
    ax.legend()
    return ax


def snapshots(images_by_step, title=None, width=None):
    """Rows of samples from the same fixed z at several training steps: {step: images (N, 1, H, W)}."""
    steps = list(images_by_step)
    n = len(next(iter(images_by_step.values())))
    fig, axes = plt.subplots(len(steps), 1, figsize=(width or 0.55 * n + 1.2, 0.62 * len(steps) + 0.6),
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
    ax = _ax(ax, size=(9, 3.4))
    names = list(shares_by_name)
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
    ax.legend(fontsize="small", ncol=3, loc="upper left")
    return ax
