"""compare-digits: the GAN, IGN (three recipes), split IGN and EBGAN on the 8x8 digits, over seeds.

`python3 course.py study compare-digits` (full: see BUDGET) or `... --fast` (seconds; what the tests
run). The digits arm of 07_head_to_head, beside `compare-2d`. Every model trains on the training split;
its samples are judged on the test split by `metrics.digits_quality`, and a run *succeeds* by
`metrics.is_digits_success`: at least 9 of the 10 classes hold 3% of the samples and the Frechet
distance is at most 2x the real-data floor (the rule is defined once, beside the 2D rule).

**Models, each at its own tuned defaults** (written here, so that the trainers' defaults can change):
- `gan`: the DCGAN of 02_gan_digits (studies.digits.GAN): non-saturating loss, batch 64, Adam 2e-4.
  Tuned by hand in 02; the shipped `gan-digits` is this recipe trained for 6,000 steps.
- `ign-paper`: the paper's recipe as 06 runs it (studies.ign_digits, "paper"): N(0, I) source, weights
  (20, 20, 2.5), L1, clamp 1.5, Adam 1e-4. Not tuned: it is the recipe under test.
- `ign-tight`: the same with the data-matched source and lambda_t = 10, the cheap lever of 06's
  remedies study (3 seeds x 11 conditions).
- `ign-coverage`: the recipe of the shipped `ign-digits` (ign-tight plus the coverage term, an
  addition to IGN; 06 explains it); chosen in 06's remedies study.
- `split-ign`: ign-tight's losses on a generator G and an autoencoder A, both the conv-ign network
  (05's control, on images): it differs from `ign-tight` in the sharing of the network, and has no
  clamp (the split trainer has none; the clamp never acts on ign-tight's runs once they train).
- `ebgan`: EBGAN (Zhao et al., arXiv:1609.03126): 02's DCGAN generator against a conv-ign autoencoder,
  L1 energy, margin 1.0, Adam 2e-4, batch 64. The margin was chosen on seed 0 after 1,500 steps
  (probe_ebgan_margins; FD over the floor, classes): 0.1: 2.87x, 9; 0.3: 1.90x, 10; 1.0: 1.62x, 10;
  3.0: 1.57x, 10, but an L1 energy of images in [-1, 1] never exceeds 2, so a margin of 3 is a hinge
  that never closes (D's loss is unbounded below). The least tuned of the six.

- `ign-tight-20`: the same with lambda_t = 20, the best recipe without the coverage term in 06's remedies
  study (ten classes on every seed there).

Two more runs answer questions of IGN_NOTES section 4 that no model above asks:
- `ign-tight-no-rec`: ign-tight with lambda_rec = 0 (is the reconstruction of real data, f(x) ~ x,
  what makes IGN train at all?);
- `ign-tight-8d`: ign-tight from an 8-dimensional source (data.image_source("subspace")), as a
  GAN's latent space is low-dimensional (can IGN map a low-dimensional source onto the data?).

**Sweep.** As on 2D, the GAN, ign-tight, split IGN and EBGAN also run with their most sensitive setting
(SWEPT: the learning rates, lambda_t, the margin) times each of SWEEP, over SWEEP_SEEDS, at equal steps.
**Long runs.** ign-tight and split IGN also train LONG_STEPS steps over SWEEP_SEEDS, to see where each settles.

**Budgets.** *Equal steps*: every run takes STEPS updates. *Equal time*: the GAN, ign-coverage,
split IGN and EBGAN also run for the step count that takes as long as STEPS steps of ign-tight
(`time_steps`), from seconds per step measured once (MS_PER_STEP, `measure_speed`) and written below.

Each run records its final quality (and, for the IGN-like models, f(f(z)) and how idempotent f is),
the Frechet distance every TRACE_EVERY steps, its losses in blocks of BLOCK steps, seconds per
step and the memory a training step allocates (`step_memory`, the torch profiler).
"""
import statistics

import torch

from .. import data, metrics, models, train
from ..losses import Coverage, IGNWeights
from . import ign_digits, study
from .digits import GAN

