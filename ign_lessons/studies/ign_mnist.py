"""28x28 MNIST (09_ign_mnist): the metric's classifier, a screen of IGN recipes on the validation split, the
study of the chosen recipes over seeds beside the GAN, and the shipped MNIST IGN and GAN.

    python3 course.py retrain mnist-classifier   # the metric's classifier, on the training split (about 1 min)
    python3 course.py study mnist-screen         # every CANDIDATES recipe, SCREEN_STEPS steps, scored on val
    python3 course.py study mnist                # the screen's choices and the GAN over SEEDS, scored on test

The full study's grid reads the screen's summary, so the recipes are chosen on the validation split only and
the test split scores them once. Budget, both studies together: at most 2 hours on 2 cores (`--jobs 2`).
Every network is built from the same two DCGAN halves (models.ConvEncoder, models.ConvDecoder) of NETWORK's
width: f = decoder(encoder(x)), G = decoder, D = encoder with one output; so their parameters and costs compare.
Each run records its quality every EVERY steps with the seconds it had trained by then, which gives the
comparison at equal steps and at equal time. The full study ships the best IGN recipe's seed-0 network
("mnist-ign") and the GAN's seed-0 generator ("mnist-gan") as checkpoints.
"""
import time

import torch

from .. import data, metrics, models, runtime, train
from ..losses import Coverage, IGNWeights
from . import as_json, earlier_summary, study
from .ign_digits import decode_images, encode_images  # noqa: F401  (09 decodes the kept samples)

NETWORK = {"size": 28, "width": 32, "latent": 64}
# The paper's settings as 06 uses them (studies.ign_digits.BASE), at batch 64 to halve a step's cost on a CPU.
IGN_BASE = {"weights": IGNWeights(20, 20, 2.5), "lr": 1e-4, "batch": 64, "betas": (0.5, 0.999), "clamp": 1.5,
            "distance": "l1"}
GAN = {"loss": "nonsaturating", "batch": 64, "lr_g": 2e-4, "lr_d": 2e-4, "betas": (0.5, 0.999)}
PAPER = "paper (N(0, I), lt 2.5)"
# name -> changes to IGN_BASE: "source" (data.IMAGE_SOURCES), "weights", "coverage" (losses.Coverage), "lr".
CANDIDATES = {
    PAPER: {"source": "gaussian"},
    "data source, lt 2.5": {"source": "data"},
    "data source, lt 10": {"source": "data", "weights": [20, 20, 10]},
    "data source, lt 20": {"source": "data", "weights": [20, 20, 20]},
    "frequency source, lt 10": {"source": "frequency", "weights": [20, 20, 10]},
    "coverage, N(0, I), lt 2.5": {"source": "gaussian", "coverage": [20, 4]},
    "coverage, data source, lt 10": {"source": "data", "weights": [20, 20, 10], "coverage": [20, 4]},
    "coverage, data source, lt 10, lr 2e-4": {"source": "data", "weights": [20, 20, 10], "coverage": [20, 4],
                                              "lr": 2e-4},
}
SCREEN_STEPS, STEPS, GAN_STEPS, EVERY = 1000, 3000, 10000, 500
SEEDS = (0, 1, 2)
ROLES = ("paper", "remedy", "coverage")  # the screen's choices that the full study trains over SEEDS
EVAL_SAMPLES, EVAL_SEED, KEEP_IMAGES = 1000, 1, 32
FAST = {"screen": 10, "steps": 16, "gan": 32, "every": 8, "samples": 200, "seeds": (0, 1),
        "candidates": (PAPER, "data source, lt 10", "coverage, data source, lt 10")}


def build_ign(seed, source="gaussian", images=None):
    """A fresh f of NETWORK's shape whose source is fitted to the training digits (weights from `seed`)."""
    images = data.mnist("train")[0] if images is None else images
    torch.manual_seed(seed)
    return models.build("conv-ign", **NETWORK, source=data.image_source(source, images))


def build_gan(seed):
    """A fresh generator (the decoder half) and discriminator (the encoder half, one output), from `seed`."""
    torch.manual_seed(seed)
    return (models.build("conv-generator", **NETWORK),
            models.build("conv-discriminator", **{k: v for k, v in NETWORK.items() if k != "latent"}))


def ign_options(changes):
    """(source, train_ign keywords) of a CANDIDATES entry."""
    changes = dict(changes)
    source = changes.pop("source", "gaussian")
    options = {**IGN_BASE, **changes}
    options["weights"] = IGNWeights(*options["weights"])
    if "coverage" in options:
        options["coverage"] = Coverage(*options["coverage"])
    return source, options


def quality_row(images, split):
    """metrics.digits_quality of MNIST images against `split`, as JSON numbers."""
    q = metrics.digits_quality(images.clamp(-1, 1), split=split)
    return {"fd": round(q.fd, 2), "floor": round(q.floor, 2), "classes": q.covered(), "shares": list(q.shares),
            "confidence": round(q.confidence, 4)}


