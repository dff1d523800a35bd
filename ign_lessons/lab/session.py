"""The lab's session: one 2D model in training, its settings, and the thread that trains it during Play.

A `Session` holds the model being trained and nothing else: its settings (checked, with a message that
says what to change), `reset`, `step` (one update of train.IGNStep, train.SplitIGNStep or train.GANStep,
the very objects the trainers loop over), `d_step`/`g_step` for the GAN, the history, a coverage trace,
`orbit`/`probe` (a point under repeated f), your own drawn data (`add_points`), and `save`.

Each model keeps its own settings (switching IGN -> GAN -> IGN gives IGN back its own), a change of model,
data set, source, seed, batch or noise dimension starts again from step 0, and Reset goes back to where the
model started: the checkpoint it was loaded from, or fresh weights from the seed. Divergence (non-finite or
exploding losses, samples leaving the plane) stops training with a message that says what to try.

`lock` guards the model: every method that changes it takes the lock, so the `Player` thread (training
during Play) never races a Step, a Reset or a change of settings from the main thread.
"""
import math
import threading
import time
from pathlib import Path

import torch

from .. import checkpoints, checks, data, losses, metrics, models, presets, runtime, train
from ..losses import DISTANCES, IGNWeights
from ..runtime import CourseError

MODELS = ("IGN", "split IGN", "GAN")
SOURCES = ("matched", "standard")  # z ~ N(data mean, data std) per coordinate (data.gaussian_source), or N(0, I)
GAN_LOSSES = ("nonsaturating", "minimax")
OPTIMISERS = ("adam", "sgd")
DRAWN = "drawn"            # the data set of points drawn on the plane
DATASETS = (*data.TOY2D, DRAWN)
N_DATA, N_SHOW, N_TRAJECTORIES, SEED_VIEW = 4096, 600, 60, 12345
LIMIT = 3.0                # the plane the views show: [-3, 3]^2
TRACE_EVERY = 25           # steps between two points of the coverage trace
EXPLODING = 1e6            # a loss beyond this (in size) counts as diverged
OFF_PLANE = 0.5            # ... and so does a view where more than this share of samples left the plane
DRAW_JITTER = 0.05         # drawn points are resampled to N_DATA points with this much Gaussian noise
FIXED_TOL = 0.05           # a point is (almost) fixed when delta < FIXED_TOL

# which settings each model has; a change of one of STRUCTURAL starts the model again
KEYS = {"IGN": ("weights", "distance", "clamp", "source", "lr", "batch"),
        "split IGN": ("weights", "distance", "source", "lr", "batch"),
        "GAN": ("loss", "optimiser", "lr_g", "lr_d", "d_steps", "latent", "batch")}
STRUCTURAL = ("model", "dataset", "seed", "source", "batch", "latent", "optimiser")
SETTINGS = tuple(dict.fromkeys(("model", "dataset", "seed", *(k for keys in KEYS.values() for k in keys))))


class LabError(CourseError):
    """A control value the lab cannot use; the message says which and what to change."""


def default_settings(model="IGN", dataset="ring", seed=None):
    """The tuned settings (presets) of a model on a data set; the seed defaults to runtime.SEED."""
    checks.choice("model", model, MODELS, error=LabError)
    base = {"model": model, "dataset": dataset, "seed": runtime.SEED if seed is None else seed}
    if model == "GAN":
        g = presets.GAN_2D
        return {**base, "loss": g["loss"], "optimiser": "adam", "lr_g": g["lr_g"], "lr_d": g["lr_d"],
                "d_steps": g["d_steps"], "latent": g["latent"], "batch": g["batch"]}
    p = presets.IGN_2D if model == "IGN" else presets.PAPER_2D
    out = {**base, "weights": tuple(p["weights"]), "lr": p["lr"], "batch": p["batch"], "distance": p["distance"],
           "source": p["source"]}
    return {**out, "clamp": p["clamp"]} if model == "IGN" else out