DIGITS_NET = {"width": 32, "latent": 32}
IGN_BASE = {**ign_digits.BASE, "weights": (20, 20, 2.5)}
TIGHT = {"source": "data", "weights": (20, 20, 10)}
MODELS = {
    "gan": {"kind": "gan", **GAN["train"], "generator": GAN["generator"], "discriminator": GAN["discriminator"]},
    "ign-paper": {"kind": "ign", **IGN_BASE, "source": "gaussian"},
    "ign-tight": {"kind": "ign", **IGN_BASE, **TIGHT},
    "ign-coverage": {"kind": "ign", **IGN_BASE, **TIGHT, "coverage": (20, 4)},
    "split-ign": {"kind": "split-ign", **{k: v for k, v in IGN_BASE.items() if k != "clamp"}, **TIGHT},
    "ebgan": {"kind": "ebgan", "generator": GAN["generator"], "margin": 1.0, "distance": "l1", "lr_g": 2e-4,
              "lr_d": 2e-4, "batch": 64, "betas": (0.5, 0.999)},
    "ign-tight-20": {"kind": "ign", **IGN_BASE, **TIGHT, "weights": (20, 20, 20)},
    "ign-tight-no-rec": {"kind": "ign", **IGN_BASE, **TIGHT, "weights": (0, 20, 10)},
    "ign-tight-8d": {"kind": "ign", **IGN_BASE, **TIGHT, "source": "subspace", "dims": 8},
}
MAIN = ("gan", "ign-paper", "ign-tight", "ign-tight-20", "ign-coverage", "split-ign", "ebgan")
EQUAL_TIME = ("gan", "ign-coverage", "split-ign", "ebgan")  # ign-paper costs what ign-tight costs
TIME_REFERENCE = "ign-tight"

STEPS, FAST_STEPS = 3000, 20
SEEDS, FAST_SEEDS = (0, 1, 2, 3, 4), (0,)
SWEEP, SWEEP_SEEDS, FAST_SWEEP_SEEDS = (0.4, 2.5), (0, 1, 2), (0,)
SWEPT = {"gan": "learning rates", "ign-tight": "lambda_t", "split-ign": "lambda_t", "ebgan": "margin"}
LONG, LONG_STEPS, FAST_LONG_STEPS = ("ign-tight", "split-ign"), 8000, 40
TRACE_EVERY, FAST_TRACE_EVERY, BLOCK = 500, 10, 50
EVAL_SAMPLES, EVAL_SEED, KEEP = 1000, 1, 16

# Milliseconds per training step at the defaults, one torch thread (measure_speed: median of
# interleaved rounds). They fix the equal-time step counts; new values change every equal-time run.
MS_PER_STEP = {"gan": 10.988, "ign-paper": 12.263, "ign-tight": 13.414, "ign-coverage": 23.834, "split-ign": 13.918,
               "ebgan": 10.891, "ign-tight-no-rec": 12.745, "ign-tight-8d": 12.684}
MEASURED_ON = "2026-12-03, measure_speed(steps=100, rounds=5), torch 2.13 on 2 cores of an AMD EPYC, one thread"


def time_steps(model, steps=STEPS):
    """Steps of `model` that take as long as `steps` steps of ign-tight (MS_PER_STEP), a multiple of 10."""
    return max(10, int(round(steps * MS_PER_STEP[TIME_REFERENCE] / MS_PER_STEP[model] / 10)) * 10)


def grid(fast=False, root=None):
    """Every model at equal steps, and the EQUAL_TIME models at equal time, over the seeds."""
    steps, seeds = (FAST_STEPS, FAST_SEEDS) if fast else (STEPS, SEEDS)
    runs = {}
    for model in MODELS:
        plan = [(steps, "equal-steps")] + ([(time_steps(model, steps), "equal-time")] if model in EQUAL_TIME else [])
        for n_steps, budget in plan:
            for seed in seeds:
                key = f"{model}-{n_steps}steps-s{seed}"
                if key in runs:  # both budgets give the same step count (in fast mode)
                    runs[key]["config"]["budgets"].append(budget)
                    continue
                runs[key] = {"key": key, "seed": seed, "config": {
                    "model": model, "steps": n_steps, "budgets": [budget], "settings": MODELS[model],
                    "trace_every": FAST_TRACE_EVERY if fast else TRACE_EVERY, "eval_samples": EVAL_SAMPLES,
                    "eval_seed": EVAL_SEED, "keep": KEEP}}
    extra = {"trace_every": FAST_TRACE_EVERY if fast else TRACE_EVERY, "eval_samples": EVAL_SAMPLES,
             "eval_seed": EVAL_SEED, "keep": KEEP}
    for seed in FAST_SWEEP_SEEDS if fast else SWEEP_SEEDS:
        for model in SWEPT:
            for factor in SWEEP:
                key = f"{model}-x{factor:g}-{steps}steps-s{seed}"
                runs[key] = {"key": key, "seed": seed, "config": {
                    "model": model, "steps": steps, "budgets": ["sweep"], "setting": f"x{factor:g}",
                    "settings": with_factor(model, factor), **extra}}
        for model in LONG:
            n_steps = FAST_LONG_STEPS if fast else LONG_STEPS
            key = f"{model}-{n_steps}steps-s{seed}"
            runs[key] = {"key": key, "seed": seed, "config": {"model": model, "steps": n_steps, "budgets": ["long"],
                                                            "settings": MODELS[model], **extra}}
    return list(runs.values())


