"""The idempotence lab of 08_idempotence_lab: train IGN, split IGN or a GAN on 2D data, live, in Jupyter.

Two layers, each small enough to test without a browser:

- `Session`: the model being trained and nothing else: its settings (checked, with a message that
  says what to change), `reset`, `step` (one update of train.IGNStep, train.SplitIGNStep or
  train.GANStep, the very objects the trainers loop over), `d_step`/`g_step` for the GAN, the
  history, a coverage trace, `orbit`/`probe` (a point under repeated f) and `save`.
- `Lab`: ipywidgets controls around a Session and one matplotlib figure of views drawn with
  `plots`. Play trains in short chunks on the kernel's event loop (an asyncio task) and redraws
  between chunks, so Pause, the sliders and the other buttons answer while it plays. With the
  ipympl backend (`%matplotlib widget`) the figure is an interactive canvas: click on a plane to
  probe a point; elsewhere it is shown as an image.

Like studies/ and exercises/, this module sits apart from the core: it imports the core (and the
tuned GAN settings of studies.gan_2d), nothing in the core imports it.
"""
import asyncio
import io
import math
import time
from pathlib import Path

import matplotlib.pyplot as plt
import torch
from matplotlib.axis import Axis
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LogNorm
from matplotlib.ticker import AutoLocator

from . import checkpoints, checks, data, losses, metrics, models, plots, runtime, train
from .losses import DISTANCES, IGNWeights
from .runtime import CourseError
from .studies import gan_2d, merged_vs_split

MODELS = ("IGN", "split IGN", "GAN")
SOURCES = ("matched", "standard")  # z ~ N(data mean, data std) per coordinate (data.gaussian_source), or N(0, I)
N_DATA, N_SHOW, N_TRAJECTORIES, SEED_VIEW = 4096, 600, 60, 12345
LIMIT = 3.0
ENERGY_GRID = 110        # the energy heatmap: 110 x 110 points, 0.055 apart: each data mode shows as a well
FIXED_GRID = 64          # the fixed-point region
DPI = 72                 # the live figure's resolution: a frame is rendered and sent as a PNG
FIELD_GRID = 17          # arrows of the vector field
TRACE_EVERY = 25         # steps between two points of the coverage trace
ENERGY_NORM = (1e-3, 3.0)  # the energy's colour scale (logarithmic), fixed so that frames compare

# The presets: the shipped 2D IGN checkpoints (trained weights, loaded), and the tuned settings of the
# split IGN (the merged-vs-split study of 05) and of the GAN (studies.gan_2d, as in 01), trained live.
TUNED = {
    "IGN": dict(weights=tuple(train.IGN_DEFAULTS["points"]["weights"]), lr=train.IGN_DEFAULTS["points"]["lr"],
                batch=train.IGN_DEFAULTS["points"]["batch"], distance="l1", clamp=None, source="matched"),
    "split IGN": dict(weights=tuple(merged_vs_split.SETTINGS["weights"]), lr=merged_vs_split.SETTINGS["lr"],
                      batch=merged_vs_split.SETTINGS["batch"], distance=merged_vs_split.SETTINGS["distance"],
                      clamp=None, source="standard"),
    "GAN": dict(weights=(0, 0, 0), lr=gan_2d.SETTINGS["lr_g"], batch=gan_2d.SETTINGS["batch"], distance="l1",
                clamp=None, source="standard"),
}


def presets():
    """Preset name -> what it sets: {"model", "dataset", "checkpoint" (or None)}."""
    found = {}
    for name in data.TOY2D:
        if f"ign-2d-{name}" in checkpoints.names():
            found[f"IGN on {name} (shipped checkpoint)"] = {"model": "IGN", "dataset": name,
                                                            "checkpoint": f"ign-2d-{name}"}
    found["split IGN on ring (tuned, trains live)"] = {"model": "split IGN", "dataset": "ring", "checkpoint": None}
    found["GAN on ring (tuned, trains live)"] = {"model": "GAN", "dataset": "ring", "checkpoint": None}
    return found


# The five guided experiments of 08_idempotence_lab: the button "Set up" of the lab puts it in the state
# each one starts from. "what" says what to do, "expect" what to look for (the notebook measures it).
EXPERIMENTS = {
    "1. apply f again": {
        "preset": "IGN on ring (shipped checkpoint)", "n": 1, "probe": (2.6, -2.4),
        "what": "Move the n slider from 1 to 5.",
        "expect": "f(z) lands on the ring in one step; f(f(z)) and further applications barely move it."},
    "2. the energy's wells": {
        "preset": "IGN on ring (shipped checkpoint)", "n": 3, "probe": (2.0, 0.0),
        "what": "Click on a mode of the ring, then on empty space, and read delta.",
        "expect": "delta is a landscape with one dark well per mode: low on the data, high elsewhere."},
    "3. no tightness": {
        "preset": None, "settings": {"model": "IGN", "dataset": "ring", "weights": (20, 20, 0)}, "play": True,
        "what": "A fresh IGN (not the shipped one) trains from scratch with lambda_tight = 0; watch the fixed "
                "points (orange), the energy and the coverage; then set lambda_tight to 1, press Reset and compare.",
        "expect": "in the first few hundred steps more of the plane stays fixed without tightness (about twice "
                  "the orange area on average over seeds; a single run can differ) and fewer samples reach the "
                  "ring; trained longer, the stray fixed points fade with or without tightness (04's study)."},
    "4. standard source": {
        "preset": None, "settings": {"model": "IGN", "dataset": "ring", "source": "standard"}, "play": True,
        "what": "Train from scratch with z ~ N(0, I) instead of the matched source; compare coverage.",
        "expect": "z ~ N(0, I) puts two thirds of z within radius 1.5, inside the ring of radius 2 (the matched "
                  "source under half); in 04's study it covered the ring less reliably (fewer runs with all 8 "
                  "modes, the rarest mode starved)."},
    "5. the GAN's two players": {
        "preset": None, "settings": {"model": "GAN", "dataset": "ring"}, "d_steps": 20,
        "what": "Press G step a few times; then D step; watch D's heatmap and the arrows.",
        "expect": "D-only steps lower D's score on the fakes; G-only steps then move the fakes up D's slope."},
}


