"""One training loop for every model of the course, with progress bar, history and divergence guard.

Each trainer takes any tensor of samples, `(N, 2)` points or `(N, C, H, W)` images, builds a
default model for that shape (or uses the one you pass), and returns the model(s) and a History.
"""
import copy
import math
import time

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from . import checks, data, losses, models, presets
from .losses import IGNWeights
from .runtime import CourseError
from .runtime import device as default_device


class TrainingError(CourseError):
    """Raised for unusable training data or settings; the message says what to change."""


class History(dict):
    """Loss curves: name -> list of floats, one per step; plus `seconds` and `stopped` (a reason or None)."""

    def __init__(self):
        super().__init__()
        self.seconds, self.stopped, self.steps = 0.0, None, 0

    def record(self, values):
        for name, value in values.items():
            self.setdefault(name, []).append(float(value))

    def last(self, name, window=50):
        """Mean of the last `window` values of a curve."""
        checks.whole("window", window, minimum=1)
        if not any(self.values()):
            raise CourseError(f"this history is empty (no step was recorded), so curve {name!r} has no last value; "
                              "train at least one step first.")
        values = self[checks.choice("curve", name, list(self))][-window:]
        return sum(values) / len(values)


def check_samples(samples):
    """Validate user data: a finite float tensor of shape (N, 2) or (N, C, H, W) with N >= 2."""
    shape = tuple(samples.shape) if isinstance(samples, torch.Tensor) else None
    if shape is not None and (len(shape) not in (2, 4) or len(shape) == 2 and shape[1] != 2):
        raise TrainingError(f"samples must have shape (N, 2) for points or (N, C, H, W) for images, "
                            f"got {tuple(samples.shape)}.")
    samples = checks.tensor("samples", samples, minimum=2, error=TrainingError)
    if samples.dim() == 4:
        side = samples.shape[-1]
        try:
            models.halvings(side)
        except CourseError:
            side = None
        if samples.shape[-2] != side:
            raise TrainingError(f"images must be square with a side of 4 to 7 times a power of two (8, 16, 28, 32, "
                                f"...), got {tuple(samples.shape[-2:])}; resize with "
                                "torch.nn.functional.interpolate.")
        checks.image_range("training images", samples, error=TrainingError)
        if samples.min() >= 0:
            raise TrainingError("training images have no negative values: they look scaled to [0, 1], but the "
                                "course's images (and its tanh networks) use [-1, 1], background -1; pass 2 * x - 1.")
    return samples.float()


SETTING_RULES = {
    "seed": lambda v: checks.whole("seed", v),
    "steps": lambda v: checks.whole("steps", v),
    "batch": lambda v: checks.whole("batch", v, 1),
    "d_steps": lambda v: checks.whole("d_steps", v, 1),
    "lr": lambda v: checks.number("lr", v, low=0, low_open=True),
    "lr_g": lambda v: checks.number("lr_g", v, low=0, low_open=True),
    "lr_d": lambda v: checks.number("lr_d", v, low=0, low_open=True),
    "r1": lambda v: checks.number("r1", v, low=0),
    "margin": lambda v: checks.number("margin", v, low=0, low_open=True),
    "clamp": lambda v: checks.number("clamp", v, low=0, low_open=True, none="no clamp"),
    "real_noise": lambda v: checks.number("real_noise", v, low=0, low_open=True, none="no noise on the real inputs"),
    "distance": lambda v: checks.choice("distance", v, losses.DISTANCES),
    "clamp_ref": lambda v: checks.choice("clamp_ref", v, ("paired", "batch")),
    "loss": lambda v: checks.choice("loss", v, ("nonsaturating", "minimax", "energy")),
    "weights": losses.as_weights,
    "betas": lambda v: _betas(v),
}


def _betas(value):
    try:
        b1, b2 = value
    except (TypeError, ValueError):
        raise CourseError(f"betas must be a pair (beta1, beta2) for Adam, got {value!r}.") from None
    return checks.number("betas[0]", b1, low=0, high=0.9999), checks.number("betas[1]", b2, low=0, high=0.99999)


def check_settings(**settings):
    """Check a trainer's settings by name: TrainingError names the one that is out of range."""
    try:
        return {name: SETTING_RULES[name](value) for name, value in settings.items()}
    except CourseError as error:
        raise TrainingError(str(error)) from None


