"""IGN on the 8x8 digits (06_ign_digits): the shipped network and the study of remedies for its collapse.

    python3 course.py retrain ign-digits ign-digits-remedies

Studies:
- "ign-digits": the shipped checkpoint, SHIPPED's recipe trained for SHIP_STEPS steps on the
  training split (seed 0), with its quality measured along the way;
- "ign-digits-remedies": every CONDITIONS entry over SEEDS for STUDY_STEPS steps, scored on the test split
  with metrics.digits_quality (results "ign-digits-remedies"). Budget: at most 45 minutes on 2 cores (about
  20 on the machine that made it).

Every run trains on data.digits(split="train") only; the metric compares with the test split.
"d" in the comments is the per-sample L1 distance, mean over pixels.
"""

import torch

from .. import checkpoints, data, metrics, models, train
from ..losses import Coverage, IGNWeights
from . import as_json, study

# The probes' starting point (the paper's CelebA settings as reimplementations give them, batch 128).
BASE = {"weights": IGNWeights(20, 20, 2.5), "lr": 1e-4, "batch": 128, "betas": (0.5, 0.999), "clamp": 1.5,
        "distance": "l1"}
NETWORK = {"width": 32, "latent": 32}
STUDY_STEPS = 3000
SEEDS = (0, 1, 2)
EVAL_SAMPLES, EVAL_SEED = 1000, 1
KEEP_IMAGES = 32  # samples of each condition's first seed kept in the results, for the notebook's figures

# name -> changes to BASE: "source" (data.IMAGE_SOURCES), "weights", "coverage" (losses.Coverage),
# "real_noise" (sigma of losses.denoising_loss), "latent" (the network's bottleneck).
CONDITIONS = {
    "paper (N(0, I), lt 2.5)": {"source": "gaussian"},
    "data source, lt 2.5": {"source": "data"},
    "data source, lt 5": {"source": "data", "weights": IGNWeights(20, 20, 5)},
    "data source, lt 10": {"source": "data", "weights": IGNWeights(20, 20, 10)},
    "data source, lt 20": {"source": "data", "weights": IGNWeights(20, 20, 20)},
    "N(0, I), lt 10": {"source": "gaussian", "weights": IGNWeights(20, 20, 10)},
    "frequency source, lt 10": {"source": "frequency", "weights": IGNWeights(20, 20, 10)},
    "coverage, N(0, I), lt 2.5": {"source": "gaussian", "coverage": Coverage(20, 4)},
    "coverage, data source, lt 10": {"source": "data", "weights": IGNWeights(20, 20, 10),
                                     "coverage": Coverage(20, 4)},
    "latent 64, data source, lt 10": {"source": "data", "weights": IGNWeights(20, 20, 10), "latent": 64},
    "noisy reals, data source, lt 10": {"source": "data", "weights": IGNWeights(20, 20, 10), "real_noise": 0.3},
}
PAPER, TIGHT = "paper (N(0, I), lt 2.5)", "data source, lt 10"

# The shipped recipe (chosen from the study: see 06_ign_digits, section 3).
SHIPPED = {"source": "data", "weights": IGNWeights(20, 20, 10), "coverage": Coverage(20, 4)}
SHIP_STEPS = 12000
SHIP_EVERY = 1000


def settings(**changes):
    """BASE with `changes` applied, split into (network options, train_ign keywords)."""
    changes = dict(changes)
    net = {**NETWORK, "source": changes.pop("source", "gaussian")}
    if "latent" in changes:
        net["latent"] = changes.pop("latent")
    return net, {**BASE, **changes}


def build(seed=0, source="gaussian", width=32, latent=32, images=None):
    """A fresh conv-ign network whose source is fitted to the training digits (weights from `seed`)."""
    images = data.digits(split="train")[0] if images is None else images
    torch.manual_seed(seed)
    return models.build("conv-ign", width=width, latent=latent, source=data.image_source(source, images))


def run(seed=0, steps=STUDY_STEPS, progress=False, callback=None, every=100, **changes):
    """train_ign on the training digits with BASE + `changes`; returns (f, history)."""
    images = data.digits(split="train")[0]
    net, options = settings(**changes)
    f = build(seed, images=images, **net)
    return train.train_ign(images, steps=steps, seed=seed, f=f, progress=progress, callback=callback,
                           every=every, **options)


def quality_row(images):
    """The numbers of metrics.digits_quality for a results file."""
    q = metrics.digits_quality(images)
    return {"fd": round(q.fd, 2), "floor": round(q.floor, 2), "classes": q.covered(),
            "shares": list(q.shares), "confidence": round(q.confidence, 4)}


@torch.no_grad()
def score(f, n=EVAL_SAMPLES, seed=EVAL_SEED):
    """digits_quality of f(z) and of f(f(z)) on n samples from f's source, and the idempotence errors."""
    f = f.cpu().eval()
    z = data.source_noise(f.source, f.data_shape, n, seed)
    once = f(z)
    twice = f(once)
    test = data.digits(split="test")[0]
    return {**quality_row(once.clamp(-1, 1)), "ff": quality_row(twice.clamp(-1, 1)),
            "idem_error": round(float((twice - once).abs().flatten(1).mean(1).mean()), 4),
            "rec_error_test": round(float((f(test) - test).abs().flatten(1).mean(1).mean()), 4)}


def encode_images(images):
    """Square images (n, 1, side, side) in [-1, 1] as lists of side^2 whole numbers 0..99 (compact JSON)."""
    return ((images.clamp(-1, 1) + 1) * 49.5).round().int().flatten(1).tolist()