@torch.no_grad()
def evaluate(model, n, splits=("val", "test")):
    """Quality of n samples (seed EVAL_SEED) against each split; for an IGN network also of f(f(z)) and its
    idempotence error d(f(f(z)), f(z))."""
    with models.evaluating(model, "cpu"):
        once = models.sample(model, n, seed=EVAL_SEED)
        row = {split: quality_row(once, split) for split in splits}
        if model.role == "ign":
            twice = model(once)
            row["ff"] = {split: quality_row(twice, split) for split in splits}
            row["idem_error"] = round(float((twice - once).abs().flatten(1).mean(1).mean()), 4)
    return row


def train_run(config, seed):
    """One run of a study: an IGN recipe or the GAN, trained on the training digits (on the study's device),
    measured every config["every"] steps (against the splits in config["splits"]) with the seconds of training
    so far."""
    images, device = data.mnist("train")[0], runtime.device()
    steps, every, n = config["steps"], config["every"], config["samples"]
    curve, spent = [], {"eval": 0.0}
    start = time.perf_counter()

    def measure(model, done):
        began = time.perf_counter()
        row = evaluate(model, n, config["splits"])
        model.train()
        curve.append({"step": done, "train_seconds": round(began - start - spent["eval"], 2), **row})
        spent["eval"] += time.perf_counter() - began

    def callback(i, history):
        if (i + 1) % every == 0 or i + 1 == steps:
            measure(net, i + 1)
            if i + 1 == config.get("keep_at"):
                kept.append(encode_images(models.sample(net, KEEP_IMAGES, seed=EVAL_SEED)))

    kept = []
    if config["model"] == "gan":
        G, D = build_gan(seed)
        net = G  # what the callback measures
        model, _, history = train.train_gan(images, steps=steps, seed=seed, G=G, D=D, progress=False,
                                            callback=callback, every=1, device=device, **GAN)
    else:
        source, options = ign_options(config["changes"])
        f = build_ign(seed, source, images)
        net = f
        model, history = train.train_ign(images, steps=steps, seed=seed, f=f, progress=False, callback=callback,
                                         every=1, device=device, **options)
    model = model.cpu().eval()
    end = curve[-1]
    out = {"metrics": {"steps": history.steps, "stopped": history.stopped, "train_seconds": end["train_seconds"],
                       **{f"{split}_fd": end[split]["fd"] for split in config["splits"]},
                       **{f"{split}_classes": end[split]["classes"] for split in config["splits"]}},
           "curve": curve, "images": encode_images(models.sample(model, KEEP_IMAGES, seed=EVAL_SEED)),
           "parameters": models.count_parameters(model)}
    if kept:
        out["images_at_keep"] = kept[0]
    if config.get("ship"):
        out["checkpoint"] = {"model": model, "name": config["ship"], "steps": history.steps,
                             "config": {"study": "mnist", "run": {**config, "seed": seed}, "network": NETWORK,
                                        "train": IGN_BASE if config["model"] == "ign" else GAN,
                                        "data": "mnist split=train"},
                             "metrics": {"test": end["test"], "train_seconds": end["train_seconds"]}}
    return out


# --- the screen: every candidate, one seed, short, scored on the validation split ---------------------------

def screen_grid(fast, root=None):
    names = FAST["candidates"] if fast else list(CANDIDATES)
    steps = FAST["screen"] if fast else SCREEN_STEPS
    n = FAST["samples"] if fast else EVAL_SAMPLES
    return [{"key": f"{i:02d}", "seed": 0, "config": {"model": "ign", "recipe": name, "changes": CANDIDATES[name],
                                                      "steps": steps, "every": steps, "samples": n, "splits": ["val"]}}
            for i, name in enumerate(names)]


def choose(rows):
    """The screen's choice, from the validation FD of each candidate (lower is better): the paper's recipe
    (always: it is the question), the best recipe without the coverage term, the best with it, and the best
    of all (shipped)."""
    scored = [row for row in rows if not row["stopped"]] or rows
    best = lambda group: min(group, key=lambda row: row["val_fd"])["recipe"] if group else None
    plain = [row for row in scored if "coverage" not in CANDIDATES[row["recipe"]] and row["recipe"] != PAPER]
    covered = [row for row in scored if "coverage" in CANDIDATES[row["recipe"]]]
    return {"paper": PAPER, "remedy": best(plain), "coverage": best(covered), "shipped": best(scored)}