def _probe(net, inputs):
    """net(inputs) without gradient, in eval mode, without drawing random numbers."""
    with torch.no_grad(), torch.random.fork_rng(devices=[]), models.evaluating(net):
        return net(inputs)


def check_fits(samples, f=None, G=None, D=None, A=None):
    """Check that networks fit data shaped like `samples` before training: f and A map samples to samples,
    G maps its latent input to samples, D maps samples to one score each."""
    shape, two = tuple(samples.shape[1:]), samples[:2]
    wanted = {"f": (2, *shape), "A": (2, *shape), "G": (2, *shape), "D": ((2,), (2, 1))}
    for role, net in (("f", f), ("A", A), ("G", G), ("D", D)):
        if net is None:
            continue
        if role == "G" and not hasattr(net, "latent_shape"):
            raise TrainingError("G needs a .latent_shape, the shape of one input z (models.build gives one).")
        inputs = torch.zeros((2, *net.latent_shape), device=samples.device) if role == "G" else two
        try:
            out = _probe(net, inputs)
        except (RuntimeError, ValueError) as error:
            raise TrainingError(f"{role} does not fit data of shape (N, {', '.join(map(str, shape))}): "
                                f"{str(error).splitlines()[0]}. Pass a network made for this data, or None for "
                                "the default one.") from None
        fits = tuple(out.shape) in wanted[role] if role == "D" else tuple(out.shape) == wanted[role]
        if not fits:
            raise TrainingError(f"{role} maps {tuple(inputs.shape)} to {tuple(out.shape)}, but data of shape "
                                f"(N, {', '.join(map(str, shape))}) needs {wanted[role]}. Pass a network made for "
                                "this data, or None for the default one.")


def default_models(samples, roles, **options):
    """Default networks for data shaped like `samples`: roles from 'generator', 'discriminator', 'ign'."""
    if samples.dim() == 2:
        made = {"generator": lambda: models.build("mlp-generator", **options),
                "discriminator": lambda: models.build("mlp-discriminator", **options),
                "ign": lambda: models.build("mlp-ign", **options)}
    else:
        shape = dict(size=samples.shape[-1], channels=samples.shape[1], **options)
        made = {"generator": lambda: models.build("conv-generator", **shape),
                "discriminator": lambda: models.build(
                    "conv-discriminator", **{k: v for k, v in shape.items() if k != "latent"}),
                "ign": lambda: models.build("conv-ign", **shape)}
    return [made[role]() for role in roles]


SNAPSHOT_EVERY = 50  # run() keeps a copy of the (finite) weights every this many steps


def finite_weights(nets):
    """True when every weight of every network is finite (one fused norm per network)."""
    params = [p.detach() for net in nets for p in net.parameters()]
    return not params or bool(torch.isfinite(torch.stack(torch._foreach_norm(params))).all())


# Ctrl-C during a run in a notebook returns what it has; later runs of the same cell (a loop over seeds) then
# stop at once, so one press stops the whole cell. A new cell clears the mark (IPython's pre_run_cell event).
_ctrl_c = {"pressed": False, "watching": False}


def _clear_ctrl_c(*_):
    _ctrl_c["pressed"] = False


def _watch_cells():
    """In a notebook, clear the Ctrl-C mark when a new cell starts (registered once)."""
    if _ctrl_c["watching"]:
        return
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None:
        shell.events.register("pre_run_cell", _clear_ctrl_c)
        _ctrl_c["watching"] = True


