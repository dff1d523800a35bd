"""compare-2d: the GAN, IGN, split IGN and EBGAN on 2D data at equal budgets, over seeds (the study command).

`python3 course.py study compare-2d` (full: about 35 minutes on 2 cores, `--jobs 2`) or `... --fast`
(a few seconds: the same code on a tiny grid, what the tests run). One run = one model, one data set,
one setting, one seed, one step count; its numbers are judged with `metrics.score_any_2d`.

**Models, each at its own tuned defaults** (every setting is written here, so that a change of the
trainers' defaults changes nothing in the study):
- `gan`: the non-saturating cross-entropy GAN, MLP generator (latent 2) and discriminator of width 64,
  Adam lr 1e-3 for both, R1 penalty 0.1 on real samples. Tuned in 01_gan_2d on the ring: its study
  "gan-2d-updates" (3 seeds) compared slower discriminators and R1 on or off; these are its "healthy"
  settings (studies.gan_2d.SETTINGS).
- `ign`: IGN with the course's 2D defaults (train.IGN_DEFAULTS["points"]): one MLP of width 128, source
  matched to the data's mean and standard deviation, weights (20, 20, 1), L1, Adam lr 1e-3, no clamp.
  Tuned in 04_ign_2d on the ring: the study "ign-2d-study" (4 seeds, six conditions: source, tightness,
  clamp).
- `split-ign`: IGN's three losses on a generator G and an autoencoder discriminator A (05_ign_is_a_gan),
  with IGN's settings above; not tuned on its own: it is the control that differs from `ign` only in
  the sharing of the network.
- `ebgan`: EBGAN (Zhao et al., arXiv:1609.03126) with the settings of 03_one_loss_gan: MLP generator of
  width 128 (latent 2), autoencoder of width 128, squared L2 energy, margin 0.5, Adam lr 1e-4 (G) and
  4e-4 (A). Chosen by hand on the ring (seed 0) in 03; the least tuned of the four.

**Sweep.** Every model also runs with its most sensitive setting multiplied by each of SWEEP (the same
factors for all): the GAN's learning rate (both networks), IGN's and split IGN's tightness weight
(0.4, 1, 2.5: 2.5 is the paper's), EBGAN's margin.

**Budgets.** *Equal steps*: every model takes STEPS updates (one update = one step of each of its
optimisers). *Equal time*: every model at its defaults gets the step count that takes as long as IGN's
STEPS steps, `time_steps(model)`, computed from MS_PER_STEP: seconds per step measured once (one
thread, models interleaved, `measure_speed`) and written below, so that the runs stay reproducible
(a step count is exact, a time is not). The step count of every run is in its config.

**Data.** The ring (8 modes) and the grid (25 modes), on which the defaults were tuned (the grid was
not, but it is a mixture like the ring), and the two moons, on which no model was tuned. The moons
have no modes: `metrics.shape_coverage` cuts them into 8 regions that play the modes, and a sample is
near when within 3 noise standard deviations of the noise-free moons, so the one success rule
(`metrics.is_success`: every mode or region holds >= 1% of the samples, >= 80% near) reads the same
on every set. Is that fair? It is the same rule for every model, and real data pass it on every set;
it asks less on the moons (a curve is a larger target than 8 points) and more on the grid (25 modes).
Compare models on one data set, not one data set with another.
"""
import statistics

import torch

from .. import data, metrics, models, presets, results, train
from ..losses import IGNWeights
from . import study

_IGN = {"hidden": presets.IGN_2D["hidden"], "weights": tuple(presets.IGN_2D["weights"]),
        **{k: presets.IGN_2D[k] for k in ("lr", "batch", "betas", "distance", "source")}}
MODELS = {  # the tuned settings of presets (GAN_2D, IGN_2D, EBGAN_2D), in this study's names
    "gan": {**{k: presets.GAN_2D[k] for k in ("hidden", "latent")}, "lr": presets.GAN_2D["lr_g"],
            **{k: presets.GAN_2D[k] for k in ("r1", "batch", "betas")}},
    "ign": dict(_IGN),
    "split-ign": dict(_IGN),
    "ebgan": dict(presets.EBGAN_2D),
}
SENSITIVE = {"gan": "learning rate", "ign": "tightness weight", "split-ign": "tightness weight",
             "ebgan": "margin"}
SWEEP = (0.4, 1.0, 2.5)

STEPS, FAST_STEPS = 2000, 100
DATASETS, FAST_DATASETS = ("ring", "grid", "moons"), ("ring", "moons")
SEEDS, FAST_SEEDS = (0, 1, 2, 3, 4), (0,)
N_DATA, N_EVAL, EVAL_SEED, KEEP = 4096, 2000, 12345, 200