class LabError(CourseError):
    """A control value the lab cannot use; the message says which and what to change."""


def check_settings(s):
    """Validate a settings dict; returns it cleaned (floats, a weights triple, clamp None or > 0)."""
    if s.get("model") not in MODELS:
        raise LabError(f"choose a model: one of {', '.join(MODELS)} (got {s.get('model')!r}).")
    if not s.get("dataset"):
        raise LabError(f"choose a data set: one of {', '.join(data.TOY2D)}.")
    if s["dataset"] not in data.TOY2D:
        raise LabError(f"unknown data set {s['dataset']!r}; choose one of {', '.join(data.TOY2D)}.")
    weights = s["weights"]
    if isinstance(weights, (str, bytes)) or not hasattr(weights, "__len__") or len(weights) != 3:
        raise LabError(f"weights must be three numbers (lambda_rec, lambda_idem, lambda_tight), got {weights!r}; "
                       "0 switches a term off.")
    weights = tuple(float(checks.number(f"{name} (0 switches its term off)", w, low=0, error=LabError))
                    for name, w in zip(IGNWeights._fields, weights))
    lr = checks.number("the learning rate", s["lr"], low=0, high=0.1, low_open=True, error=LabError)
    if s["distance"] not in DISTANCES:
        raise LabError(f"distance must be one of {', '.join(DISTANCES)}, got {s['distance']!r}.")
    clamp = checks.number("the clamp scale a (the paper's value is 1.5)", s.get("clamp"), low=0, low_open=True,
                          none="no clamp (untick it)", error=LabError)
    if s["source"] not in SOURCES:
        raise LabError(f"source must be one of {', '.join(SOURCES)}, got {s['source']!r}.")
    checks.whole("the seed", s["seed"], error=LabError)
    batch = checks.whole("the batch size", s.get("batch", 128), minimum=1, error=LabError)
    return {**s, "weights": IGNWeights(*weights), "lr": float(lr), "clamp": None if clamp is None else float(clamp),
            "batch": batch}


def default_settings(model="IGN", dataset="ring", seed=None):
    """The tuned settings of a model (TUNED) on a data set; the seed defaults to runtime.SEED."""
    return {"model": model, "dataset": dataset, "seed": runtime.SEED if seed is None else seed, **TUNED[model]}