def run(step, steps, nets, desc="training", progress=True, callback=None, every=100):
    """Call `step(i) -> {name: scalar}` for i = 0 .. steps - 1 and record the values in a History.

    Faults stop the run and return what there is, with `history.stopped` saying why:
    a NaN or infinite loss term or weight after step i names i and the term, and restores the
    weights saved after `history.restored` updates (a copy kept every SNAPSHOT_EVERY steps, taken
    only when every weight is finite); Ctrl-C (KeyboardInterrupt) keeps the model as it is and the
    history of the steps done, with `history.interrupted` = the number of steps done.
    `callback(i, history)` is called every `every` steps and after the last one. In a notebook, after a Ctrl-C a
    later run in the same cell raises KeyboardInterrupt at once: one press stops a whole loop of runs."""
    steps, every = checks.whole("steps", steps), checks.whole("every", every, 1)
    _watch_cells()
    if _ctrl_c["pressed"]:
        raise KeyboardInterrupt("Ctrl-C stopped an earlier training run of this cell; the rest of the cell is "
                                "skipped (run the cell again to train).")
    history, start = History(), time.perf_counter()
    safe, history.restored, history.interrupted = [copy.deepcopy(n.state_dict()) for n in nets], None, None
    saved = 0
    with tqdm(range(steps), desc=desc, disable=not progress, leave=False, mininterval=0.5) as bar:
        try:
            for i in bar:
                values = {k: float(v) for k, v in step(i).items()}
                bad = {k: v for k, v in values.items() if not math.isfinite(v)}
                if bad or not finite_weights(nets):
                    for net, state in zip(nets, safe):
                        net.load_state_dict(state)
                    history.restored = saved
                    what = (f"the loss term(s) {', '.join(f'{k} = {v}' for k, v in bad.items())}" if bad
                            else f"a weight (the losses were finite: {values})")
                    kept = f"the weights saved after {saved} steps" if saved else "the initial weights"
                    history.stopped = (f"{what} became non-finite at step {i} (steps count from 0); training stopped "
                                       f"and {kept}, the last finite ones, were restored. Try a smaller learning "
                                       "rate or a clamp.")
                    print("WARNING:", history.stopped)
                    break
                history.record(values)
                history.steps = i + 1
                if history.steps % SNAPSHOT_EVERY == 0:
                    safe, saved = [copy.deepcopy(n.state_dict()) for n in nets], history.steps
                if callback is not None and (i % every == 0 or i == steps - 1):
                    callback(i, history)
                if progress and i % 50 == 0:
                    bar.set_postfix({k: f"{v:.3g}" for k, v in values.items()})
        except KeyboardInterrupt:
            _ctrl_c["pressed"] = _ctrl_c["watching"]  # only in a notebook, where the next cell clears it
            history.interrupted = history.steps
            history.stopped = (f"interrupted (Ctrl-C) after {history.steps} steps of {steps}: the model as it is "
                               "and the history of those steps were kept (the step under way may be partly applied).")
            print("INTERRUPTED:", history.stopped)
    history.seconds = time.perf_counter() - start
    return history


def prepare(samples, seed=0, dev=None):
    """What every trainer does first: check the samples, seed torch, pick the device.

    Returns (samples on the device, the torch.Generator that draws the batches, the device)."""
    samples = check_samples(samples)
    check_settings(seed=seed)
    torch.manual_seed(seed)
    dev = dev or default_device()
    return samples.to(dev), torch.Generator().manual_seed(seed), dev


def _batch(samples, size, gen):
    return samples[torch.randint(len(samples), (size,), generator=gen).to(samples.device)]


def _source(net, like):
    """A batch of z shaped like `like`, from the network's source (N(0, I) for a network without one)."""
    return getattr(net, "to_source", lambda eps: eps)(torch.randn_like(like))


def _latent_batch(G, size, device):
    """`size` standard Gaussian inputs of a generator G."""
    return torch.randn((size, *G.latent_shape), device=device)


def _r1_penalty(D, x):
    """Mean squared norm of the discriminator's gradient with respect to real samples."""
    x = x.detach().requires_grad_(True)
    grad, = torch.autograd.grad(D(x).sum(), x, create_graph=True)
    return grad.pow(2).flatten(1).sum(1).mean()


# --- one update of each model: used by the trainers' loops below and by the lab (ign_lessons.lab) ---------
# Each Step object holds its networks (`nets`), their optimiser(s) and its settings as attributes that may be
# changed between calls (the lab moves the weights, the distance, the clamp; `set_lr` the learning rate).
# Calling it takes one training update and returns {name: 0-d tensor} for the History.

class _Step:
    def set_lr(self, lr):
        """Change the learning rate of every optimiser of this step (Adam keeps its moments)."""
        for opt in self.optimizers:
            for group in opt.param_groups:
                group["lr"] = lr


