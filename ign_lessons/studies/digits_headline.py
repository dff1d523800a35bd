"""06_ign_digits' headline: an IGN recipe chosen on a validation split, then against the GAN of 02 at equal
budgets over seeds, scored once on the test digits with a distance that can tell them apart.

    python3 course.py study digits-select     # CANDIDATES trained on split "fit", judged on "val"
    python3 course.py study digits-headline   # the chosen recipe, the shipped one and the GAN over SEEDS, on "test"

The headline's grid reads the selection's summary, so the recipe is chosen without the test digits; it also
trains the recipe of the shipped ign-digits (SHIPPED_RECIPE) when the selection chose another. Each run
measures its samples at fixed step counts (POINTS) with metrics.distance_to_held_out: DRAWS draws of
SAMPLES samples, each against every held-out digit, the FD with its floor and KID with its standard error;
the seconds it had trained by then are recorded too. Budgets, compared in the summary:
- *equal real samples*: an IGN step sees a batch of 128 training digits, a GAN step 64;
- *equal time*: a GAN step costs MS_PER_STEP["gan"], an IGN step that of its recipe, measured once on a quiet
  machine, interleaved (studies.compare_digits.measure_speed); the clock of the runs themselves is also kept.
Budget: digits-select about 15 minutes, digits-headline about 30 minutes on 2 cores (`--jobs 2`).
"""
import time

import torch

from .. import data, metrics, models, train
from ..losses import Coverage, IGNWeights
from . import as_json, earlier_summary, study
from .compare_digits import MS_PER_STEP
from .digits import GAN, build_gan
from .ign_digits import BASE, CONDITIONS, SHIPPED, build, encode_images

CANDIDATES = ("paper (N(0, I), lt 2.5)", "data source, lt 10", "data source, lt 20", "frequency source, lt 10",
              "coverage, N(0, I), lt 2.5", "coverage, data source, lt 10")
SELECT_STEPS, SELECT_SEEDS = 3000, (0, 1, 2)
SEEDS = (0, 1, 2)
SHIPPED_RECIPE = next(name for name, changes in CONDITIONS.items() if changes == SHIPPED)  # the ign-digits recipe
IGN_POINTS = (750, 1500, 3000, 6000, 12000)
SAMPLES, DRAWS, KEEP = 1000, (1, 2, 3, 4), 32
IGN_BATCH, GAN_BATCH = BASE["batch"], GAN["train"]["batch"]
FAST = {"select_steps": 6, "seeds": (0,), "points": (4, 8), "samples": 200, "draws": (1, 2),
        "candidates": ("paper (N(0, I), lt 2.5)", "coverage, data source, lt 10")}


def step_cost(recipe):
    """Milliseconds of one IGN step of `recipe` (the coverage term's lookup costs extra), from MS_PER_STEP."""
    return MS_PER_STEP["ign-coverage" if "coverage" in CONDITIONS[recipe] else "ign-tight"]


def matching_gan_steps(recipe, ign_steps):
    """{"equal samples": GAN steps that see as many real digits as `ign_steps` IGN steps, "equal time": GAN
    steps that take as long (to a multiple of 10 from 100 steps on)}."""
    time_steps = ign_steps * step_cost(recipe) / MS_PER_STEP["gan"]
    return {"equal samples": ign_steps * IGN_BATCH // GAN_BATCH,
            "equal time": int(round(time_steps / 10)) * 10 if ign_steps >= 100 else max(1, round(time_steps))}


def gan_points(recipe, ign_points):
    """The GAN step counts that match each IGN point in real samples and in time."""
    return sorted({n for p in ign_points for n in matching_gan_steps(recipe, p).values()})


@torch.no_grad()
def measure(model, split, n, draws):
    """Every draw of n samples against the held-out `split`: FD, floor, KID (x1000), classes holding 3%."""
    model = model.eval()
    rows = []
    for seed in draws:
        x = models.sample(model, n, seed=seed).clamp(-1, 1)
        q = metrics.distance_to_held_out(x, split)
        shares = torch.bincount(metrics.classifier()(x).argmax(1), minlength=10).float() / n
        rows.append({"fd": round(q.fd, 3), "floor": round(q.floor, 3), "kid": round(1e3 * q.kid, 2),
                     "kid_se": round(1e3 * q.kid_se, 2), "classes": int((shares >= 0.03).sum())})
    model.train()
    return rows