# Milliseconds per training step at the defaults, one torch thread, measured once with measure_speed()
# (median of interleaved rounds on the ring). These fix the equal-time step counts; do not re-measure
# them casually: new values change every equal-time run.
MS_PER_STEP = {"gan": 3.748, "ign": 3.466, "split-ign": 3.703, "ebgan": 3.631}
MEASURED_ON = "2026-12-02, measure_speed(steps=300, rounds=9), torch 2.13 on 2 cores of an AMD EPYC, one thread"


def with_factor(model, factor):
    """The settings of a model with its most sensitive setting multiplied by `factor`."""
    s = dict(MODELS[model])
    if model == "gan":
        s["lr"] = s["lr"] * factor
    elif model == "ebgan":
        s["margin"] = s["margin"] * factor
    else:
        wr, wi, wt = s["weights"]
        s["weights"] = (wr, wi, wt * factor)
    return s


def time_steps(model, steps=STEPS):
    """Steps of `model` that take as long as `steps` steps of IGN (MS_PER_STEP), a multiple of 10."""
    return max(10, int(round(steps * MS_PER_STEP["ign"] / MS_PER_STEP[model] / 10)) * 10)


def grid(fast=False, root=None):
    """The runs: every model x data set x seed, at SWEEP on equal steps, and at its defaults on equal time."""
    steps, datasets, seeds = (FAST_STEPS, FAST_DATASETS, FAST_SEEDS) if fast else (STEPS, DATASETS, SEEDS)
    runs = {}
    for name in datasets:
        for model in MODELS:
            for seed in seeds:
                plan = [(factor, steps, "equal-steps") for factor in SWEEP]
                plan.append((1.0, time_steps(model, steps), "equal-time"))
                for factor, n_steps, budget in plan:
                    setting = "default" if factor == 1.0 else f"x{factor:g}"
                    key = f"{name}-{model}-{setting}-{n_steps}steps-s{seed}"
                    if key in runs:  # IGN, the time reference, runs once for both budgets
                        runs[key]["config"]["budgets"].append(budget)
                        continue
                    runs[key] = {"key": key, "seed": seed, "config": {
                        "data": name, "model": model, "setting": setting, "factor": factor, "steps": n_steps,
                        "budgets": [budget], "settings": with_factor(model, factor),
                        "n_data": N_DATA, "n_eval": N_EVAL, "eval_seed": EVAL_SEED, "keep": KEEP}}
    return list(runs.values())


def build(model, settings, samples, seed):
    """The fresh networks of a model, initialised from `seed`: {"G": ..., "D": ...} or {"f": ...} or {"G", "A"}."""
    s = settings
    torch.manual_seed(seed)
    if model == "gan":
        return {"G": models.build("mlp-generator", latent=s["latent"], hidden=s["hidden"]),
                "D": models.build("mlp-discriminator", hidden=s["hidden"])}
    if model == "ebgan":
        return {"G": models.build("mlp-generator", latent=s["latent"], hidden=s["hidden"]),
                "A": models.build("mlp-ign", hidden=s["hidden"])}
    source = data.gaussian_source(samples) if s["source"] == "matched" else None
    f = models.build("mlp-ign", hidden=s["hidden"], source=source)
    return {"f": f} if model == "ign" else {"G": f, "A": models.build("mlp-ign", hidden=s["hidden"])}


def train_model(model, settings, samples, seed, steps):
    """Train one model; returns (the network that generates, all networks, history)."""
    s, nets = settings, build(model, settings, samples, seed)
    common = dict(steps=steps, seed=seed, batch=s["batch"], betas=tuple(s["betas"]), progress=False)
    if model == "gan":
        G, D, history = train.train_gan(samples, loss="nonsaturating", lr_g=s["lr"], lr_d=s["lr"], d_steps=1,
                                        r1=s["r1"], G=nets["G"], D=nets["D"], **common)
        return G, nets, history
    if model == "ebgan":
        G, A, history = train.train_ebgan(samples, margin=s["margin"], distance=s["distance"], lr_g=s["lr_g"],
                                          lr_d=s["lr_d"], G=nets["G"], A=nets["A"], **common)
        return G, nets, history
    weights = IGNWeights(*s["weights"])
    if model == "ign":
        f, history = train.train_ign(samples, weights=weights, distance=s["distance"], clamp=None, lr=s["lr"],
                                     f=nets["f"], **common)
        return f, nets, history
    G, A, history = train.train_split_ign(samples, weights=weights, distance=s["distance"], lr=s["lr"],
                                          G=nets["G"], A=nets["A"], **common)
    return G, nets, history


@torch.no_grad()
def evaluate(generator, name, n=N_EVAL, seed=EVAL_SEED):
    """metrics.score_any_2d of n samples of a generator (non-finite samples count as far from the data)."""
    fake = models.sample(generator, n, seed=seed)
    finite = bool(torch.isfinite(fake).all())
    return metrics.score_any_2d(torch.nan_to_num(fake, 1e6, 1e6, -1e6), name), fake, finite