class GANStep(_Step):
    """One alternating GAN update: `d_steps` discriminator updates (`d_update`), then one generator update
    (`g_update`). Batches of real samples come from `samples` drawn with the torch.Generator `gen`."""

    def __init__(self, G, D, samples, gen, loss="nonsaturating", batch=128, lr_g=2e-4, lr_d=2e-4,
                 betas=(0.5, 0.999), d_steps=1, r1=0.0):
        self.G, self.D, self.samples, self.gen = G, D, samples, gen
        self.loss, self.batch, self.d_steps, self.r1 = loss, batch, d_steps, r1
        self.opt_g = torch.optim.Adam(G.parameters(), lr=lr_g, betas=betas)
        self.opt_d = torch.optim.Adam(D.parameters(), lr=lr_d, betas=betas)
        self.nets, self.optimizers = (G, D), (self.opt_g, self.opt_d)

    def _fake(self):
        return self.G(_latent_batch(self.G, self.batch, self.samples.device))

    def d_update(self):
        """One discriminator update; returns {"d_loss"} (and "r1" when the penalty is on)."""
        x = _batch(self.samples, self.batch, self.gen)
        fake = self._fake()
        d_loss = (losses.energy_d_loss if self.loss == "energy" else losses.gan_d_loss)(self.D, x, fake)
        penalty = _r1_penalty(self.D, x) if self.r1 else None
        self.opt_d.zero_grad()
        (d_loss + self.r1 / 2 * penalty if self.r1 else d_loss).backward()
        self.opt_d.step()
        values = {"d_loss": d_loss.detach()}
        return {**values, "r1": penalty.detach()} if self.r1 else values

    def g_update(self):
        """One generator update against the current discriminator; returns {"g_loss"}."""
        fake = self._fake()
        judge = losses.frozen(self.D)  # the generator step computes no gradient for D's weights
        g_loss = (losses.energy_g_loss(judge, fake) if self.loss == "energy"
                  else losses.gan_g_loss(judge, fake, self.loss))
        self.opt_g.zero_grad()
        g_loss.backward()
        self.opt_g.step()
        return {"g_loss": g_loss.detach()}

    def __call__(self, i=None):
        for _ in range(self.d_steps):
            d_values = self.d_update()
        values = {"d_loss": d_values["d_loss"], **self.g_update()}
        return {**values, "r1": d_values["r1"]} if self.r1 else values


class IGNStep(_Step):
    """One IGN update of the network f (losses.ign_loss), with z from f's source or from `noise(n)`.

    Two additions to IGN, both off by default (and then nothing else changes, bit for bit):
    coverage: None, a weight, or losses.Coverage(weight, candidates): adds weight x
    losses.coverage_loss over a pool of candidates x batch fresh z's (recorded as "coverage");
    real_noise: None or sigma > 0: adds lambda_rec x losses.denoising_loss (recorded as "denoise")."""

    def __init__(self, f, samples, gen, weights, distance="l1", clamp=None, clamp_ref="paired", batch=128,
                 lr=1e-3, betas=(0.5, 0.999), noise=None, coverage=None, real_noise=None):
        self.f, self.samples, self.gen, self.noise = f, samples, gen, noise
        self.weights, self.distance, self.clamp, self.clamp_ref = losses.as_weights(weights), distance, clamp, clamp_ref
        self.batch, self.coverage, self.real_noise = batch, losses.as_coverage(coverage), real_noise
        self.opt = torch.optim.Adam(f.parameters(), lr=lr, betas=betas)
        self.nets, self.optimizers = (f,), (self.opt,)

    def source(self, like):
        """A batch of z shaped like `like`: from `noise` if given, else from f's source (N(0, I) without one)."""
        if self.noise is not None:
            return self.noise(len(like)).to(like.device)
        return _source(self.f, like)

    def __call__(self, i=None):
        x = _batch(self.samples, self.batch, self.gen)
        z = self.source(x)
        loss, terms = losses.ign_loss(self.f, x, z, self.weights, self.distance, self.clamp, self.clamp_ref)
        if self.coverage is not None:
            pool = self.source(x.repeat(self.coverage.candidates, *[1] * (x.dim() - 1)))
            terms["coverage"] = losses.coverage_loss(self.f, x, pool, self.distance)
            loss = loss + self.coverage.weight * terms["coverage"]
        if self.real_noise:
            terms["denoise"] = losses.denoising_loss(self.f, x, self.real_noise, self.distance)
            loss = loss + self.weights.lambda_rec * terms["denoise"]
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return {"loss": loss.detach(), **{k: v.detach() for k, v in terms.items()}}


