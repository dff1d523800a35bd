"""The 2D GAN of 01_gan_2d: a healthy setting, a collapsing one, and a study of the updates ("gan-2d-updates").

The game is the cross-entropy GAN of Goodfellow et al. 2014 (arXiv:1406.2661) with the
non-saturating generator loss, on the ring of 8 Gaussians. `run` trains one configuration and
follows its generator with a metrics.ModeTrace; the study "gan-2d-updates" runs every
VARIANTS entry over SEEDS and ships the numbers the notebook's update study reads.
"""
import statistics

from .. import data, metrics, models, presets, train
from ..checks import CourseError
from . import as_json, study

# Every setting is passed explicitly to train.train_gan, so that changing its defaults changes nothing here.
# The tuned ("healthy") values live in presets.GAN_2D, shared with the lab.
SETTINGS = {"steps": 2500, **{k: presets.GAN_2D[k] for k in ("lr_g", "lr_d", "d_steps", "r1", "batch", "betas",
                                                              "hidden", "latent")},
            "n_data": 4000, "every": 100, "n_eval": 2000, "eval_seed": 12345}
TRAIN_KEYS = ("steps", "lr_g", "lr_d", "d_steps", "r1", "batch", "betas", "every")

# name -> changes to SETTINGS. The generator's learning rate stays 1e-3 throughout.
VARIANTS = {
    "healthy": {},
    "D 3x slower": {"lr_d": 3e-4},
    "D 10x slower": {"lr_d": 1e-4},
    "D 10x slower, 5 D steps": {"lr_d": 1e-4, "d_steps": 5},
    "healthy without R1": {"r1": 0.0},
}
SEEDS = (0, 1, 2)


def settings_with(**changes):
    """SETTINGS with some values changed; unknown names are refused."""
    unknown = set(changes) - set(SETTINGS)
    if unknown:
        raise CourseError(f"unknown setting(s) {', '.join(sorted(unknown))}; known: {', '.join(SETTINGS)}.")
    return {**SETTINGS, **changes}


def build(seed=0, hidden=SETTINGS["hidden"], latent=SETTINGS["latent"]):
    """A fresh generator and discriminator (MLPs with 3 hidden layers), initialised from `seed`."""
    return presets.build_gan_2d(seed, hidden, latent)


def run(seed=0, samples=None, progress=False, callback=None, **changes):
    """Train one configuration (SETTINGS with `changes`) from `seed` on `samples` (default: the ring).

    `callback(step, history)` is called along with the ModeTrace. Returns (G, D, history, trace)."""
    settings = settings_with(**changes)
    if samples is None:
        samples = data.toy2d("ring", settings["n_data"], seed=seed)
    G, D = build(seed, settings["hidden"], settings["latent"])
    trace = metrics.ModeTrace(G, "ring", seed=seed)

    def watch(step, history):
        trace(step, history)
        if callback is not None:
            callback(step, history)

    G, D, history = train.train_gan(samples, seed=seed, G=G, D=D, loss="nonsaturating", progress=progress,
                                    callback=watch, **{k: settings[k] for k in TRAIN_KEYS})
    return G, D, history, trace


def summary(G, trace, settings=SETTINGS):
    """Numbers that judge a run: covered modes, near share (on fresh samples) and oscillation."""
    fake = models.sample(G, settings["n_eval"], seed=settings["eval_seed"])
    cover = metrics.mode_coverage(fake, "ring")
    return {"modes": cover["modes"], "near": round(cover["near"], 4),
            "oscillation": round(trace.oscillation(), 4)}


def updates_grid(fast, root=None):
    """Every VARIANTS entry over SEEDS (fast: two variants, one seed, 60 steps)."""
    variants, seeds = (("healthy", "D 10x slower"), SEEDS[:1]) if fast else (VARIANTS, SEEDS)
    return [{"key": f"v{i}-s{seed}", "seed": seed,
             "config": {"variant": name, "changes": {**VARIANTS[name], **({"steps": 60, "every": 20} if fast else {})}}}
            for i, name in enumerate(variants) for seed in seeds]


def updates_run(config, seed):
    """One variant from `seed`: modes covered, near share, oscillation and seconds."""
    changes = {k: (tuple(v) if k == "betas" else v) for k, v in config["changes"].items()}
    G, D, history, trace = run(seed, **changes)
    return {"metrics": {"seed": seed, **summary(G, trace, settings_with(**changes)),
                        "seconds": round(history.seconds, 1)}}


def updates_summary(records, fast):
    """Per variant: its changes, its runs, and their means (the table 01 reads)."""
    table = {}
    for name in dict.fromkeys(r["config"]["variant"] for r in records):
        rows = [r["metrics"] for r in records if r["config"]["variant"] == name]
        table[name] = {"changes": VARIANTS[name], "runs": rows,
                       "mean_modes": statistics.mean(r["modes"] for r in rows),
                       "mean_near": round(statistics.mean(r["near"] for r in rows), 4),
                       "mean_oscillation": round(statistics.mean(r["oscillation"] for r in rows), 4)}
    return table


study("gan-2d-updates", doc="the 2D GAN with slower discriminators and without R1, over seeds (01)",
      grid=updates_grid, summarize=updates_summary,
      settings=lambda fast: {"settings": as_json(SETTINGS), "seeds": list(SEEDS[:1] if fast else SEEDS)},
      budget="about 10 minutes on 2 cores (--jobs 2); --fast: seconds")(updates_run)