def run(config, seed):
    """One run: the IGN recipe or the GAN trained on config["data"], measured at config["points"] against
    config["split"], with the seconds trained by each point (evaluation not counted)."""
    c = config
    images = data.digits(split=c["data"])[0]
    curve, spent, kept = [], {"eval": 0.0}, {}

    def callback(i, history):
        if i + 1 in c["points"]:
            began = time.perf_counter()
            curve.append({"step": i + 1, "train_seconds": round(began - spent["start"] - spent["eval"], 2),
                          "draws": measure(net, c["split"], c["samples"], c["draws"])})
            if c.get("keep"):
                kept[i + 1] = encode_images(models.sample(net.eval(), KEEP, seed=c["draws"][0]))
                net.train()
            spent["eval"] += time.perf_counter() - began

    steps = max(c["points"])
    if c["model"] == "gan":
        torch.manual_seed(seed)
        net, D = build_gan()
        spent["start"] = time.perf_counter()
        _, _, history = train.train_gan(images, steps=steps, seed=seed, G=net, D=D, progress=False,
                                        callback=callback, every=1, **GAN["train"])
    else:
        changes = dict(CONDITIONS[c["recipe"]])
        net = build(seed, changes.pop("source"), images=images)
        options = {**BASE, **changes}
        options["coverage"] = Coverage(*options["coverage"]) if "coverage" in options else None
        options["weights"] = IGNWeights(*options["weights"])
        spent["start"] = time.perf_counter()
        _, history = train.train_ign(images, steps=steps, seed=seed, f=net, progress=False,
                                     callback=callback, every=1, **options)
    return {"metrics": {"steps": history.steps, "stopped": history.stopped,
                        "parameters": models.count_parameters(net)},
            "curve": curve, "images": kept}


def _mean(values):
    return sum(values) / len(values)


def point_summary(point):
    """A curve point's draws as means: FD, floor, excess, KID and the spread of the excess over the draws."""
    draws = point["draws"]
    excess = [d["fd"] - d["floor"] for d in draws]
    return {"step": point["step"], "train_seconds": point["train_seconds"],
            "fd": round(_mean([d["fd"] for d in draws]), 3), "floor": round(_mean([d["floor"] for d in draws]), 3),
            "excess": round(_mean(excess), 3), "excess_range": [round(min(excess), 3), round(max(excess), 3)],
            "kid": round(_mean([d["kid"] for d in draws]), 2), "kid_se": round(_mean([d["kid_se"] for d in draws]), 2),
            "classes": min(d["classes"] for d in draws)}


# --- the selection: candidates on "fit", judged on "val" ----------------------------------------------------

def select_grid(fast, root=None):
    names = FAST["candidates"] if fast else CANDIDATES
    steps = FAST["select_steps"] if fast else SELECT_STEPS
    seeds, n, draws = (FAST["seeds"], FAST["samples"], FAST["draws"]) if fast else (SELECT_SEEDS, SAMPLES, DRAWS)
    return [{"key": f"c{i}-seed{seed}", "seed": seed, "config": {"model": "ign", "recipe": name, "data": "fit",
                                                               "split": "val", "points": [steps], "samples": n,
                                                   "draws": list(draws)}}
            for i, name in enumerate(names) for seed in seeds]


def choose(rows):
    """The candidate with the lowest mean excess FD on val among those that draw at least 9 classes on every
    seed (all candidates when none does)."""
    names = list(dict.fromkeys(r["recipe"] for r in rows))
    fine = [n for n in names if all(r["classes"] >= 9 for r in rows if r["recipe"] == n)] or names
    return min(fine, key=lambda n: _mean([r["excess"] for r in rows if r["recipe"] == n]))


def summarize_select(records, fast):
    rows = [{"recipe": r["config"]["recipe"], "seed": r["seed"], "stopped": r["metrics"]["stopped"],
             **point_summary(r["curve"][-1])} for r in records]
    return {"rows": rows, "choice": choose(rows), "rule": choose.__doc__.replace("\n   ", ""),
            "data": "fit", "split": "val", "candidates": {n: as_json(CONDITIONS[n]) for n in CANDIDATES}}


