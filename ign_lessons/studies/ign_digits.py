"""IGN on the 8x8 digits (06_ign_digits): the shipped network and the study of remedies for its collapse.

    python -m ign_lessons retrain ign-digits ign-digits-remedies

Recipes:
- "ign-digits": the shipped checkpoint, SHIPPED's recipe trained for SHIP_STEPS steps on the
  training split (seed 0), with its quality measured along the way;
- "ign-digits-remedies": every CONDITIONS entry over SEEDS for STUDY_STEPS steps, two one-thread
  processes at a time, scored on the test split with metrics.digits_quality (results
  "ign-digits-remedies"). Budget: at most 45 minutes on 2 cores (about 20 on the machine that made it).

Every run trains on data.digits(split="train") only; the metric compares with the test split.
"d" in the comments is the per-sample L1 distance, mean over pixels.
"""
import time

import torch

from .. import checkpoints, data, metrics, models, results, train
from ..losses import Coverage, IGNWeights
from . import map_runs, recipe

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


def _condition(condition, seed, steps=STUDY_STEPS):
    start = time.perf_counter()
    f, history = run(seed, steps, **CONDITIONS[condition])
    row = {"condition": condition, "seed": seed, **score(f), "steps": history.steps,
           "seconds": round(time.perf_counter() - start, 1), "train_seconds": round(history.seconds, 1),
           "stopped": history.stopped}
    if seed == SEEDS[0]:
        row["images"] = encode_images(models.sample(f, KEEP_IMAGES, seed=EVAL_SEED))
    return row


def _jsonable(value):
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def gan_reference():
    """The shipped GAN of 02_gan_digits, scored like the IGN runs (1,000 samples, seed EVAL_SEED)."""
    G = checkpoints.load("gan-digits", map_location="cpu")
    return quality_row(models.sample(G, EVAL_SAMPLES, seed=EVAL_SEED))


@recipe("ign-digits-remedies")
def make_study(target=None, workers=2, steps=STUDY_STEPS, seeds=SEEDS, conditions=None):
    """Every CONDITIONS entry over SEEDS, two one-thread processes at a time."""
    start = time.perf_counter()
    jobs = [(condition, seed, steps) for condition in (conditions or CONDITIONS) for seed in seeds]
    rows = map_runs(_condition, jobs, workers)
    for row in rows:
        print({k: v for k, v in row.items() if k not in ("images", "shares", "ff")}, flush=True)
    config = {"base": _jsonable(BASE), "network": NETWORK, "steps": steps, "seeds": list(seeds),
              "conditions": _jsonable(CONDITIONS), "eval": {"images": EVAL_SAMPLES, "seed": EVAL_SEED,
                                                           "split": "test"},
              "data": "digits split=train", "workers": workers}
    payload = {"rows": rows, "gan": gan_reference(), "wall_seconds": round(time.perf_counter() - start, 1)}
    return results.save(target or results.path("ign-digits-remedies"), payload, config)


@recipe("ign-digits")
def make_checkpoint(folder=None, steps=SHIP_STEPS, every=SHIP_EVERY, seed=0, recipe_changes=None):
    """SHIPPED trained for SHIP_STEPS steps (seed 0, one thread), with f's quality every SHIP_EVERY steps."""
    changes = SHIPPED if recipe_changes is None else recipe_changes
    curve = []

    def measure(i, history):
        """train_ign calls this after step i + 1."""
        if (i + 1) % every == 0 or i + 1 == steps:
            row = score(f_holder[0])
            f_holder[0].train()
            curve.append([i + 1, row["fd"], row["classes"], row["ff"]["fd"]])
            print(f"step {i + 1}: FD {row['fd']} classes {row['classes']} | f(f(z)) FD {row['ff']['fd']}", flush=True)

    images = data.digits(split="train")[0]
    net, options = settings(**changes)
    f_holder = [build(seed, images=images, **net)]
    from .. import runtime
    with runtime.threads(1):
        f, history = train.train_ign(images, steps=steps, seed=seed, f=f_holder[0], progress=False,
                                     callback=measure, every=1, **options)
    f = f.cpu().eval()
    row = score(f)
    gan = gan_reference()
    row.update({"fd_by_step": curve, "gan_fd": gan["fd"], "fd_over_gan": round(row["fd"] / gan["fd"], 3),
                "seconds": round(history.seconds, 1), "stopped": history.stopped,
                "eval": {"images": EVAL_SAMPLES, "sampling_seed": EVAL_SEED, "split": "test"}})
    print("ign-digits:", {k: v for k, v in row.items() if k not in ("shares", "ff")}, flush=True)
    config = {"recipe": _jsonable(changes), **_jsonable(options), "network": _jsonable(NETWORK),
              "data": "digits split=train", "trainer": "train.train_ign",
              "module": "ign_lessons.studies.ign_digits (SHIPPED, SHIP_STEPS)"}
    config.pop("weights", None)
    config["weights"] = list(options["weights"])
    return checkpoints.save(f, (folder or checkpoints.folder()) / "ign-digits.safetensors", config=config, seed=seed,
                            steps=history.steps, metrics=row)