class Session:
    """One 2D model in training: settings, networks, the Step object, the history and the coverage trace."""

    def __init__(self, settings=None, **changes):
        self.settings = check_settings({**(settings or default_settings()), **changes})
        self.reset()

    # --- making and changing the model -----------------------------------------------------------------
    def reset(self, checkpoint=None):
        """Fresh networks from the seed (or the weights of a checkpoint), fresh optimiser, empty history."""
        s = self.settings
        if checkpoint is not None:
            kind = checkpoints.metadata(checkpoint)["model"]["kind"]
            if s["model"] != "IGN" or kind != "mlp-ign":
                shipped = ", ".join(n for n in checkpoints.names() if n.startswith("ign-2d"))
                raise LabError(f"the lab loads checkpoints of 2D IGN networks (mlp-ign) into the IGN model; "
                               f"{checkpoint!r} is a {kind} and the model is {s['model']}. Choose the IGN model "
                               f"and one of: {shipped}, or a 2D IGN you saved from the lab.")
        torch.manual_seed(s["seed"])
        self.real = data.toy2d(s["dataset"], N_DATA, seed=s["seed"])
        samples, gen, dev = train.prepare(self.real, s["seed"])
        source = data.gaussian_source(samples) if s["source"] == "matched" else None
        if s["model"] == "IGN":
            f = checkpoints.load(checkpoint, map_location=dev).train() if checkpoint else \
                models.build("mlp-ign", source=source).to(dev)
            self.stepper = train.IGNStep(f, samples, gen, s["weights"], s["distance"], s["clamp"], "paired",
                                         s["batch"], s["lr"])
        elif s["model"] == "split IGN":
            G, A = models.build("mlp-ign", source=source).to(dev), models.build("mlp-ign").to(dev)
            self.stepper = train.SplitIGNStep(G, A, samples, gen, s["weights"], s["distance"], s["batch"], s["lr"])
        else:
            G, D = (net.to(dev) for net in gan_2d.build(s["seed"]))
            self.stepper = train.GANStep(G, D, samples, gen, "nonsaturating", s["batch"], s["lr"], s["lr"],
                                         gan_2d.SETTINGS["betas"], 1, gan_2d.SETTINGS["r1"])
        self.checkpoint = checkpoint
        self.steps = checkpoints.metadata(checkpoint)["steps"] if checkpoint else 0
        self.history, self.trace, self.stopped = train.History(), {"step": [], "modes": [], "near": []}, None
        eps = data.noise((2,), N_SHOW, seed=SEED_VIEW, device=dev)
        self.z = self.generator.to_source(eps) if hasattr(self.generator, "to_source") else eps
        self.measure()

    def update(self, **changes):
        """Change settings. Weights, distance, clamp and learning rate apply to the next step; a change
        of model, data set, source or seed starts again (reset). Returns True when it reset."""
        new = check_settings({**self.settings, **changes})
        structural = any(new[k] != self.settings[k] for k in ("model", "dataset", "source", "seed", "batch"))
        self.settings = new
        if structural:
            self.reset()
            return True
        st = self.stepper
        st.set_lr(new["lr"])
        if not isinstance(st, train.GANStep):
            st.weights, st.distance = new["weights"], new["distance"]
        if isinstance(st, train.IGNStep):
            st.clamp = new["clamp"]
        return False

    # --- the networks, by role ----------------------------------------------------------------------
    @property
    def kind(self):
        return self.settings["model"]

    @property
    def generator(self):
        """The network that makes samples from z: f (IGN), G (split IGN and GAN)."""
        return self.stepper.f if self.kind == "IGN" else self.stepper.G

    @property
    def autoencoder(self):
        """The network whose reconstruction error is the energy delta: f (IGN), A (split IGN); None for the GAN."""
        return {"IGN": getattr(self.stepper, "f", None), "split IGN": getattr(self.stepper, "A", None)}.get(self.kind)

    @property
    def nets(self):
        return self.stepper.nets

    # --- training ------------------------------------------------------------------------------------
    def _record(self, values):
        values = {k: float(v) for k, v in values.items()}
        if not all(math.isfinite(v) for v in values.values()):
            self.stopped = (f"the losses became non-finite at step {self.steps} ({values}). Press Reset, then "
                            "try a smaller learning rate or, for IGN, the clamp.")
            raise LabError(self.stopped)
        self.history.record(values)
        self.steps += 1
        if self.steps % TRACE_EVERY == 0:
            self.measure()

    def step(self, n=1):
        """n training updates (each one call of the trainer's own Step object)."""
        checks.whole("the number of steps", n, error=LabError)
        if self.stopped:
            raise LabError(self.stopped)
        for _ in range(n):
            self._record(self.stepper())

    def d_step(self):
        """GAN only: one discriminator update, the generator left as it is."""
        self._gan_only("a D-only step")
        self._record(self.stepper.d_update())

    def g_step(self):
        """GAN only: one generator update against the current discriminator."""
        self._gan_only("a G-only step")
        self._record(self.stepper.g_update())

    def _gan_only(self, what):
        if self.kind != "GAN":
            raise LabError(f"{what} is for the GAN, which has two networks; {self.kind} takes one update on "
                           "all its losses: press Step.")
        if self.stopped:
            raise LabError(self.stopped)

    # --- measuring ----------------------------------------------------------------------------------
    @torch.no_grad()
    def samples(self):
        """The generated samples of the fixed view z."""
        with models.evaluating(self.generator) as G:
            return G(self.z).cpu()

    def measure(self):
        """Add a point to the coverage trace: modes covered (ring, grid) or None, and the share near data."""
        fake = self.samples()
        name = self.settings["dataset"]
        if data.toy2d_modes(name) is not None:
            cover = metrics.mode_coverage(fake, name)
            modes, near = cover["modes"], cover["near"]
        else:
            modes, near = None, metrics.near_data(fake, self.real)
        self.trace["step"].append(self.steps)
        self.trace["modes"].append(modes)
        self.trace["near"].append(near)

    @torch.no_grad()
    def orbit(self, points, n):
        """[z, first application, second, ...] for n applications: f, f(f(z)), ... for IGN; for the split
        IGN the generator G first, then the autoencoder A (G(z), A(G(z)), ...); for the GAN, G(z) only."""
        points = torch.as_tensor(points, dtype=torch.float32).reshape(-1, 2)
        path, y = [points], points.to(models.device_of(self.generator))
        for k in range(n if self.autoencoder is not None else min(n, 1)):
            y = (self.generator if k == 0 else (self.autoencoder or self.generator))(y)
            path.append(y.cpu())
        return path

    @torch.no_grad()
    def probe(self, x, y, n=5):
        """A point's orbit under repeated f and its energy delta = d(f(p), p) (for the GAN, D's probability
        of "real" at p instead). Returns {"point", "orbit", "delta" or "p_real", "text"}."""
        for name, value in (("x", x), ("y", y)):
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                raise LabError(f"type a number for the probe's {name}, got {value!r}.")
        point = torch.tensor([[float(x), float(y)]])
        out = {"point": (float(x), float(y)), "orbit": self.orbit(point, n)}
        dev = models.device_of(self.generator)
        if self.autoencoder is not None:
            out["delta"] = float(losses.energy(self.autoencoder, point.to(dev), self.settings["distance"]))
            end = out["orbit"][-1][0]
            out["text"] = (f"probe ({x:.2f}, {y:.2f}): delta = {out['delta']:.4f}; after {len(out['orbit']) - 1} "
                           f"applications it sits at ({end[0]:.2f}, {end[1]:.2f}), delta there "
                           f"{float(losses.energy(self.autoencoder, out['orbit'][-1].to(dev))):.4f}")
        else:
            out["orbit"] = [point]  # a GAN's discriminator does not move points: the probe only reads D there
            out["p_real"] = float(torch.sigmoid(self.stepper.D(point.to(dev))))
            out["text"] = f"probe ({x:.2f}, {y:.2f}): D's probability of \"real\" = {out['p_real']:.3f}"
        return out

    def save(self, path):
        """Write the model as checkpoint(s) that checkpoints.load reads: `path` (a .safetensors file) holds the
        generator (IGN: f); the split IGN's autoencoder and the GAN's discriminator go beside it as
        <name>-discriminator.safetensors. Returns the paths written."""
        path = Path(path)
        if path.suffix != ".safetensors":
            raise LabError(f"save to a file name ending in .safetensors, got {str(path)!r}.")
        s = self.settings
        config = {**{k: v for k, v in s.items() if k != "weights"}, "weights": list(s["weights"]),
                  "data": s["dataset"], "n_data": N_DATA, "lab": True}
        last = {k: v[-1] for k, v in self.trace.items()}
        written = []
        for net, where in zip(self.nets, (path, path.with_name(path.stem + "-discriminator.safetensors"))):
            checkpoints.save(net, where, config=config, seed=s["seed"], steps=self.steps, metrics=last)
            written.append(where)
        return written