def check_settings(s):
    """Validate a settings dict; returns it cleaned (floats, a weights triple, clamp None or > 0), with only
    the keys of its model."""
    model = s.get("model")
    if model not in MODELS:
        raise LabError(f"choose a model: one of {', '.join(MODELS)} (got {model!r}).")
    if not s.get("dataset"):
        raise LabError(f"choose a data set: one of {', '.join(DATASETS)}.")
    if s["dataset"] not in DATASETS:
        raise LabError(f"unknown data set {s['dataset']!r}; choose one of {', '.join(DATASETS)}.")
    for key in s:
        checks.choice("setting", key, SETTINGS, error=LabError)
    foreign = [k for k in s if k not in ("model", "dataset", "seed", *KEYS[model])]
    if foreign:
        raise LabError(f"the {model} has no setting {', '.join(foreign)} (its own: {', '.join(KEYS[model])}); "
                       "that setting belongs to another model.")
    out = {"model": model, "dataset": s["dataset"], "seed": checks.whole("the seed", s.get("seed"), error=LabError)}
    missing = [k for k in KEYS[model] if k not in s]
    if missing:
        raise LabError(f"the {model} needs the setting(s) {', '.join(missing)}; start from lab.default_settings.")
    out["batch"] = checks.whole("the batch size", s["batch"], minimum=1, error=LabError)
    if model == "GAN":
        out["loss"] = checks.choice("GAN loss", s["loss"], GAN_LOSSES, error=LabError)
        out["optimiser"] = checks.choice("optimiser", s["optimiser"], OPTIMISERS, error=LabError)
        for key, name in (("lr_g", "G's learning rate"), ("lr_d", "D's learning rate")):
            out[key] = float(checks.number(name, s[key], low=0, high=0.1, low_open=True, error=LabError))
        out["d_steps"] = checks.whole("D steps per G step", s["d_steps"], minimum=1, error=LabError)
        if out["d_steps"] > 20:
            raise LabError(f"D steps per G step must be at most 20, got {out['d_steps']}.")
        out["latent"] = checks.whole("the noise dimension", s["latent"], minimum=1, error=LabError)
        if out["latent"] > 16:
            raise LabError(f"the noise dimension must be at most 16, got {out['latent']}.")
        return out
    weights = s["weights"]
    if isinstance(weights, (str, bytes)) or not hasattr(weights, "__len__") or len(weights) != 3:
        raise LabError(f"weights must be three numbers (lambda_rec, lambda_idem, lambda_tight), got {weights!r}; "
                       "0 switches a term off.")
    out["weights"] = IGNWeights(*(float(checks.number(f"{name} (0 switches its term off)", w, low=0, error=LabError))
                                  for name, w in zip(IGNWeights._fields, weights)))
    out["lr"] = float(checks.number("the learning rate", s["lr"], low=0, high=0.1, low_open=True, error=LabError))
    if s["distance"] not in DISTANCES:
        raise LabError(f"distance must be one of {', '.join(DISTANCES)}, got {s['distance']!r}.")
    out["distance"] = s["distance"]
    if s["source"] not in SOURCES:
        raise LabError(f"source must be one of {', '.join(SOURCES)}, got {s['source']!r}.")
    out["source"] = s["source"]
    if model == "IGN":
        clamp = checks.number("the clamp scale a (the paper's value is 1.5)", s.get("clamp"), low=0, low_open=True,
                              none="no clamp, the box unticked", error=LabError)
        out["clamp"] = None if clamp is None else float(clamp)
    return out


def saved_models_folder():
    """Where the lab saves models given as a bare file name: saved_models/ in the course's folder."""
    return runtime.data_folder().parent / "saved_models"


