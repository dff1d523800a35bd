"""Figures of the course, drawn with matplotlib. Each function draws on an `ax` (made if None)."""
import matplotlib.pyplot as plt
import numpy as np
import torch


def _ax(ax, size=(4, 4)):
    if ax is None:
        _, ax = plt.subplots(figsize=size)
    return ax


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
    ax.set_xticks([])
    ax.set_yticks([])
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
    ax.set_xticks([])
    ax.set_yticks([])
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
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


def image_grid(images, ax=None, rows=None, title=None, labels=None):
    """Show a batch of images (N, 1, H, W) in [-1, 1] as one grid."""
    images = images.detach().cpu().clamp(-1, 1)
    n, _, h, w = images.shape
    rows = rows or int(np.ceil(np.sqrt(n)))
    cols = int(np.ceil(n / rows))
    canvas = np.ones((rows * (h + 1) + 1, cols * (w + 1) + 1))
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