# --- the views: one figure, drawn with plots ------------------------------------------------------------

def new_figure():
    """The lab's figure: 2 rows of 3 panels, 12 x 7.4 inches at 72 dots per inch.

    The layout is fixed once (no constrained layout, which would cost more than the drawing itself)."""
    fig = plt.figure(figsize=(12, 7.4), dpi=DPI)
    axes = fig.subplots(2, 3, gridspec_kw=dict(left=0.04, right=0.94, bottom=0.07, top=0.95, wspace=0.32,
                                               hspace=0.3))
    return fig, axes.ravel()


def draw(session, axes, n=3, probe=None):
    """Draw every view of the session's current state on six axes (cleared first)."""
    for ax in axes:
        _wipe(ax)
    real = session.real[:N_SHOW]
    fake = session.samples()
    plots.points(real, ax=axes[0], color=plots.REAL_COLOUR, label="data")
    plots.points(fake, ax=axes[0], color=plots.FAKE_COLOUR, label="generated",
                 title=f"{session.kind}: samples vs data, step {session.steps}")
    axes[0].legend(loc="upper right", markerscale=3)
    if session.autoencoder is not None:
        f, A = session.generator, session.autoencoder
        if session.kind == "IGN":
            plots.trajectories(f, session.z[:N_TRAJECTORIES], n=n, ax=axes[1], real=real, legend=False)
        else:  # the split IGN's generator G makes the samples; its autoencoder A is then applied n - 1 times
            plots.trajectories(A, session.orbit(session.z[:N_TRAJECTORIES], 1)[-1], n=n - 1, ax=axes[1], real=real,
                              legend=False)
        axes[1].set_title(f"f^n(z), n = {n}: z re-applied to f" if session.kind == "IGN"
                          else f"G(z), then A applied {n - 1} time(s)")
        energy = lambda y: losses.energy(A, y, session.settings["distance"]).clamp_min(ENERGY_NORM[0])
        a = "f" if session.kind == "IGN" else "A"
        plots.heatmap(energy, ax=axes[2], steps=ENERGY_GRID, colorbar=False, cmap="magma",
                      norm=LogNorm(*ENERGY_NORM), title=f"energy delta(y) = d({a}(y), y); dark: low")
        plots.fixed_points(A, ax=axes[3], distance=session.settings["distance"], real=real, steps=FIXED_GRID,
                           legend=False)
        plots.vector_field(A, ax=axes[3], steps=FIELD_GRID, title=f"vector field {a}(x) - x, fixed points",
                           color="0.25")
    else:
        G, D = session.stepper.G, session.stepper.D
        plots.discriminator_view(D, G, session.z, real=real, ax=axes[1], colorbar=False, n_arrows=120,
                                 title="D's P(real), fakes, gradient arrows")
        plots.generator_grid(G, ax=axes[2], title="the warped generator grid G(z)")
        plots.heatmap(lambda y: torch.sigmoid(D(y)), ax=axes[3], steps=ENERGY_GRID, colorbar=False, cmap="PRGn",
                      vmin=0, vmax=1, title="D's probability of \"real\"")
    _traces(session, axes[4], axes[5])
    if probe is not None:
        _draw_probe(probe, list(axes[1:4]) if session.autoencoder is not None else [axes[1], axes[3]])


def _wipe(ax):
    """Remove what an axes shows but keep its axes, ticks and labels objects: much cheaper than ax.clear()
    (which rebuilds every tick), and the plots functions set limits, ticks and titles again anyway."""
    for artist in [*ax.collections, *ax.lines, *ax.patches, *ax.texts, *ax.images]:
        artist.remove()
    if ax.get_legend() is not None:
        ax.get_legend().remove()
    ax.set_prop_cycle(None)
    ax.set_yscale("linear")
    ax.set_title("")


def _room(needed, start=4 * TRACE_EVERY):
    """An axis end that grows by doubling: the trace panels' axes change rarely, so most frames reuse
    the drawn axes (see Frames)."""
    end = start
    while end < needed:
        end *= 2
    return end


def _decade(value):
    """The power of ten at or above `value` (at least 0.1, the symlog scale's linear range)."""
    return 10.0 ** math.ceil(math.log10(max(value, 0.1)))