class Session:
    """One 2D model in training: settings, networks, the Step object, the history and the coverage trace."""

    def __init__(self, settings=None, **changes):
        self.lock = threading.RLock()
        self.points = None      # the points drawn on the plane (data set "drawn")
        self.kept = {}          # model -> its settings when it was last left
        self.checkpoint = None  # where Reset goes back to (None: fresh weights from the seed)
        self.alarm = None       # a message once training diverged
        self.settings = check_settings({**(settings or default_settings(changes.get("model", "IGN"))), **changes})
        self.reset()

    # --- making and changing the model -----------------------------------------------------------------
    def reset(self, checkpoint="same"):
        """Back to the start: the weights of `checkpoint` (by default the one the model was loaded from, if
        any; None: fresh weights from the seed), a fresh optimiser, an empty history."""
        with self.lock:
            self._build(self.checkpoint if checkpoint == "same" else checkpoint)

    def _training_data(self, s):
        if s["dataset"] != DRAWN:
            return data.toy2d(s["dataset"], N_DATA, seed=s["seed"])
        if self.points is None or not len(self.points):
            raise LabError("no drawn data yet: click or drag on the plane (Draw on) to add points, then train.")
        g = torch.Generator().manual_seed(s["seed"])
        pick = torch.randint(len(self.points), (N_DATA,), generator=g)
        return self.points[pick] + DRAW_JITTER * torch.randn(N_DATA, 2, generator=g)

    def _build(self, checkpoint):
        s = self.settings
        if checkpoint is not None:
            kind = checkpoints.metadata(checkpoint)["model"]["kind"]
            if s["model"] != "IGN" or kind != "mlp-ign":
                shipped = ", ".join(n for n in checkpoints.names() if n.startswith("ign-2d"))
                raise LabError(f"the lab loads checkpoints of 2D IGN networks (mlp-ign) into the IGN model; "
                               f"{checkpoint!r} is a {kind} and the model is {s['model']}. Choose the IGN model "
                               f"and one of: {shipped}, or a 2D IGN you saved from the lab.")
        torch.manual_seed(s["seed"])
        self.real = self._training_data(s)
        samples, gen, dev = train.prepare(self.real, s["seed"])
        if s["model"] == "GAN":
            G, D = (net.to(dev) for net in presets.build_gan_2d(s["seed"], latent=s["latent"]))
            self._nets = {"G": G, "D": D}
        else:
            source = data.gaussian_source(samples) if s["source"] == "matched" else None
            if s["model"] == "IGN":
                f = checkpoints.load(checkpoint, map_location=dev).train() if checkpoint else \
                    models.build("mlp-ign", source=source).to(dev)
                self._nets = {"f": f}
            else:
                self._nets = {"G": models.build("mlp-ign", source=source).to(dev), "A": models.build("mlp-ign").to(dev)}
        # The Step object (and its optimiser) is made at the first update: the first optimiser of a process
        # imports torch._dynamo (about a second), which must not delay the lab's first frame.
        self._batches, self._stepper = (samples, gen), None
        self.checkpoint = checkpoint
        self.steps = checkpoints.metadata(checkpoint)["steps"] if checkpoint else 0
        self.history = train.History()
        self.trace = {"step": [], "modes": [], "of": None, "near": [], "dist": []}
        self.alarm = None
        if s["model"] == "GAN":
            self.z = data.noise((s["latent"],), N_SHOW, seed=SEED_VIEW, device=dev)
        else:
            eps = data.noise((2,), N_SHOW, seed=SEED_VIEW, device=dev)
            self.z = self.generator.to_source(eps) if hasattr(self.generator, "to_source") else eps
        self.measure()

    def load(self, checkpoint):
        """The IGN model of a shipped (or saved) 2D checkpoint, with the settings it was trained with."""
        meta = checkpoints.metadata(checkpoint)
        config = meta["config"]
        with self.lock:
            settings = default_settings("IGN", config.get("data", self.settings["dataset"]), self.settings["seed"])
            settings.update(weights=tuple(config["weights"]), lr=config["lr"], distance=config["distance"],
                            clamp=config["clamp"], batch=config["batch"],
                            source="matched" if config.get("source") else "standard")
            if settings["dataset"] not in data.TOY2D:
                settings["dataset"] = "ring"
            old = self.settings
            self.settings = check_settings(settings)
            try:
                self._build(checkpoint)
            except CourseError:
                self.settings = old
                self._build(None)
                raise

    def update(self, **changes):
        """Change settings. Weights, distance, clamp and learning rates apply to the next step; a change
        of model, data set, source, seed, batch, optimiser or noise dimension starts again (reset) from the
        seed. A new model takes its own settings: those it had when last left, or its tuned ones.
        Returns True when it started again."""
        with self.lock:
            current = self.settings
            if "model" in changes and changes["model"] != current["model"]:
                model = changes["model"]
                checks.choice("model", model, MODELS, error=LabError)
                base = self.kept.get(model) or default_settings(model, current["dataset"], current["seed"])
                base = {**base, "dataset": current["dataset"], "seed": current["seed"]}
            else:
                base = current
            new = check_settings({**base, **changes})
            if new["dataset"] == DRAWN and (self.points is None or not len(self.points)):
                raise LabError("no drawn data yet: switch Draw on and click or drag on the plane to add points.")
            structural = any(new.get(k) != current.get(k) for k in STRUCTURAL)
            if new["model"] != current["model"]:
                self.kept[current["model"]] = current
            self.settings = new
            if structural:
                self._build(None)  # a new model, data set or seed: the checkpoint no longer applies
                return True
            st = self._stepper
            if st is None:  # not trained yet: the Step object will be made from the new settings
                return False
            if new["model"] == "GAN":
                for opt, key in ((st.opt_g, "lr_g"), (st.opt_d, "lr_d")):
                    for group in opt.param_groups:
                        group["lr"] = new[key]
                st.loss, st.d_steps = new["loss"], new["d_steps"]
            else:
                st.set_lr(new["lr"])
                st.weights, st.distance = new["weights"], new["distance"]
                if isinstance(st, train.IGNStep):
                    st.clamp = new["clamp"]
            return False

    def add_points(self, points):
        """Add drawn points ((k, 2), on the plane) to the data set "drawn" and start the model again on it."""
        points = torch.as_tensor(points, dtype=torch.float32).reshape(-1, 2)
        if not len(points) or not torch.isfinite(points).all() or points.abs().max() > LIMIT:
            raise LabError(f"drawn points must lie on the plane [-{LIMIT:g}, {LIMIT:g}]^2.")
        with self.lock:
            keep = self.points if self.settings["dataset"] == DRAWN and self.points is not None else points[:0]
            self.points = torch.cat([keep, points])
            self.settings = {**self.settings, "dataset": DRAWN}
            self._build(None)

    def clear_points(self):
        """Forget the drawn points; the model goes back to the ring."""
        with self.lock:
            self.points = None
            if self.settings["dataset"] == DRAWN:
                self.settings = {**self.settings, "dataset": "ring"}
                self._build(None)

    # --- the networks, by role ----------------------------------------------------------------------
    @property
    def stepper(self):
        """The trainer's Step object (train.IGNStep, SplitIGNStep or GANStep) of this model, made when first used."""
        with self.lock:
            if self._stepper is None:
                self._stepper = self._make_stepper()
            return self._stepper

    def _make_stepper(self):
        s, (samples, gen), nets = self.settings, self._batches, self._nets
        if s["model"] == "GAN":
            st = train.GANStep(nets["G"], nets["D"], samples, gen, s["loss"], s["batch"], s["lr_g"], s["lr_d"],
                               presets.GAN_2D["betas"], s["d_steps"], presets.GAN_2D["r1"])
            if s["optimiser"] == "sgd":
                st.opt_g = torch.optim.SGD(nets["G"].parameters(), lr=s["lr_g"])
                st.opt_d = torch.optim.SGD(nets["D"].parameters(), lr=s["lr_d"])
                st.optimizers = (st.opt_g, st.opt_d)
            return st
        if s["model"] == "IGN":
            return train.IGNStep(nets["f"], samples, gen, s["weights"], s["distance"], s["clamp"], "paired",
                                 s["batch"], s["lr"])
        return train.SplitIGNStep(nets["G"], nets["A"], samples, gen, s["weights"], s["distance"], s["batch"], s["lr"])

    @property
    def kind(self):
        return self.settings["model"]

    @property
    def generator(self):
        """The network that makes samples from z: f (IGN), G (split IGN and GAN)."""
        return self._nets["f"] if self.kind == "IGN" else self._nets["G"]

    @property
    def autoencoder(self):
        """The network whose reconstruction error is the energy delta: f (IGN), A (split IGN); None for the GAN."""
        return {"IGN": self._nets.get("f"), "split IGN": self._nets.get("A")}.get(self.kind)

    @property
    def discriminator(self):
        """The GAN's discriminator D (None for IGN and split IGN)."""
        return self._nets.get("D")

    @property
    def nets(self):
        """The networks in the Step object's order: (f,), (G, A) or (G, D)."""
        return tuple(self._nets.values())

    # --- training ------------------------------------------------------------------------------------
    def _diverged(self, why):
        self.alarm = (f"diverged at step {self.steps}: {why}. Training stopped. Press Reset, then try a smaller "
                      "learning rate (1e-3 or less)" + (", a smaller lambda_tight or the clamp (a = 1.5)"
                                                         if self.kind != "GAN" else ", or the non-saturating loss")
                      + ".")
        raise LabError(self.alarm)

    def _record(self, values):
        values = {k: float(v) for k, v in values.items()}
        if not all(math.isfinite(v) for v in values.values()):
            self._diverged(f"the losses became non-finite ({', '.join(f'{k} {v:.3g}' for k, v in values.items())})")
        if any(abs(v) > EXPLODING for v in values.values()):
            self._diverged(f"the losses exploded ({', '.join(f'{k} {v:.3g}' for k, v in values.items())})")
        self.history.record(values)
        self.steps += 1
        if self.steps % TRACE_EVERY == 0:
            self.measure()

    def _ready(self):
        if self.alarm:
            raise LabError(self.alarm)

    def step(self, n=1):
        """n training updates (each one call of the trainer's own Step object)."""
        checks.whole("the number of steps", n, error=LabError)
        with self.lock:
            for _ in range(n):
                self._ready()
                self._record(self.stepper())

    def d_step(self):
        """GAN only: one discriminator update, the generator left as it is."""
        with self.lock:
            self._gan_only("a D-only step")
            self._record(self.stepper.d_update())

    def g_step(self):
        """GAN only: one generator update against the current discriminator."""
        with self.lock:
            self._gan_only("a G-only step")
            self._record(self.stepper.g_update())

    def _gan_only(self, what):
        if self.kind != "GAN":
            raise LabError(f"{what} is for the GAN, which has two networks; {self.kind} takes one update on "
                           "all its losses: press Step.")
        self._ready()

    # --- measuring ----------------------------------------------------------------------------------
    @torch.no_grad()
    def samples(self):
        """The generated samples of the fixed view z."""
        with self.lock, models.evaluating(self.generator) as G:
            return G(self.z).cpu()

    def measure(self):
        """Add a point to the coverage trace (modes or regions covered, share near the data, mean distance to
        the data); flags samples that left the plane."""
        with self.lock:
            fake = self.samples()
            if not torch.isfinite(fake).all():
                self._diverged("the samples became non-finite")
            off = float((fake.abs() > LIMIT).any(1).float().mean())
            name = self.settings["dataset"]
            if name == DRAWN:
                modes = None
                near = metrics.near_data(fake, self.real[:2000])
            else:
                cover = (metrics.mode_coverage(fake, name) if data.toy2d_modes(name) is not None
                         else metrics.shape_coverage(fake, name))
                modes, near, self.trace["of"] = cover["modes"], cover["near"], cover["of"]
            t = self.trace
            t["step"].append(self.steps)
            t["modes"].append(modes)
            t["near"].append(near)
            t["dist"].append(float(torch.cdist(fake, self.real[:2000]).min(1).values.mean()))
            if off > OFF_PLANE:
                self._diverged(f"{off:.0%} of the samples left the plane [-{LIMIT:g}, {LIMIT:g}]^2")

    def verdict(self):
        """One line: does the model, as it is now, pass the course's 2D success rule (metrics.is_success)?"""
        t = self.trace
        if self.alarm:
            return "diverged: coverage not meaningful"
        if t["modes"][-1] is None:
            return f"{t['near'][-1]:.0%} of samples near your points (no success rule for drawn data)"
        ok = t["modes"][-1] == t["of"] and t["near"][-1] >= metrics.NEAR_SUCCESS
        what = "modes" if data.toy2d_modes(self.settings["dataset"]) is not None else "regions"
        return (f"{'succeeds' if ok else 'does not succeed'}: {t['modes'][-1]}/{t['of']} {what}, "
                f"{t['near'][-1]:.0%} near")

    @torch.no_grad()
    def orbit(self, points, n):
        """[z, first application, second, ...] for n applications: f, f(f(z)), ... for IGN; for the split
        IGN the generator G first, then the autoencoder A (G(z), A(G(z)), ...); for the GAN, G(z) only."""
        points = torch.as_tensor(points, dtype=torch.float32).reshape(-1, points.shape[-1] if
                                                                          torch.is_tensor(points) else 2)
        with self.lock:
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
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise LabError(f"type a number for the probe's {name}, got {value!r}.")
        point = torch.tensor([[float(x), float(y)]])
        with self.lock:
            dev = models.device_of(self.generator)
            if self.autoencoder is not None:
                out = {"point": (float(x), float(y)), "orbit": self.orbit(point, n)}
                out["delta"] = float(losses.energy(self.autoencoder, point.to(dev), self.settings["distance"]))
                end = out["orbit"][-1][0]
                out["text"] = (f"probe ({x:.2f}, {y:.2f}): delta = {out['delta']:.4f}; after "
                               f"{len(out['orbit']) - 1} applications it sits at ({end[0]:.2f}, {end[1]:.2f}), "
                               f"delta there {float(losses.energy(self.autoencoder, out['orbit'][-1].to(dev))):.4f}")
            else:  # a GAN's discriminator does not move points: the probe only reads D there
                out = {"point": (float(x), float(y)), "orbit": [point]}
                out["p_real"] = float(torch.sigmoid(self.discriminator(point.to(dev))))
                out["text"] = f"probe ({x:.2f}, {y:.2f}): D's probability of \"real\" = {out['p_real']:.3f}"
        return out

    def save(self, path):
        """Write the model as checkpoint(s) that checkpoints.load reads: `path` (a .safetensors file) holds the
        generator (IGN: f); the split IGN's autoencoder and the GAN's discriminator go beside it as
        <name>-discriminator.safetensors. A bare file name goes to saved_models/ in the course's folder (made
        if needed); any other path must name a folder that exists. Returns the paths written."""
        given = Path(path)
        if given.suffix != ".safetensors":
            raise LabError(f"save to a file name ending in .safetensors, got {str(given)!r}.")
        if given.parent == Path("."):
            folder = saved_models_folder()
            try:
                folder.mkdir(exist_ok=True)
            except OSError as error:
                raise LabError(f"cannot make the folder {folder} for saved models ({error.strerror or error}); "
                               "name an existing folder you can write to.") from error
            target = folder / given.name
        else:
            target = given.expanduser()
            if not target.parent.is_dir():
                raise LabError(f"no folder {str(target.parent)!r}: the lab does not make folders; name one that "
                               f"exists, or give just a file name to save in {saved_models_folder()}.")
        with self.lock:
            s = self.settings
            config = {**{k: v for k, v in s.items() if k != "weights"}, "data": s["dataset"], "n_data": N_DATA,
                      "lab": True}
            if "weights" in s:
                config["weights"] = list(s["weights"])
            last = {k: v[-1] for k, v in self.trace.items() if isinstance(v, list) and v}
            written = []
            for net, where in zip(self.nets, (target, target.with_name(target.stem + "-discriminator.safetensors"))):
                checkpoints.save(net, where, config=config, seed=s["seed"], steps=self.steps, metrics=last)
                written.append(where)
        return written