def decode_images(rows):
    """The (n, 1, side, side) images stored by encode_images (to within 0.01)."""
    side = round(len(rows[0]) ** 0.5) if len(rows) else 8
    return torch.tensor(rows, dtype=torch.float32).reshape(-1, 1, side, side) / 49.5 - 1


def remedies_grid(fast, root=None):
    """Every CONDITIONS entry over SEEDS (fast: two conditions, one seed, 20 steps), and the GAN of 02 scored alike."""
    conditions, seeds, steps = ((PAPER, TIGHT), SEEDS[:1], 20) if fast else (CONDITIONS, SEEDS, STUDY_STEPS)
    runs = [{"key": f"c{i:02d}-seed{seed}", "seed": seed, "config": {"condition": name, "steps": steps,
                                                                     "keep": seed == SEEDS[0]}}
            for i, name in enumerate(conditions) for seed in seeds]
    return runs + [{"key": "gan-of-02", "seed": 0, "config": {"condition": "shipped gan-digits"}}]


def remedies_run(config, seed):
    """One condition and seed, trained and scored (the row of the summary); or the shipped GAN, scored alike."""
    if config["condition"] == "shipped gan-digits":
        G = checkpoints.load("gan-digits", map_location="cpu")
        return {"metrics": quality_row(models.sample(G, EVAL_SAMPLES, seed=EVAL_SEED))}
    f, history = run(seed, config["steps"], **CONDITIONS[config["condition"]])
    row = {"condition": config["condition"], "seed": seed, **score(f), "steps": history.steps,
           "train_seconds": round(history.seconds, 1), "stopped": history.stopped}
    if config["keep"]:
        row["images"] = encode_images(models.sample(f, KEEP_IMAGES, seed=EVAL_SEED))
    return {"metrics": row}


def remedies_summary(records, fast):
    """The rows 06 reads (one per condition and seed, with "seconds": the run's clock), the GAN's row, and the
    study's run time summed over its runs."""
    rows = [{**r["metrics"], "seconds": r["timings"]["wall_seconds"]} for r in records
            if r["config"]["condition"] in CONDITIONS]
    gan = next(r["metrics"] for r in records if r["config"]["condition"] not in CONDITIONS)
    return {"rows": rows, "gan": gan, "wall_seconds": round(sum(r["timings"]["wall_seconds"] for r in records), 1)}


def remedies_settings(fast):
    """What 06 quotes of the study: the base recipe, the network, the conditions, seeds, steps and metric."""
    return {"base": as_json(BASE), "network": NETWORK, "steps": 20 if fast else STUDY_STEPS,
            "seeds": list(SEEDS[:1] if fast else SEEDS), "conditions": as_json(CONDITIONS),
            "eval": {"images": EVAL_SAMPLES, "seed": EVAL_SEED, "split": "test"}, "data": "digits split=train"}


study("ign-digits-remedies", doc="IGN on the digits: remedies for its collapse over seeds (06)",
      grid=remedies_grid, summarize=remedies_summary, settings=remedies_settings,
      after=("gan-digits",), budget="about 45 minutes on 2 cores (--jobs 2); --fast: seconds")(remedies_run)


def ship_grid(fast, root=None):
    steps, every = (20, 10) if fast else (SHIP_STEPS, SHIP_EVERY)
    return [{"key": "ign-digits", "seed": 0, "config": {"recipe": as_json(SHIPPED), "steps": steps, "every": every}}]


def ship_run(config, seed):
    """SHIPPED trained for SHIP_STEPS steps, with f's quality every SHIP_EVERY steps; shipped as "ign-digits"."""
    steps, every = config["steps"], config["every"]
    changes = {**config["recipe"], "weights": IGNWeights(*config["recipe"]["weights"]),
               "coverage": Coverage(*config["recipe"]["coverage"])}
    curve = []

    def measure(i, history):
        """train_ign calls this after step i + 1."""
        if (i + 1) % every == 0 or i + 1 == steps:
            row = score(f)
            f.train()
            curve.append([i + 1, row["fd"], row["classes"], row["ff"]["fd"]])

    images = data.digits(split="train")[0]
    net, options = settings(**changes)
    f = build(seed, images=images, **net)
    f, history = train.train_ign(images, steps=steps, seed=seed, f=f, progress=False, callback=measure, every=1,
                                 **options)
    f = f.cpu().eval()
    row = score(f)
    gan = quality_row(models.sample(checkpoints.load("gan-digits", map_location="cpu"), EVAL_SAMPLES, seed=EVAL_SEED))
    row.update({"fd_by_step": curve, "gan_fd": gan["fd"], "fd_over_gan": round(row["fd"] / gan["fd"], 3),
                "seconds": round(history.seconds, 1), "stopped": history.stopped,
                "eval": {"images": EVAL_SAMPLES, "sampling_seed": EVAL_SEED, "split": "test"}})
    config = {"recipe": config["recipe"], **as_json(options), "network": NETWORK, "data": "digits split=train",
              "trainer": "train.train_ign", "module": "ign_lessons.studies.ign_digits (SHIPPED, SHIP_STEPS)"}
    return {"metrics": row, "checkpoint": {"model": f, "name": "ign-digits", "config": config, "steps": history.steps,
                                           "metrics": row}}


study("ign-digits", doc='the shipped digits IGN, checkpoint "ign-digits" (06)',
      grid=ship_grid, summarize=None, after=("gan-digits",),
      budget="about 10 minutes on 1 core")(ship_run)