class SplitIGNStep(_Step):
    """One update of IGN's three losses on two networks, generator G and autoencoder A (losses.split_ign_terms)."""

    def __init__(self, G, A, samples, gen, weights, distance="l1", batch=128, lr=1e-3, betas=(0.5, 0.999)):
        self.G, self.A, self.samples, self.gen = G, A, samples, gen
        self.weights, self.distance, self.batch = losses.as_weights(weights), distance, batch
        self.opt = torch.optim.Adam([*G.parameters(), *A.parameters()], lr=lr, betas=betas)
        self.nets, self.optimizers = (G, A), (self.opt,)

    def __call__(self, i=None):
        x = _batch(self.samples, self.batch, self.gen)
        z = _source(self.G, x)
        rec, idem, tight = losses.split_ign_terms(self.G, self.A, x, z, self.distance)
        wr, wi, wt = self.weights
        loss = wr * rec + wi * idem + wt * tight
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return {"loss": loss.detach(), "rec": rec.detach(), "idem": idem.detach(), "tight": tight.detach()}


class DenoisingStep(_Step):
    """One update of a denoising autoencoder A (Vincent et al. 2008), the baseline that IGN's projection is
    measured against: A(x + sigma eps) should give back x, sigma drawn per image uniformly up to `sigma_max`,
    the noisy digit clamped to [-1, 1]."""

    def __init__(self, A, samples, gen, sigma_max=0.6, distance="l1", batch=128, lr=1e-4, betas=(0.5, 0.999)):
        self.A, self.samples, self.gen = A, samples, gen
        self.sigma_max, self.distance, self.batch = sigma_max, distance, batch
        self.opt = torch.optim.Adam(A.parameters(), lr=lr, betas=betas)
        self.nets, self.optimizers = (A,), (self.opt,)

    def __call__(self, i=None):
        x = _batch(self.samples, self.batch, self.gen)
        sigma = self.sigma_max * torch.rand(len(x), *[1] * (x.dim() - 1), generator=self.gen).to(x.device)
        noisy = (x + sigma * torch.randn(x.shape, generator=self.gen).to(x.device)).clamp(-1, 1)
        loss = losses.per_sample_distance(self.A(noisy), x, self.distance).mean()
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return {"loss": loss.detach()}


class EBGANStep(_Step):
    """One EBGAN update: the autoencoder discriminator A, then the generator G."""

    def __init__(self, G, A, samples, gen, margin=1.0, distance="l1", batch=128, lr_g=2e-4, lr_d=2e-4,
                 betas=(0.5, 0.999)):
        self.G, self.A, self.samples, self.gen = G, A, samples, gen
        self.margin, self.distance, self.batch = margin, distance, batch
        self.opt_g = torch.optim.Adam(G.parameters(), lr=lr_g, betas=betas)
        self.opt_d = torch.optim.Adam(A.parameters(), lr=lr_d, betas=betas)
        self.nets, self.optimizers = (G, A), (self.opt_g, self.opt_d)

    def __call__(self, i=None):
        x = _batch(self.samples, self.batch, self.gen)
        fake = self.G(_latent_batch(self.G, self.batch, self.samples.device))
        d_loss = losses.ebgan_d_loss(self.A, x, fake, self.margin, self.distance)
        self.opt_d.zero_grad()
        d_loss.backward()
        self.opt_d.step()
        g_loss = losses.ebgan_g_loss(losses.frozen(self.A), fake, self.distance)  # no gradient for A's weights
        self.opt_g.zero_grad()
        g_loss.backward()
        self.opt_g.step()
        return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach()}


def train_gan(samples, steps=2000, seed=0, loss="nonsaturating", batch=128, lr_g=2e-4, lr_d=2e-4,
              betas=(0.5, 0.999), d_steps=1, G=None, D=None, progress=True, callback=None,
              every=100, device=None, r1=0.0):
    """Alternating GAN training. loss: "nonsaturating" or "minimax" (cross-entropy), or "energy".

    d_steps discriminator updates per generator update. r1 > 0 adds the R1 penalty
    (r1 / 2) * |grad_x D(x)|^2 on real samples to the discriminator's loss (Mescheder et al. 2018,
    arXiv:1801.04406), recorded as "r1" in the history. Returns (G, D, history)."""
    check_settings(steps=steps, loss=loss, batch=batch, lr_g=lr_g, lr_d=lr_d, betas=betas, d_steps=d_steps, r1=r1)
    samples, gen, dev = prepare(samples, seed, device)
    if G is None or D is None:
        G0, D0 = default_models(samples, ("generator", "discriminator"))
        G, D = G or G0, D or D0
    check_fits(samples, G=G.to(dev), D=D.to(dev))
    step = GANStep(G.to(dev), D.to(dev), samples, gen, loss, batch, lr_g, lr_d, betas, d_steps, r1)
    history = run(step, steps, step.nets, f"GAN ({loss})", progress, callback, every)
    return G, D, history