def with_factor(model, factor):
    """The settings of `model` with its SWEPT setting multiplied by `factor`."""
    s = dict(MODELS[model])
    if model == "gan":
        s["lr_g"], s["lr_d"] = s["lr_g"] * factor, s["lr_d"] * factor
    elif model == "ebgan":
        s["margin"] = s["margin"] * factor
    else:
        wr, wi, wt = s["weights"]
        s["weights"] = (wr, wi, wt * factor)
    return s


def _source(settings, images):
    return data.image_source(settings["source"], images, dims=settings.get("dims", 8))


def make_step(settings, images, seed):
    """The fresh networks of a model (initialised from `seed`) and its training step (train's step objects).

    Returns (the network that generates, the step, the torch.Generator of its batches); as the
    trainers do, torch is seeded with `seed` before the networks are built."""
    s = settings
    samples, gen, dev = train.prepare(images, seed)
    conv_ign = dict(width=DIGITS_NET["width"], latent=DIGITS_NET["latent"])
    if s["kind"] in ("gan", "ebgan"):
        G = models.build("conv-generator", **s["generator"]).to(dev)
        D = (models.build("conv-discriminator", **s["discriminator"]) if s["kind"] == "gan"
             else models.build("conv-ign", **conv_ign)).to(dev)
        if s["kind"] == "gan":
            return G, train.GANStep(G, D, samples, gen, s["loss"], s["batch"], s["lr_g"], s["lr_d"], tuple(s["betas"]))
        return G, train.EBGANStep(G, D, samples, gen, s["margin"], s["distance"], s["batch"], s["lr_g"], s["lr_d"],
                                  tuple(s["betas"]))
    f = models.build("conv-ign", **conv_ign, source=_source(s, images)).to(dev)
    if s["kind"] == "split-ign":
        A = models.build("conv-ign", **conv_ign).to(dev)
        return f, train.SplitIGNStep(f, A, samples, gen, s["weights"], s["distance"], s["batch"], s["lr"],
                                     tuple(s["betas"]))
    coverage = Coverage(*s["coverage"]) if "coverage" in s else None
    return f, train.IGNStep(f, samples, gen, IGNWeights(*s["weights"]), s["distance"], s.get("clamp"), "paired",
                            s["batch"], s["lr"], tuple(s["betas"]), coverage=coverage)


@torch.no_grad()
def score(generator, step, n=EVAL_SAMPLES, seed=EVAL_SEED):
    """digits_quality of n samples, and for IGN-like models how far the judging network is from
    idempotent: d(F(y), y) on the samples y and on the test digits, F = f (IGN) or the autoencoder A."""
    fake = models.sample(generator, n, seed=seed).clamp(-1, 1)
    row = ign_digits.quality_row(fake)
    row["success"] = metrics.is_digits_success(row["fd"], row["floor"], row["classes"])
    judge = getattr(step, "f", None) or getattr(step, "A", None)
    if judge is not None and judge.role == "ign":
        test = data.digits(split="test")[0].to(fake.device)
        with models.evaluating(judge):
            once = judge(fake)
            row["idem_error"] = round(float((once - fake).abs().flatten(1).mean(1).mean()), 4)
            row["rec_error_test"] = round(float((judge(test) - test).abs().flatten(1).mean(1).mean()), 4)
            if judge is generator:
                row["ff"] = ign_digits.quality_row(once.clamp(-1, 1))
    return row, fake


def step_memory(step):
    """Bytes a training step holds at its peak beyond what is held between steps (activations, their
    gradients), measured with the torch profiler after one warm-up step (the optimiser's state exists):
    each operation's own allocations minus frees, added up in the order the operations started."""
    step()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], profile_memory=True) as prof:
        step()
    level = peak = 0
    for event in sorted(prof.events(), key=lambda e: e.time_range.start):
        level += event.self_cpu_memory_usage
        peak = max(peak, level)
    return peak


def held_memory(step):
    """Bytes held between steps: the weights, their gradients and the optimisers' state."""
    tensors = [p for net in step.nets for p in net.parameters()]
    tensors += [p.grad for p in tensors if p.grad is not None]
    tensors += [v for opt in step.optimizers for state in opt.state.values() for v in state.values()
                if isinstance(v, torch.Tensor)]
    return sum(t.numel() * t.element_size() for t in tensors)


def _blocks(history, size=BLOCK):
    """Each loss curve of a history as means over blocks of `size` steps (rounded, for the JSON)."""
    return {name: [round(statistics.fmean(values[i:i + size]), 5) for i in range(0, len(values), size)]
            for name, values in history.items()}