def summarize_screen(records, fast):
    rows = [{"recipe": r["config"]["recipe"], "val_fd": r["metrics"]["val_fd"], "floor": r["curve"][-1]["val"]["floor"],
             "val_classes": r["metrics"]["val_classes"], "stopped": r["metrics"]["stopped"],
             "train_seconds": r["metrics"]["train_seconds"], "images": r["images"][:16]} for r in records]
    return {"rows": rows, "choice": choose(rows), "steps": records[0]["config"]["steps"],
            "rule": choose.__doc__.split("\n\n")[0].replace("\n   ", "")}


study("mnist-screen", doc="IGN recipes on MNIST, one seed, judged on the validation split (09)",
      grid=screen_grid, summarize=summarize_screen, after=("mnist-classifier",),
      budget="about 20 minutes on 2 cores")(train_run)


# --- the study: the chosen recipes and the GAN over seeds, scored on test -----------------------------------

def chosen(fast, root=None):
    """The screen's choice (its summary must exist, in the results folder `root`: run `study mnist-screen` first)."""
    return earlier_summary("mnist-screen", fast, root, "the MNIST study runs the recipes its screen chose on the "
                                                       "validation split")["choice"]


def study_grid(fast, root=None):
    choice = chosen(fast, root)
    steps, gan_steps, every = (FAST["steps"], FAST["gan"], FAST["every"]) if fast else (STEPS, GAN_STEPS, EVERY)
    n, seeds = (FAST["samples"], FAST["seeds"]) if fast else (EVAL_SAMPLES, SEEDS)
    roles = {}
    for role in ROLES:
        roles.setdefault(choice[role], role)
    runs = []
    for name, role in roles.items():
        for seed in seeds:
            ship = "mnist-ign" if name == choice["shipped"] and seed == seeds[0] else None
            runs.append({"key": f"{role}-seed{seed}", "seed": seed,
                         "config": {"model": "ign", "recipe": name, "role": role, "changes": CANDIDATES[name],
                                    "steps": steps, "every": every, "samples": n,
                                    "splits": ["val", "test"], "ship": ship}})
    for seed in seeds:
        runs.append({"key": f"gan-seed{seed}", "seed": seed,
                     "config": {"model": "gan", "recipe": "GAN", "role": "gan", "changes": as_json(GAN),
                                "steps": gan_steps, "every": every, "samples": n, "splits": ["val", "test"],
                                "keep_at": steps, "ship": "mnist-gan" if seed == seeds[0] else None}})
    return runs


def at_equal_budget(curve, step=None, seconds=None):
    """The last point of `curve` (by step) with at most `step` steps, or trained for at most `seconds`; the
    first point when none fits."""
    fits = [p for p in curve if (p["step"] <= step if step is not None else p["train_seconds"] <= seconds)]
    return max(fits, key=lambda p: p["step"]) if fits else min(curve, key=lambda p: p["step"])


def summarize_study(records, fast):
    gans = {r["seed"]: r for r in records if r["config"]["model"] == "gan"}
    rows = []
    for r in records:
        end = r["curve"][-1]
        row = {"role": r["config"]["role"], "recipe": r["config"]["recipe"], "seed": r["seed"],
               "steps": r["metrics"]["steps"], "stopped": r["metrics"]["stopped"],
               "train_seconds": r["metrics"]["train_seconds"], "parameters": r["parameters"],
               "test": {k: end["test"][k] for k in ("fd", "floor", "classes", "confidence")},
               "shares": end["test"]["shares"],
               "curve": [[p["step"], p["train_seconds"], p["val"]["fd"], p["test"]["fd"], p["test"]["classes"]]
                         for p in r["curve"]]}
        if r["config"]["model"] == "ign":
            row["ff"] = {k: end["ff"]["test"][k] for k in ("fd", "classes")}
            row["idem_error"] = end["idem_error"]
            gan_curve = gans[r["seed"]]["curve"]
            same_steps = at_equal_budget(gan_curve, step=r["metrics"]["steps"])
            same_time = at_equal_budget(gan_curve, seconds=end["train_seconds"])
            row["gan_equal_steps"] = {"step": same_steps["step"], "fd": same_steps["test"]["fd"],
                                      "classes": same_steps["test"]["classes"]}
            row["gan_equal_time"] = {"step": same_time["step"], "train_seconds": same_time["train_seconds"],
                                     "fd": same_time["test"]["fd"], "classes": same_time["test"]["classes"]}
        if r["seed"] == min(gans):
            row["images"] = r["images"]
            if "images_at_keep" in r:
                row["images_at_equal_steps"] = r["images_at_keep"]
        rows.append(row)
    choice = {r["config"]["role"]: r["config"]["recipe"] for r in records if r["config"]["model"] == "ign"}
    choice["shipped"] = next(r["config"]["recipe"] for r in records if r["config"].get("ship") == "mnist-ign")
    return {"rows": rows, "choice": choice, "seeds": sorted(gans), "network": NETWORK,
            "ign_base": as_json(IGN_BASE), "gan": as_json(GAN),
            "eval": {"images": records[0]["config"]["samples"], "sampling_seed": EVAL_SEED, "split": "test"}}