# IGN's defaults, one per kind of data, used by train_ign and train_split_ign and read by the notebooks.
# Points: tuned on the ring of 8 Gaussians over seeds (04_ign_2d and its study "ign-2d-study").
# Images: the CelebA settings reimplementations attribute to the paper (L1, weights 20/20/2.5, Adam
# 1e-4 with betas (0.5, 0.999)), except two: batch 128, not 256 (the digits' training split has only
# 1,437 images, and a step costs half as much on a CPU), and no clamp (the paper's a = 1.5 is an
# option, `clamp=1.5`; on the digits it did not change the collapse that 06 studies).
IGN_DEFAULTS = {
    "points": {"steps": 5000, **{k: presets.IGN_2D[k] for k in ("weights", "lr", "batch")}},  # presets.IGN_2D
    "images": {"steps": 2000, "weights": IGNWeights(20, 20, 2.5), "lr": 1e-4, "batch": 128},
}


def ign_defaults(samples):
    """The default settings of train_ign and train_split_ign for data shaped like `samples`."""
    return dict(IGN_DEFAULTS["points" if samples.dim() == 2 else "images"])


def _ign_settings(samples, **given):
    """IGN_DEFAULTS for the data's shape, overridden by the settings given (None: the default)."""
    settings = ign_defaults(samples)
    settings.update({k: v for k, v in given.items() if v is not None})
    settings.update(check_settings(**settings))
    return settings


def train_ign(samples, steps=None, seed=0, weights=None, distance="l1", clamp=None,
              clamp_ref="paired", batch=None, lr=None, betas=(0.5, 0.999), f=None, noise=None,
              progress=True, callback=None, every=100, device=None, coverage=None, real_noise=None):
    """IGN training of one network f with its three routed terms (losses.ign_loss).

    steps, weights, batch, lr: None takes the default for the data's shape (IGN_DEFAULTS).
    f: None builds the default network; for (N, 2) points its source is a Gaussian with the data's
    per-coordinate mean and standard deviation (data.gaussian_source), for images N(0, I).
    noise: None draws z from f's source (N(0, I) for a network without one), or a function
    n -> tensor of z's. coverage, real_noise: additions to IGN, off by default (IGNStep).
    Returns (f, history); the history has "loss", "rec", "idem", "tight" (and "coverage",
    "denoise" when on) per step and `history.settings`, the settings used."""
    samples, gen, dev = prepare(samples, seed, device)
    settings = _ign_settings(samples, steps=steps, weights=weights, batch=batch, lr=lr)
    steps, weights, batch, lr = (settings[k] for k in ("steps", "weights", "batch", "lr"))
    check_settings(distance=distance, clamp=clamp, clamp_ref=clamp_ref, betas=betas, real_noise=real_noise)
    if f is None:
        options = {"source": data.gaussian_source(samples)} if samples.dim() == 2 else {}
        f = default_models(samples, ("ign",), **options)[0]
    check_fits(samples, f=f.to(dev))
    step = IGNStep(f.to(dev), samples, gen, weights, distance, clamp, clamp_ref, batch, lr, betas, noise,
                   coverage, real_noise)
    history = run(step, steps, step.nets, "IGN", progress, callback, every)
    history.settings = {**settings, "weights": tuple(weights), "distance": distance, "clamp": clamp,
                        "clamp_ref": clamp_ref, "betas": betas, "source": getattr(f, "source", None)}
    if step.coverage is not None:
        history.settings["coverage"] = tuple(step.coverage)
    if real_noise:
        history.settings["real_noise"] = real_noise
    return f, history