def run(config, seed):
    """One run: train, with the FD every trace_every steps; score; the memory of one more step."""
    c = config
    images = data.digits(split="train")[0]
    generator, step = make_step(c["settings"], images, seed)
    trace = []

    def measure(i, history):
        if (i + 1) % c["trace_every"] == 0 or i + 1 == c["steps"]:
            q = metrics.digits_quality(models.sample(generator, c["eval_samples"], seed=c["eval_seed"]).clamp(-1, 1))
            trace.append([i + 1, round(q.fd, 2), q.covered()])

    history = train.run(step, c["steps"], step.nets, c["model"], progress=False, callback=measure, every=1)
    row, fake = score(generator, step, c["eval_samples"], c["eval_seed"])
    memory = {"step_peak_bytes": step_memory(step), "held_bytes": held_memory(step)}
    return {"metrics": {**row, "steps_done": history.steps, "stopped": history.stopped, "fd_trace": trace,
                        "losses": _blocks(history),
                        "parameters": sum(models.count_parameters(net) for net in step.nets)},
            "timings": {"train_seconds": round(history.seconds, 3),
                        "seconds_per_step": history.seconds / max(history.steps, 1), **memory},
            "samples": ign_digits.encode_images(fake[:c["keep"]])}


def summarize(records, fast=False):
    """The summary 07 reads: one row per run (with its traces) and a table per (budget, model)."""
    rows = []
    for r in records:
        c, m, t = r["config"], r["metrics"], r["timings"]
        rows.append({"key": r["key"], "model": c["model"], "steps": c["steps"], "budgets": c["budgets"],
                     "setting": c.get("setting", "default"),
                     "seed": c["seed"], **{k: m[k] for k in m if k != "shares"}, "shares": m["shares"],
                     "seconds_per_step": t["seconds_per_step"], "step_peak_bytes": t["step_peak_bytes"],
                     "held_bytes": t["held_bytes"], "samples": r["samples"]})
    table = []
    for budget in ("equal-steps", "equal-time"):
        for model in MODELS:
            group = [row for row in rows if row["model"] == model and
                     (budget in row["budgets"] or (budget == "equal-time" and model not in EQUAL_TIME
                                                   and model in MAIN and "equal-steps" in row["budgets"]))]
            if not group:
                continue
            table.append({"budget": budget, "model": model, "steps": group[0]["steps"], "runs": len(group),
                          "successes": sum(g["success"] for g in group),
                          "fd_over_floor": [round(g["fd"] / g["floor"], 3) for g in group],
                          "classes": [g["classes"] for g in group],
                          "stopped": sum(bool(g["stopped"]) for g in group),
                          "ms_per_step_median": round(1e3 * statistics.median(g["seconds_per_step"] for g in group), 3),
                          "parameters": group[0]["parameters"],
                          "step_peak_bytes": max(g["step_peak_bytes"] for g in group),
                          "held_bytes": group[0]["held_bytes"]})
    steps = FAST_STEPS if fast else STEPS
    return {"rows": rows, "table": table, "models": MODELS, "main": list(MAIN), "swept": SWEPT,
            "sweep": [f"x{factor:g}" for factor in SWEEP], "long_steps": FAST_LONG_STEPS if fast else LONG_STEPS,
            "budget": {"equal_steps": steps, "equal_time_steps": {m: time_steps(m, steps) for m in EQUAL_TIME},
                       "time_reference": TIME_REFERENCE, "ms_per_step": MS_PER_STEP, "measured_on": MEASURED_ON},
            "success": "at least 9 of 10 classes hold >= 3% of the samples and FD <= 2x the real-data floor "
                       "(metrics.is_digits_success)"}


def measure_speed(steps=100, rounds=5):
    """Median milliseconds per training step of each model at its defaults, one thread, the models
    interleaved round by round so that the machine's load affects them alike (for MS_PER_STEP)."""
    images = data.digits(split="train")[0]
    times = {m: [] for m in MODELS}
    for r in range(rounds):
        for model in MODELS:
            _, step = make_step(MODELS[model], images, r)
            history = train.run(step, steps, step.nets, model, progress=False)
            times[model].append(1e3 * history.seconds / history.steps)
    return {m: round(statistics.median(t), 3) for m, t in times.items()}


def probe_ebgan_margins(margins=(0.1, 0.3, 1.0, 3.0), steps=1500, seed=0):
    """EBGAN's margin on seed 0: the FD over the floor and the classes after `steps` steps, per margin."""
    images = data.digits(split="train")[0]
    found = {}
    for margin in margins:
        G, step = make_step({**MODELS["ebgan"], "margin": margin}, images, seed)
        train.run(step, steps, step.nets, "EBGAN", progress=False)
        row, _ = score(G, step)
        found[margin] = (round(row["fd"] / row["floor"], 2), row["classes"])
    return found


study("compare-digits", doc="the GAN, IGN, split IGN and EBGAN on the 8x8 digits, budgets, sweeps and long runs (07)",
      after=("digit-classifier",), grid=grid, summarize=summarize,
      budget="at most 90 minutes on 2 cores (--jobs 2); --fast: about 1 minute")(run)