study("mnist", doc="the screen's choices and the GAN on MNIST over seeds, scored on test (09)",
      grid=study_grid, summarize=summarize_study, after=("mnist-screen",),
      budget="about 90 minutes on 2 cores")(train_run)


# --- the metric's classifier ---------------------------------------------------------------------------------

CLASSIFIER_STEPS, CLASSIFIER_TRAIN = 1500, {"batch": 64, "lr": 3e-3}


def classifier_run(config, seed):
    """The MNIST metric's classifier, trained on the training split only; its accuracy on train, val and test."""
    train_options = {k: config[k] for k in CLASSIFIER_TRAIN}
    model, history = train.train_classifier(steps=config["steps"], seed=seed, image_set="mnist", progress=False,
                                            **train_options)
    model = model.cpu()
    scores = {f"{split}_accuracy": round(metrics.accuracy(model, split), 4) for split in ("train", "val", "test")}
    scores["seconds"] = round(history.seconds, 1)
    return {"metrics": scores, "checkpoint": {
        "model": model, "name": metrics.CLASSIFIERS["mnist"], "steps": config["steps"], "metrics": scores,
        "config": {"trainer": "train.train_classifier", "data": "mnist split=train", **train_options,
                   "augment": "random shifts of up to 2 pixels"}}}


study("mnist-classifier", doc="the MNIST metric's classifier, checkpoint \"mnist-classifier\" (09)",
      summarize=None, budget="about 1 minute on 1 core",
      grid=lambda fast, root=None: [{"key": "classifier", "seed": 0,
                                     "config": {"steps": 20 if fast else CLASSIFIER_STEPS, **CLASSIFIER_TRAIN}}])(
    classifier_run)


# --- the cost side: time, arithmetic and memory of a step -------------------------------------------------------

COST_BATCHES = (64, 256)


def steps_for_cost(batch, device="cpu"):
    """{name: (step, networks)}: the training steps the study runs (GAN, IGN, IGN with the coverage term), at
    `batch`, on the training digits."""
    x = data.mnist("train")[0].to(device)
    gen = torch.Generator().manual_seed(0)
    G, D = (net.to(device) for net in build_gan(0))
    f = build_ign(0, "data", x.cpu()).to(device)
    f_cov = build_ign(0, "data", x.cpu()).to(device)
    _, options = ign_options(CANDIDATES["coverage, data source, lt 10"])
    weights, coverage = options["weights"], options["coverage"]
    return {"GAN": (train.GANStep(G, D, x, gen, batch=batch, **{k: v for k, v in GAN.items() if k != "batch"}),
                    (G, D)),
            "IGN": (train.IGNStep(f, x, gen, weights, clamp=IGN_BASE["clamp"], batch=batch, lr=IGN_BASE["lr"]), (f,)),
            "IGN + coverage": (train.IGNStep(f_cov, x, gen, weights, clamp=IGN_BASE["clamp"], batch=batch,
                                             lr=IGN_BASE["lr"], coverage=coverage), (f_cov,))}


def cost_run(config, seed):
    """Time per step of each model at each batch size, its rate as a share of this machine's matrix-multiply
    peak, and its memory; on one thread of the CPU, the way the CPU studies run (whatever --device says)."""
    from .benchmark import _rate_rows, flops, matmul_peak
    from .compare_digits import held_memory, step_memory
    peak = matmul_peak(rounds=config["rounds"])
    rows = {}
    for batch in config["batches"]:
        made = steps_for_cost(batch)
        rates = _rate_rows({name: (step, flops(step)) for name, (step, _) in made.items()}, peak, config["rounds"],
                           config["repeats"])
        for name, (step, nets) in made.items():
            rows[f"{name}, batch {batch}"] = {**rates[name], "batch": batch,
                                              "step_peak_mb": round(step_memory(step) / 2 ** 20, 1),
                                              "held_mb": round(held_memory(step) / 2 ** 20, 2),
                                              "parameters": sum(models.count_parameters(n) for n in nets)}
    return {"metrics": {"rows": rows, "matmul_peak_gflops": round(peak / 1e9, 1)}}


study("mnist-cost", doc="time, arithmetic rate and memory of a training step on MNIST (09)",
      summarize=lambda records, fast: records[0]["metrics"],
      settings=lambda fast: {"network": NETWORK, "threads": 1, "device": "cpu",
                             "batches": [8] if fast else list(COST_BATCHES)},
      grid=lambda fast, root=None: [{"key": "cost", "seed": 0, "config": {
          "batches": [8] if fast else list(COST_BATCHES), "rounds": 1 if fast else 5, "repeats": 1 if fast else 10}}],
      budget="about 2 minutes on 1 core")(cost_run)