def train_split_ign(samples, steps=None, seed=0, weights=None, distance="l1", batch=None, lr=None,
                    betas=(0.5, 0.999), G=None, A=None, progress=True, callback=None, every=100, device=None):
    """IGN's three losses with separate networks: generator G (z shaped like data) and autoencoder A.

    steps, weights, batch, lr: None takes IGN's default for the data's shape (IGN_DEFAULTS).
    z is drawn from G's source, as train_ign draws it from f's. Returns (G, A, history)."""
    samples, gen, dev = prepare(samples, seed, device)
    settings = _ign_settings(samples, steps=steps, weights=weights, batch=batch, lr=lr)
    steps, weights, batch, lr = (settings[k] for k in ("steps", "weights", "batch", "lr"))
    check_settings(distance=distance, betas=betas)
    G = (G or default_models(samples, ("ign",))[0]).to(dev)
    A = (A or default_models(samples, ("ign",))[0]).to(dev)
    check_fits(samples, f=G, A=A)
    step = SplitIGNStep(G, A, samples, gen, weights, distance, batch, lr, betas)
    history = run(step, steps, step.nets, "split IGN", progress, callback, every)
    return G, A, history


def train_self_gan(samples, energy, steps, weights, seed=0, batch=128, lr=1e-3, betas=(0.5, 0.999), f=None,
                   progress=True, device=None):
    """One network f trained as a GAN with D(y) = energy(f(y), y) (losses.self_gan_loss), z ~ N(0, I).

    With the L1 distance as the energy this is IGN. Returns (f, history)."""
    check_settings(steps=steps, weights=weights, batch=batch, lr=lr, betas=betas)
    samples, gen, dev = prepare(samples, seed, device)
    f = (f or default_models(samples, ("ign",))[0]).to(dev)
    check_fits(samples, f=f)
    opt = torch.optim.Adam(f.parameters(), lr=lr, betas=betas)

    def step(i):
        x = _batch(samples, batch, gen)
        loss = losses.self_gan_loss(f, x, torch.randn_like(x), energy, weights)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return {"loss": loss.detach()}

    return f, run(step, steps, (f,), "one-network GAN", progress)


def train_ebgan(samples, steps=2000, seed=0, margin=1.0, distance="l1", batch=128, lr_g=2e-4,
                lr_d=2e-4, betas=(0.5, 0.999), G=None, A=None, progress=True, callback=None,
                every=100, device=None):
    """EBGAN: generator G against an autoencoder discriminator A scored by delta = d(A(y), y).

    Returns (G, A, history)."""
    check_settings(steps=steps, margin=margin, distance=distance, batch=batch, lr_g=lr_g, lr_d=lr_d, betas=betas)
    samples, gen, dev = prepare(samples, seed, device)
    G = (G or default_models(samples, ("generator",))[0]).to(dev)
    A = (A or default_models(samples, ("ign",))[0]).to(dev)
    check_fits(samples, G=G, A=A)
    step = EBGANStep(G, A, samples, gen, margin, distance, batch, lr_g, lr_d, betas)
    history = run(step, steps, step.nets, "EBGAN", progress, callback, every)
    return G, A, history


def train_classifier(steps=800, seed=0, batch=128, lr=3e-3, model=None, progress=True, device=None,
                     image_set="digits"):
    """Train a classifier of an image set (data.IMAGE_SETS: "digits", "mnist") on its training split only
    (random shifts of up to 1 pixel, 2 for MNIST; one-cycle lr).

    Returns (model, history); history has "loss" per step."""
    check_settings(steps=steps, seed=seed, batch=batch, lr=lr)
    dev = device or default_device()
    torch.manual_seed(seed)
    images, labels = data.image_set(image_set, split="train")
    model = (model or models.build("conv-classifier", size=images.shape[-1])).to(dev).train()
    images, labels = images.to(dev), labels.to(dev)
    shift = max(1, images.shape[-1] // 14)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr / 3)
    schedule = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=max(steps, 1))

    def step(i):
        pick = torch.randint(len(images), (batch,), generator=gen).to(dev)
        loss = F.cross_entropy(model(data.random_shift(images[pick], gen, shift)), labels[pick])
        opt.zero_grad()
        loss.backward()
        opt.step()
        schedule.step()
        return {"loss": loss.detach()}

    history = run(step, steps, (model,), f"{image_set} classifier", progress)
    return model.eval(), history