def _traces(session, ax_loss, ax_cover):
    _wipe(ax_loss)
    _wipe(ax_cover)
    history = session.history
    if history:
        names = [k for k in ("loss", "rec", "idem", "tight", "d_loss", "g_loss") if k in history]
        ax_loss.xaxis.set_major_locator(AutoLocator())  # the empty panel below had none
        plots.curves(history, names, ax=ax_loss, smooth=min(25, max(1, len(history[names[0]]) // 10)),
                     title="losses (running mean)")
        ax_loss.set_yscale("symlog", linthresh=0.1)
        values = [v for name in names for v in history[name] if math.isfinite(v)] or [0.0]
        ax_loss.set(xlim=(0, _room(len(history[names[0]]))),
                    ylim=(0 if min(values) >= 0 else -_decade(-min(values)), _decade(max(values))))
    else:
        ax_loss.text(0.5, 0.5, "no training yet:\npress Step or Play", ha="center", va="center",
                     transform=ax_loss.transAxes)
        ax_loss.set(title="losses", xticks=[], yticks=[])
    t = session.trace
    ax_cover.plot(t["step"], t["near"], color=plots.MODEL_COLOURS[session.kind], marker=".",
                  label="share near data")
    ax_cover.set(xlim=(t["step"][0], t["step"][0] + _room(t["step"][-1] - t["step"][0])), ylim=(0, 1.02),
                 xlabel="step", title="mode coverage")
    if t["modes"][-1] is not None:
        of = len(data.toy2d_modes(session.settings["dataset"]))
        ax_cover.step(t["step"], [m / of for m in t["modes"]], where="post", color="0.2",
                      label=f"modes covered (of {of})")
        ax_cover.set_title(f"coverage: {t['modes'][-1]}/{of} modes, {t['near'][-1]:.0%} near")
    else:
        ax_cover.set_title(f"coverage: {t['near'][-1]:.0%} of samples near data")
    ax_cover.legend(loc="lower right")


def _draw_probe(probe, axes):
    path = torch.cat(probe["orbit"]).numpy()
    for ax in axes:
        ax.plot(path[:, 0], path[:, 1], "-o", color="#00b4ff", ms=5, lw=1.5, zorder=10, mec="black", mew=0.6)
        ax.plot(*path[0], marker="*", color="#00b4ff", ms=14, mec="black", zorder=11)


class Frames:
    """Blitting for the live figure (matplotlib's "faster rendering by using blitting"): the axes with
    their ticks, tick labels and axis labels, most of a frame's cost (text), are drawn once and kept
    as a background; a frame restores it and draws only the artists the views put in the axes (points,
    images, arrows, lines, titles, legends). The background is drawn again only when it changes: an
    axes' limits, scale, ticks or labels, or the figure's size.

    The background is rendered with the views hidden, by the Agg canvas itself (which sends nothing to
    the browser); the artists stay ordinary ones, so a full draw that the browser asks for (ipympl
    does, on resizing or reconnecting) shows everything as it is."""

    def __init__(self, fig, axes):
        self.fig, self.axes = fig, list(axes)
        self.background, self.layout, self.full_draws = None, None, 0

    def moving(self):
        """What the views drew, and the spines that frame it: every child of the axes except their
        background patch and x and y axes (ticks and labels), in drawing order."""
        fixed = lambda a, ax: a is ax.patch or isinstance(a, Axis)
        return [a for ax in self.axes
                for a in sorted((a for a in ax.get_children() if not fixed(a, ax)), key=lambda a: a.get_zorder())]

    def _layout(self):
        canvas_size = (self.fig.dpi, *self.fig.bbox.size)
        return canvas_size, [(ax.get_xlim(), ax.get_ylim(), ax.get_xscale(), ax.get_yscale(),
                              tuple(ax.get_xticks()), tuple(ax.get_yticks()), ax.get_xlabel(), ax.get_ylabel())
                             for ax in self.axes]

    def _draw_background(self, moving):
        shown = [a for a in moving if a.get_visible()]
        for artist in shown:
            artist.set_visible(False)
        try:
            FigureCanvasAgg.draw(self.fig.canvas)  # render only: a widget canvas's own draw() would send it
        finally:
            for artist in shown:
                artist.set_visible(True)
        self.background = self.fig.canvas.copy_from_bbox(self.fig.bbox)
        self.layout = self._layout()
        self.full_draws += 1

    def show(self):
        """Put the axes' current state on the canvas and, with ipympl, send it to the browser."""
        moving = self.moving()
        if self.background is None or self._layout() != self.layout:
            self._draw_background(moving)
        else:
            self.fig.canvas.restore_region(self.background)
        for artist in moving:
            self.fig.draw_artist(artist)
        self.fig.canvas.blit(self.fig.bbox)


class Lab:
    """The widget lab around a Session. `Lab()` then show `lab.widget` (or just `lab` as a cell's value).

    Every control is an attribute (`lab.model`, `lab.step_button`, ...), so a test can set values
    and press buttons (`lab.step_button.click()`); `lab.message.value` says what went wrong, if anything."""

    FRAME_SECONDS = 0.15   # Play aims at one redraw per FRAME_SECONDS: it trains for what the redraw leaves
    MIN_CHUNK = 0.01       # ... but always for at least this long

    def __init__(self, settings=None, preset=None, **changes):
        """settings (and changes to them) for a fresh model; or `preset`, a name from presets()."""
        import ipywidgets as w
        self.w = w
        self.session = Session(settings, **changes)
        self.probe_result, self.play_task, self.timings = None, None, {"step": [], "frame": []}
        self._stop = True
        self._seen = False  # has the browser shown the canvas (a click came from it)?
        self._drawing = self._pending = False
        self.redraws = 0
        s = self.session.settings
        wide = w.Layout(width="230px")
        self.model = w.Dropdown(options=MODELS, value=s["model"], description="model", layout=wide)
        self.dataset = w.Dropdown(options=data.TOY2D, value=s["dataset"], description="data", layout=wide)
        self.lambdas = [w.FloatText(value=v, description=d, step=0.5, layout=wide)
                        for v, d in zip(s["weights"], ("λ rec", "λ idem", "λ tight"))]
        self.distance = w.Dropdown(options=DISTANCES, value=s["distance"], description="distance", layout=wide)
        self.clamp_on = w.Checkbox(value=s["clamp"] is not None, description="clamp tight", indent=False,
                                   layout=w.Layout(width="110px"))
        self.clamp = w.FloatText(value=s["clamp"] or 1.5, description="a", layout=w.Layout(width="115px"),
                                 style={"description_width": "15px"})
        self.source = w.Dropdown(options=[("matched N(mean, std)", "matched"), ("N(0, I)", "standard")],
                                 value=s["source"], description="source", layout=wide)
        self.lr = w.FloatText(value=s["lr"], description="lr", step=1e-4, layout=wide)
        self.seed = w.IntText(value=s["seed"], description="seed", layout=wide)
        self.preset = w.Dropdown(options=["(choose a preset)", *presets()], description="preset",
                                 layout=w.Layout(width="330px"))
        button = lambda text, icon, tip: w.Button(description=text, icon=icon, tooltip=tip,
                                                  layout=w.Layout(width="96px"))
        self.play_button = button("Play", "play", "train continuously, redrawing between short chunks")
        self.pause_button = button("Pause", "pause", "stop training (the model keeps its weights)")
        self.step_button = button("Step", "step-forward", "one training update, then redraw")
        self.d_button = button("D step", "step-forward", "GAN: one discriminator update only")
        self.g_button = button("G step", "step-forward", "GAN: one generator update only")
        self.reset_button = button("Reset", "undo", "fresh networks from the seed")
        self.save_button = button("Save", "save", "write the model as a checkpoint")
        self.save_path = w.Text(value="lab-model.safetensors", description="save to", layout=w.Layout(width="260px"))
        self.n = w.IntSlider(value=3, min=1, max=10, description="n (f^n)", continuous_update=True,
                             layout=w.Layout(width="300px"))
        self.probe_x = w.FloatText(value=1.0, description="probe x", layout=w.Layout(width="160px"))
        self.probe_y = w.FloatText(value=1.0, description="y", layout=w.Layout(width="120px"),
                                   style={"description_width": "15px"})
        self.probe_button = button("Probe", "crosshairs", "show this point's orbit under f and its energy")
        self.experiment_choice = w.Dropdown(options=list(EXPERIMENTS), description="experiment",
                                            layout=w.Layout(width="330px"))
        self.experiment_button = button("Set up", "flask", "put the lab in the state this experiment starts from")
        self.message = w.HTML()
        self.status = w.HTML()

        self.fig, self.axes = self._figure()
        self.frames = Frames(self.fig, self.axes)
        self.interactive = isinstance(self.fig.canvas, w.DOMWidget)
        if self.interactive:
            self.fig.canvas.header_visible = False
            self.fig.canvas.toolbar_visible = False
            self.fig.canvas.resizable = False
            self.fig.canvas.mpl_connect("button_press_event", self._on_click)
            self._whole_frames(self.fig.canvas)
            self.fig.stale_callback = None  # the lab redraws when it is ready, not on every artist change
            view = self.fig.canvas
        else:
            view = self.image = w.Image(format="png")

        user = self._from_user
        self.play_button.on_click(user(self.play))
        self.pause_button.on_click(user(self.pause))
        self.step_button.on_click(user(self._guarded, self.session.step))
        self.d_button.on_click(user(self._guarded, self.session.d_step))
        self.g_button.on_click(user(self._guarded, self.session.g_step))
        self.reset_button.on_click(user(self._guarded, self.session.reset))
        self.save_button.on_click(user(self.save))
        self.experiment_button.on_click(user(lambda: self.experiment(self.experiment_choice.value)))
        self.probe_button.on_click(user(lambda: self.probe(self.probe_x.value, self.probe_y.value)))
        self.preset.observe(lambda change: self.load_preset(change["new"]), names="value")
        self.n.observe(user(self.redraw), names="value")
        for control in (self.model, self.dataset, *self.lambdas, self.distance, self.clamp_on, self.clamp,
                        self.source, self.lr, self.seed):
            control.observe(lambda _: self.apply_controls(), names="value")

        row = lambda *children: w.HBox(children, layout=w.Layout(flex_flow="row wrap", align_items="center"))
        self.widget = w.VBox([
            row(self.preset, self.play_button, self.pause_button, self.step_button, self.d_button, self.g_button,
                self.reset_button),
            row(self.model, self.dataset, self.source, self.seed),
            row(*self.lambdas, self.distance),
            row(self.clamp_on, self.clamp, self.lr, self.save_path, self.save_button),
            row(self.n, self.probe_x, self.probe_y, self.probe_button),
            row(self.experiment_choice, self.experiment_button),
            self.message, self.status, view,
        ])
        self._enable()
        if preset:
            self.preset.value = preset  # loads it
        else:
            self.redraw()

    @staticmethod
    def _whole_frames(canvas):
        """Make ipympl always send whole frames. In its "diff" mode it sends only the changed pixels, and a
        frame the browser skips (a newer one arrived while it was still decoding) corrupts the later ones."""
        diff_image = canvas.get_diff_image

        def whole():
            canvas._force_full = True
            return diff_image()
        canvas.get_diff_image = whole

    def _from_user(self, action, *args):
        """A widget callback that runs `action(*args)`: a click means the browser shows the lab."""
        def callback(_=None):
            self._seen = True
            return action(*args)
        return callback

    def _figure(self):
        with plt.ioff():
            return new_figure()

    def _ipython_display_(self):
        from IPython.display import display
        display(self.widget)

    # --- actions ------------------------------------------------------------------------------------
    def _say(self, text="", error=False):
        colour = "#b00020" if error else "#2f4f4f"
        self.message.value = f'<span style="color:{colour}">{text}</span>' if text else ""

    def _guarded(self, action, *args, redraw=True):
        """Run an action; a LabError (or CourseError) becomes a message in the lab, not a traceback."""
        try:
            start = time.perf_counter()
            action(*args)
            if redraw:
                self.redraw()
                self.timings["step"].append(time.perf_counter() - start)
            self._say()
            return True
        except CourseError as error:
            self.pause()
            self._say(str(error), error=True)
            return False

    def controls(self):
        """The settings the controls show, as a dict for Session.update."""
        return {"model": self.model.value, "dataset": self.dataset.value,
                "weights": tuple(c.value for c in self.lambdas), "distance": self.distance.value,
                "clamp": self.clamp.value if self.clamp_on.value else None, "source": self.source.value,
                "lr": self.lr.value, "seed": self.seed.value}

    def apply_controls(self):
        """Send the controls' values to the session; a bad value leaves the model as it was and says why."""
        if getattr(self, "_loading", False):
            return
        try:
            reset = self.session.update(**self.controls())
        except CourseError as error:
            self._say(str(error), error=True)
            return
        self._say("new model, data set, source or seed: started again from step 0" if reset else
                  "settings applied: they act from the next step")
        self._enable()
        self.redraw()

    def _enable(self):
        gan, split = self.session.kind == "GAN", self.session.kind == "split IGN"
        for control in (*self.lambdas, self.distance, self.source):
            control.disabled = gan
        self.clamp_on.disabled = self.clamp.disabled = gan or split
        self.d_button.disabled = self.g_button.disabled = not gan
        self.n.disabled = gan

    def _set_controls(self, settings):
        self._loading = True
        try:
            self.model.value, self.dataset.value = settings["model"], settings["dataset"]
            for control, value in zip(self.lambdas, settings["weights"]):
                control.value = float(value)
            self.distance.value, self.source.value = settings["distance"], settings["source"]
            self.clamp_on.value = settings["clamp"] is not None
            self.clamp.value = settings["clamp"] or 1.5
            self.lr.value, self.seed.value = settings["lr"], settings["seed"]
        finally:
            self._loading = False

    def load_preset(self, name):
        """A shipped IGN checkpoint (its weights and training settings), or tuned settings to train live."""
        if name not in presets():
            return
        self.pause()
        spec = presets()[name]
        settings = default_settings(spec["model"], spec["dataset"])
        if spec["checkpoint"]:
            config = checkpoints.metadata(spec["checkpoint"])["config"]
            settings.update(weights=tuple(config["weights"]), lr=config["lr"], distance=config["distance"],
                            clamp=config["clamp"], batch=config["batch"],
                            source="matched" if config.get("source") else "standard")
        try:
            self.session.settings = check_settings(settings)
            self.session.reset(checkpoint=spec["checkpoint"])
        except CourseError as error:
            self._say(str(error), error=True)
            return
        self._set_controls(settings)
        self._enable()
        self.probe_result = None
        self.redraw()
        if spec["checkpoint"]:
            self._say(f"loaded the shipped checkpoint {spec['checkpoint']} ({self.session.steps} steps); "
                      "Play trains it further with its own settings")
        else:
            self._say(f"{spec['model']} with its tuned settings, from scratch: playing")
            self.play()

    def experiment(self, name):
        """Set up one of EXPERIMENTS: its preset or settings, n, a probe; then play or take D steps."""
        spec = EXPERIMENTS[name]
        self.pause()
        self.probe_result = None
        if spec["preset"]:
            self.load_preset(spec["preset"])
        else:
            settings = default_settings(spec["settings"]["model"], spec["settings"]["dataset"])
            settings.update(spec["settings"])
            self.session.settings = check_settings(settings)
            self.session.reset()
            self._set_controls(self.session.settings)
            self._enable()
        if spec.get("changes"):
            self.session.update(**spec["changes"])
            self._set_controls(self.session.settings)
        self.n.value = spec.get("n", self.n.value)
        for _ in range(spec.get("d_steps", 0)):
            self.session.d_step()
        if spec.get("probe"):
            self.probe(*spec["probe"])
        self.redraw()
        self._say(f"<b>{name}</b>: {spec['what']} <i>Expect: {spec['expect']}</i>")
        if spec.get("play"):
            self.play()

    def save(self):
        try:
            written = self.session.save(self.save_path.value)
        except CourseError as error:
            self._say(str(error), error=True)
            return None
        self._say("saved " + ", ".join(str(p) for p in written) + " (load with checkpoints.load(path))")
        return written

    def probe(self, x, y):
        """Show a point's orbit under repeated f (n applications) and its energy."""
        try:
            self.probe_result = self.session.probe(x, y, self.n.value)
        except CourseError as error:
            self._say(str(error), error=True)
            return None
        self.probe_x.value, self.probe_y.value = round(float(x), 3), round(float(y), 3)
        self._say(self.probe_result["text"])
        self.redraw()
        return self.probe_result

    def _on_click(self, event):
        self._seen = True
        if event.inaxes in self.axes[:4] and event.xdata is not None:
            self.probe(float(event.xdata), float(event.ydata))

    # --- playing ------------------------------------------------------------------------------------
    @property
    def playing(self):
        return self.play_task is not None and not self.play_task.done()

    def play(self):
        """Train in chunks of about CHUNK_SECONDS on the kernel's event loop, redrawing after each chunk."""
        if self.playing:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._say("Play needs the event loop of a running Jupyter kernel; here, use Step "
                      "(or session.step(n)).", error=True)
            return
        self._stop = False
        self.play_task = loop.create_task(self._play())

    def pause(self):
        self._stop = True

    async def _play(self):
        self.play_button.button_style = "success"
        try:
            drawing = 0.1
            while not self._stop:
                start = time.perf_counter()
                while time.perf_counter() - start < max(self.MIN_CHUNK, self.FRAME_SECONDS - drawing):
                    if not self._guarded(self.session.step, redraw=False):
                        return
                before = time.perf_counter()
                self.redraw()
                drawing = time.perf_counter() - before
                self.timings["frame"].append(time.perf_counter() - start)
                await asyncio.sleep(0.005)  # the kernel answers clicks and draw requests here
        finally:
            self.play_button.button_style = ""
            self._show_status()

    # --- drawing -------------------------------------------------------------------------------------
    def redraw(self):
        """Redraw every view and send the new image to the browser (ipympl) or to the Image widget.

        Never two at once: a redraw asked for while one runs is done once that one has finished."""
        if self._drawing:
            self._pending = True
            return
        self._drawing, self._pending = True, False
        try:
            self._redraw()
        finally:
            self._drawing = False
        if self._pending:
            self.redraw()

    def _redraw(self):
        if self.probe_result is not None and self.probe_result["point"]:
            self.probe_result = self.session.probe(*self.probe_result["point"], self.n.value)
        draw(self.session, self.axes, self.n.value, self.probe_result)
        self.redraws += 1
        self._show_status()
        if self.interactive:
            # once shown, render and send the frame now (draw_idle waits for the browser to ask for it)
            if self._seen:
                self.frames.show()
            else:  # not shown yet: the canvas asks for its first (full) frame itself
                self.fig.canvas.draw_idle()
        else:
            self.image.value = png(self.fig, dpi=DPI)

    def _show_status(self):
        s = self.session
        last = ", ".join(f"{k} {v[-1]:.3g}" for k, v in s.history.items())
        self.status.value = (f"<b>{s.kind}</b> on {s.settings['dataset']}, step {s.steps}"
                             + (f" | {last}" if last else "")
                             + (" | <b>playing</b>" if self.playing and not self._stop else " | paused"))

    def png(self, dpi=80):
        """The current views as PNG bytes (for a static copy of the lab)."""
        buffer = io.BytesIO()
        self.fig.savefig(buffer, format="png", dpi=dpi)
        return buffer.getvalue()


def png(fig, dpi=80):
    """A figure as PNG bytes (IPython.display.Image(png(fig)) shows it as a plain image anywhere)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def static_views(settings=None, steps=0, checkpoint=None, n=3, probe=(1.0, 1.0), **changes):
    """The lab's views as an ordinary figure, for places where widgets cannot run (an HTML export).

    A Session of `settings` (with `changes`), from `checkpoint` if given, trained `steps` more steps."""
    session = Session(settings, **changes)
    if checkpoint:
        session.reset(checkpoint=checkpoint)
    session.step(steps)
    fig, axes = new_figure()
    draw(session, axes, n, session.probe(*probe, n) if probe else None)
    return fig, session


def benchmark(repeats=10, seconds=3.0):
    """Kernel-side cost of the lab on the Agg canvas, rendered and encoded as the widget canvas does it.

    For each model: "step_seconds", the median over `repeats` of one Step with its full redraw, and
    "frames_per_second", the redraws per second of Play's loop (train for what the frame leaves, redraw)."""
    import statistics

    import numpy as np
    from PIL import Image

    def render(session, axes, fig):
        draw(session, axes)
        frames.show()
        Image.fromarray(np.asarray(fig.canvas.buffer_rgba())).save(io.BytesIO(), format="png")

    fig, axes = new_figure()
    frames = Frames(fig, axes)
    results = {}
    for kind in MODELS:
        session = Session(default_settings(kind))
        session.step(50)
        render(session, axes, fig)
        full_draws, timings = frames.full_draws, []
        for _ in range(repeats):
            start = time.perf_counter()
            session.step()
            render(session, axes, fig)
            timings.append(time.perf_counter() - start)
        start, shown, drawing, trained = time.perf_counter(), 0, 0.1, session.steps
        while time.perf_counter() - start < seconds:
            t = time.perf_counter()
            while time.perf_counter() - t < max(Lab.MIN_CHUNK, Lab.FRAME_SECONDS - drawing):
                session.step()
            t = time.perf_counter()
            render(session, axes, fig)
            drawing = time.perf_counter() - t
            shown += 1
        elapsed = time.perf_counter() - start
        results[kind] = {"step_seconds": round(statistics.median(timings), 3),
                         "frames_per_second": round(shown / elapsed, 1),
                         "full_draws": f"{frames.full_draws - full_draws} of {repeats + shown}",
                         "steps_per_second": round((session.steps - trained) / elapsed)}
    plt.close(fig)
    return results


APP_TEXT = """# The idempotence lab

Train an Idempotent Generative Network (IGN), a split IGN or a GAN on 2D data and watch it learn.
**Play** trains continuously, **Step** makes one update, **Reset** starts again from the seed; change
any setting while it trains. Click on a plane to follow a point under repeated `f`. The guided
experiments (the *experiment* box, **Set up**) are explained in the course's notebook
`08_idempotence_lab.ipynb`."""

APP_CODE = """%matplotlib widget
from ign_lessons import lab, runtime

runtime.start(report=False)
lab.Lab(preset="IGN on ring (shipped checkpoint)")"""


def write_app(path, kernel="ign-lessons"):
    """Write the lab alone as a notebook of one text and one code cell, for Voila to serve as a web page
    (`python3 course.py explore`). Returns the path."""
    import nbformat
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(APP_TEXT),
                                               nbformat.v4.new_code_cell(APP_CODE)])
    notebook.metadata["kernelspec"] = {"name": kernel, "display_name": f"Python ({kernel})", "language": "python"}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return path