class Player:
    """Trains a session off the main thread (a Python thread in the kernel) while Play is on.

    Each round takes as many optimiser steps as fit in its training time (at least one), then calls
    `on_frame()`; rounds start at most every `frame_seconds`. The training time is what the frame leaves of
    `frame_seconds` (at least `min_train`), lengthened while training runs below TRAIN_FLOOR steps a second
    and the frames above FRAME_FLOOR a second (on a loaded machine: fewer frames, still enough training),
    and shortened again when there is room. A LabError (divergence) stops it and goes to `on_error(error)`.
    The session's lock is taken per round, so the main thread's Step, Reset and settings changes wait at
    most one round."""

    TRAIN_FLOOR, FRAME_FLOOR, MAX_TRAIN = 115.0, 12.0, 0.075

    def __init__(self, session, on_frame, on_error, frame_seconds=0.05, min_train=0.025):
        self.session, self.on_frame, self.on_error = session, on_frame, on_error
        self.frame_seconds, self.min_train = frame_seconds, min_train
        self._stop = threading.Event()
        self.thread = None
        self.rounds = self.trained = 0
        self.started_at = None

    @property
    def playing(self):
        return self.thread is not None and self.thread.is_alive() and not self._stop.is_set()

    def start(self):
        if self.playing:
            return
        self._stop.clear()
        self.rounds = self.trained = 0
        self.started_at = time.perf_counter()
        self.thread = threading.Thread(target=self._run, name="ign-lab-player", daemon=True)
        self.thread.start()

    def stop(self, wait=True):
        self._stop.set()
        if wait and self.thread is not None and self.thread is not threading.current_thread():
            self.thread.join(5)

    def _run(self):
        drawing, extra, rate, fps = 0.01, 0.0, None, None
        try:
            while not self._stop.is_set():
                start = time.perf_counter()
                budget = min(self.MAX_TRAIN, max(self.min_train, self.frame_seconds - drawing) + extra)
                steps = 0
                with self.session.lock:
                    while True:
                        self.session.step()
                        steps += 1
                        if time.perf_counter() - start >= budget or self._stop.is_set():
                            break
                self.trained += steps
                before = time.perf_counter()
                self.on_frame()
                drawing = time.perf_counter() - before
                self.rounds += 1
                rest = self.frame_seconds - (time.perf_counter() - start)
                self._stop.wait(max(0.002, rest))
                took = time.perf_counter() - start
                # running means of the training rate and the frame rate steer the training time
                rate = steps / took if rate is None else 0.8 * rate + 0.2 * steps / took
                fps = 1 / took if fps is None else 0.8 * fps + 0.2 / took
                if rate < self.TRAIN_FLOOR and fps > self.FRAME_FLOOR:
                    extra = min(self.MAX_TRAIN, extra + 0.002)
                elif rate > 1.2 * self.TRAIN_FLOOR and extra > 0:
                    extra = max(0.0, extra - 0.002)
        except CourseError as error:
            self._stop.set()
            self.on_error(error)
        except Exception as error:  # never die silently in a thread: say it in the lab
            self._stop.set()
            self.on_error(LabError(f"training stopped: {type(error).__name__}: {error}"))