study("digits-select", doc="IGN recipes trained on \"fit\" and judged on \"val\": the headline's choice (06)",
      after=("digit-classifier",), grid=select_grid, summarize=summarize_select,
      budget="about 15 minutes on 2 cores (--jobs 2); --fast: seconds")(run)


# --- the headline: the chosen recipe and the GAN, on "train", judged on "test" ------------------------------

def chosen(fast, root=None):
    """The recipe digits-select chose (its summary must exist, in the results folder `root`)."""
    return earlier_summary("digits-select", fast, root, "the headline trains the recipe chosen on the validation "
                                                        "split")["choice"]


def headline_grid(fast, root=None):
    recipe = chosen(fast, root)
    points = FAST["points"] if fast else IGN_POINTS
    seeds, n, draws = (FAST["seeds"], FAST["samples"], FAST["draws"]) if fast else (SEEDS, SAMPLES, DRAWS)
    common = {"data": "train", "split": "test", "samples": n, "draws": list(draws)}
    roles = {"ign": recipe, **({"shipped": SHIPPED_RECIPE} if recipe != SHIPPED_RECIPE else {})}
    runs = []
    for seed in seeds:
        for role, name in roles.items():
            config = {"model": "ign", "role": role, "recipe": name, "points": list(points),
                      "keep": seed == seeds[0], **common}
            runs.append({"key": f"{role}-seed{seed}", "seed": seed, "config": config})
        runs.append({"key": f"gan-seed{seed}", "seed": seed, "config": {
            "model": "gan", "role": "gan", "recipe": "GAN of 02", "keep": seed == seeds[0],
            "points": sorted({p for name in roles.values() for p in gan_points(name, points)}), **common}})
    return runs


def at_step(curve, step):
    """The point of `curve` taken at `step` steps."""
    return next(p for p in curve if p["step"] == step)


def summarize_headline(records, fast):
    runs = {(r["config"]["role"], r["seed"]): r for r in records}
    recipes = {r["config"]["role"]: r["config"]["recipe"] for r in records if r["config"]["model"] == "ign"}
    seeds = sorted({r["seed"] for r in records})
    curves = {f"{role}-seed{s}": [point_summary(p) for p in runs[role, s]["curve"]] for role, s in runs}
    table = []
    for role, recipe in recipes.items():
        for p in runs[role, seeds[0]]["config"]["points"]:
            for budget, gan_step in matching_gan_steps(recipe, p).items():
                for seed in seeds:
                    ign, gan = at_step(curves[f"{role}-seed{seed}"], p), at_step(curves[f"gan-seed{seed}"], gan_step)
                    table.append({"role": role, "recipe": recipe, "ign_steps": p, "budget": budget,
                                  "gan_steps": gan_step, "seed": seed, "ign": ign, "gan": gan,
                                  "excess_ratio": round(ign["excess"] / gan["excess"], 3),
                                  "fd_ratio": round(ign["fd"] / gan["fd"], 3),
                                  "clock_ratio": round(gan["train_seconds"] / max(ign["train_seconds"], 1e-9), 3)})
    return {"recipes": recipes, "changes": {role: as_json(CONDITIONS[name]) for role, name in recipes.items()},
            "seeds": seeds, "curves": curves, "table": table,
            "images": {role: runs[role, seeds[0]]["images"] for role in (*recipes, "gan")},
            "ms_per_step": {"gan": MS_PER_STEP["gan"], **{role: step_cost(name) for role, name in recipes.items()}},
            "batches": {"ign": IGN_BATCH, "gan": GAN_BATCH},
            "parameters": {role: runs[role, seeds[0]]["metrics"]["parameters"] for role in (*recipes, "gan")},
            "eval": {"samples": records[0]["config"]["samples"], "draws": records[0]["config"]["draws"],
                     "split": "test", "metric": "metrics.distance_to_held_out"}}


study("digits-headline", doc="the chosen IGN recipe, the shipped one and the GAN of 02 on test, at equal budgets (06)",
      after=("digits-select",), grid=headline_grid, summarize=summarize_headline,
      budget="about 30 minutes on 2 cores (--jobs 2); --fast: seconds")(run)