def run(config, seed):
    """One run of the study: train, sample N_EVAL points, score them. Numbers only (the engine writes)."""
    c = config
    samples = data.toy2d(c["data"], c["n_data"], seed=seed)
    generator, _, history = train_model(c["model"], c["settings"], samples, seed, c["steps"])
    score, fake, finite = evaluate(generator, c["data"], c["n_eval"], c["eval_seed"])
    stopped = history.stopped or (None if finite else "non-finite samples")
    return {"metrics": {**score, "steps_done": history.steps, "stopped": stopped},
            "timings": {"train_seconds": round(history.seconds, 3),
                        "seconds_per_step": history.seconds / max(history.steps, 1)},
            "samples": results.encode_points(fake[:c["keep"]])}


def parameters(model):
    """Trainable parameters of a model at its defaults (all its networks)."""
    nets = build(model, MODELS[model], data.toy2d("ring", 64), 0)
    return sum(models.count_parameters(net) for net in nets.values())


def summarize(records, fast=False):
    """The summary the notebooks read: one row per run, and a table per (budget, data, model, setting)."""
    rows = []
    for r in records:
        c, m = r["config"], r["metrics"]
        rows.append({"key": r["key"], "data": c["data"], "model": c["model"], "setting": c["setting"],
                     "factor": c["factor"], "steps": c["steps"], "budgets": c["budgets"], "seed": c["seed"],
                     **{k: m[k] for k in ("modes", "of", "near", "min_share", "success", "stopped")},
                     "seconds_per_step": r["timings"]["seconds_per_step"]})
    table = []
    for budget in ("equal-steps", "equal-time"):
        groups = {}
        for row in rows:
            if budget in row["budgets"]:
                groups.setdefault((row["data"], row["model"], row["setting"]), []).append(row)
        for (name, model, setting), group in groups.items():
            table.append({"budget": budget, "data": name, "model": model, "setting": setting,
                          "factor": group[0]["factor"], "steps": group[0]["steps"], "runs": len(group),
                          "successes": sum(r["success"] for r in group),
                          "success_rate": sum(r["success"] for r in group) / len(group),
                          "modes_mean": statistics.mean(r["modes"] for r in group), "of": group[0]["of"],
                          "near_mean": statistics.mean(r["near"] for r in group),
                          "min_share_mean": statistics.mean(r["min_share"] for r in group),
                          "stopped": sum(bool(r["stopped"]) for r in group),
                          "ms_per_step_median": 1e3 * statistics.median(r["seconds_per_step"] for r in group)})
    steps = FAST_STEPS if fast else STEPS
    return {"rows": rows, "table": table, "samples": {r["key"]: r["samples"] for r in records},
            "budget": {"equal_steps": steps, "equal_time_steps": {m: time_steps(m, steps) for m in MODELS},
                       "ms_per_step": MS_PER_STEP, "measured_on": MEASURED_ON},
            "models": {m: {"defaults": MODELS[m], "sensitive": SENSITIVE[m], "parameters": parameters(m)}
                       for m in MODELS},
            "sweep": list(SWEEP),
            "success": "every mode (region, on the moons) holds >= 1% of the samples and >= 80% of the samples "
                       "lie near the data (metrics.is_success)"}


def format_table(table, budget="equal-steps", setting="default"):
    """One budget's table at one setting, as text: success k/n, mean modes, mean near share, steps, ms/step."""
    rows = [t for t in table if t["budget"] == budget and t["setting"] == setting]
    names = list(dict.fromkeys(t["data"] for t in rows))
    lines = [f"{budget}, setting {setting}: successes / runs, mean modes covered, mean near share, steps"]
    lines.append(f"{'model':<10}" + "".join(f"{n:>26}" for n in names))
    for model in MODELS:
        cells = []
        for name in names:
            t = next((t for t in rows if (t["data"], t["model"]) == (name, model)), None)
            cells.append("-" if t is None else f"{t['successes']}/{t['runs']} {t['modes_mean']:4.1f}/{t['of']:<2} "
                         f"{t['near_mean']:4.0%} {t['steps']:>5}")
        lines.append(f"{model:<10}" + "".join(f"{c:>26}" for c in cells))
    return "\n".join(lines)


def measure_speed(steps=200, rounds=5, name="ring"):
    """Median milliseconds per training step of each model at its defaults, one thread, the models
    interleaved round by round so that the machine's load affects them alike (for MS_PER_STEP)."""
    samples = data.toy2d(name, N_DATA, seed=0)
    times = {m: [] for m in MODELS}
    for r in range(rounds):
        for model in MODELS:
            _, _, history = train_model(model, MODELS[model], samples, r, steps)
            times[model].append(1e3 * history.seconds / history.steps)
    return {m: round(statistics.median(t), 3) for m, t in times.items()}


study("compare-2d", doc="the GAN, IGN, split IGN and EBGAN on the 2D sets at equal steps and equal time (07)",
      grid=grid, summarize=summarize,
      budget="about 35 minutes on 2 cores (--jobs 2); --fast: about 15 s")(run)
