"""Merged vs split: IGN's one network f against the same three losses on two networks (05_ign_is_a_gan).

"merged" is IGN (Shocher et al. 2024, arXiv:2311.01462): one network f is generator and, through
its reconstruction error delta(y) = d(f(y), y), discriminator. "split" keeps the three losses but
gives the two roles to two networks, a generator G and an autoencoder discriminator A scored by
d(A(y), y): the EBGAN arrangement (Zhao et al., arXiv:1609.03126). Whether the merge brings
anything is question 1 of Su Jianlin's post (kexue.fm 9969); `run` measures it over seeds.

The study "merged-vs-split" (`python3 course.py study merged-vs-split`, about 21 minutes on 2 cores;
also the recipe of the same name) runs every variant over seeds on the ring and the grid with two sets
of settings, and shows both in 05:
- "paper": the weights reimplementations attribute to the paper's CelebA runs, (20, 20, 2.5), with
  z ~ N(0, I), 3000 steps (SETTINGS);
- "tuned": the course's 2D defaults of 04_ign_2d (train.IGN_DEFAULTS["points"]): weights (20, 20, 1),
  z from a Gaussian matched to the data's mean and standard deviation, 5000 steps (TUNED);
plus merged and split on the ring under the ROBUSTNESS changes to "paper" (2 seeds).
"""
import statistics

import torch

from .. import data, losses, metrics, models, presets, results, train
from ..checks import CourseError
from ..losses import PAPER_LISTING_WEIGHTS, IGNWeights
from . import map_runs, study

# name -> how many networks, and the hidden width of each (3 hidden layers, as models' "mlp-ign").
# "split-matched" narrows both networks so that G and A together have f's parameter count.
VARIANTS = {
    "merged": {"networks": 1, "hidden": 128},
    "split": {"networks": 2, "hidden": 128},
    "split-matched": {"networks": 2, "hidden": 90},
}

# Every setting is passed explicitly to the trainers, so that changing their defaults changes nothing here.
# SETTINGS are the paper's: the CelebA weights (20, 20, 2.5) and z ~ N(0, I) ("source": "standard").
# TUNED (below) are the course's 2D defaults of 04: weights (20, 20, 1), a source matched to the data
# ("source": "matched": data.gaussian_source of the training points), 5000 steps.
SETTINGS = {"steps": 3000, **{k: presets.PAPER_2D[k] for k in ("lr", "betas", "batch", "weights", "distance")},
            "n_data": 4096, "n_eval": 2000, "eval_seed": 12345, "source": presets.PAPER_2D["source"]}


def settings_with(**changes):
    """SETTINGS with some values changed; unknown names are refused."""
    unknown = set(changes) - set(SETTINGS)
    if unknown:
        raise CourseError(f"unknown setting(s) {', '.join(sorted(unknown))}; known: {', '.join(SETTINGS)}.")
    return {**SETTINGS, **changes}


def build(variant, seed=0, source=None):
    """Fresh networks of a variant, initialised from `seed`: {"f": f} or {"G": G, "A": A}.

    source: the generating network's source (models.Idempotent), None for N(0, I)."""
    if variant not in VARIANTS:
        raise CourseError(f"unknown variant {variant!r}; choose one of {', '.join(VARIANTS)}.")
    spec = VARIANTS[variant]
    torch.manual_seed(seed)
    nets = [models.build("mlp-ign", hidden=spec["hidden"], **({"source": source} if k == 0 and source else {}))
            for k in range(spec["networks"])]
    return {"f": nets[0]} if spec["networks"] == 1 else {"G": nets[0], "A": nets[1]}


def parameters(variant):
    """Exact number of trainable parameters of a variant (all its networks)."""
    return sum(models.count_parameters(net) for net in build(variant).values())


def forward_cost(variant, distance="l1"):
    """Network evaluations and forward multiply-adds of one training loss, per (x, z) sample pair.

    Counted with hooks on the loss the trainers use (losses.ign_loss or losses.split_ign_terms)."""
    nets = build(variant)
    count = {"evaluations": 0, "macs": 0}

    def on_net(net, inputs, output):
        count["evaluations"] += 1

    def on_linear(layer, inputs, output):
        count["macs"] += inputs[0].shape[0] * layer.in_features * layer.out_features

    handles = [net.register_forward_hook(on_net) for net in nets.values()]
    handles += [m.register_forward_hook(on_linear) for net in nets.values() for m in net.modules()
                if isinstance(m, torch.nn.Linear)]
    x, z = torch.randn(1, 2), torch.randn(1, 2)
    try:
        if "f" in nets:
            losses.ign_loss(nets["f"], x, z, IGNWeights(1, 1, 1), distance)
        else:
            losses.split_ign_terms(nets["G"], nets["A"], x, z, distance)
    finally:
        for handle in handles:
            handle.remove()
    return count


def train_variant(variant, samples, seed=0, settings=None, progress=False):
    """Train one variant with the given settings; returns (nets, history).

    merged: train.train_ign on f (no clamp); split*: train.train_split_ign on G and A. With
    settings["source"] == "matched" the generating network draws z from data.gaussian_source(samples)."""
    s = settings or SETTINGS
    source = data.gaussian_source(samples) if s.get("source", "standard") == "matched" else None
    nets = build(variant, seed, source)
    common = dict(steps=s["steps"], seed=seed, weights=tuple(s["weights"]), distance=s["distance"],
                  batch=s["batch"], lr=s["lr"], betas=tuple(s["betas"]), progress=progress)
    if "f" in nets:
        f, history = train.train_ign(samples, f=nets["f"], clamp=None, **common)
        return {"f": f}, history
    G, A, history = train.train_split_ign(samples, G=nets["G"], A=nets["A"], **common)
    return {"G": G, "A": A}, history


def generator(nets):
    """The network that generates: f for merged, G for split."""
    return nets.get("f", nets.get("G"))


def discriminator_energy(nets, distance="l1"):
    """The energy that plays the discriminator: delta(y) = d(f(y), y), or d(A(y), y) for split."""
    return losses.EnergyDiscriminator(nets.get("f", nets.get("A")), distance)


def evaluate(samples, name):
    """Coverage, near-mode share, smallest mode share and success of 2D samples of a mixture."""
    return {k: v for k, v in metrics.score_2d(samples, name).items() if k != "shares"}


@torch.no_grad()
def accepted_area(energy, real, limit=3.0, steps=60, quantile=0.9):
    """Share of the square [-limit, limit]^2 that the discriminator finds as real as real data:
    where its energy is at most the `quantile` of its energy on the `real` samples."""
    device = models.device_of(energy)
    threshold = torch.quantile(energy(real.to(device)), quantile)
    grid, _, _ = data.plane(limit, steps)
    return float((energy(grid.to(device)) <= threshold).float().mean())


def train_and_score(name, variant, seed, settings, keep=0, keep_nets=False, data_seed=0):
    """One run of `run`: train a variant on a data set from a seed; returns (row, samples, nets).
    data_seed draws the training points (and data_seed + 1 the points that measure the accepted area)."""
    s = settings
    nets, history = train_variant(variant, data.toy2d(name, s["n_data"], seed=data_seed), seed, s)
    fake = models.sample(generator(nets), s["n_eval"], seed=s["eval_seed"])
    area = accepted_area(discriminator_energy(nets, s["distance"]), data.toy2d(name, s["n_eval"], seed=data_seed + 1))
    row = {"data": name, "variant": variant, "seed": int(seed), **evaluate(fake, name),
           "accepted_area": round(area, 4), "seconds_per_step": history.seconds / max(history.steps, 1),
           "stopped": history.stopped}
    return row, results.encode_points(fake[:keep]) if keep else None, nets if keep_nets else None


def run(seeds=range(5), variants=tuple(VARIANTS), datasets=("ring",), settings=None, keep=0,
        keep_nets=False, workers=1, log=None, data_seed=0):
    """Train every (data set, variant, seed) and evaluate; returns {"rows": [...], "samples": {...}}.

    rows: one dict per run (data, variant, seed, modes, of, near, min_share, success, accepted_area
    of its discriminator, seconds_per_step, stopped). samples: `keep` generated points per run,
    keyed "data/variant/seed"; with keep_nets, also "nets": the trained networks, same keys.
    workers > 1 trains in that many processes of one thread each (same numbers, less waiting). data_seed
    draws the data (0 in the study; a notebook passes its SEED)."""
    s = settings or SETTINGS
    jobs = [(name, variant, seed, s, keep, keep_nets, data_seed) for name in datasets for seed in seeds
            for variant in variants]
    rows, kept, trained = [], {}, {}
    for (name, variant, seed, *_), (row, points, nets) in zip(jobs, map_runs(train_and_score, jobs, workers)):
        key = f"{name}/{variant}/{seed}"
        rows.append(row)
        if keep:
            kept[key] = points
        if keep_nets:
            trained[key] = nets
        if log:
            log(row)
    return {"rows": rows, "samples": kept, **({"nets": trained} if keep_nets else {})}


def summarize(rows):
    """One line per (data set, variant): runs, success rate, mean modes, mean near share, parameters,
    and the median over seeds of its time per step divided by merged's in the same seed."""
    merged_time = {(r["data"], r["seed"]): r["seconds_per_step"] for r in rows if r["variant"] == "merged"}
    table = []
    for key in dict.fromkeys((r["data"], r["variant"]) for r in rows):
        group = [r for r in rows if (r["data"], r["variant"]) == key]
        ratios = [r["seconds_per_step"] / merged_time[(r["data"], r["seed"])] for r in group
                  if (r["data"], r["seed"]) in merged_time]
        table.append({"data": key[0], "variant": key[1], "runs": len(group),
                      "success_rate": sum(r["success"] for r in group) / len(group),
                      "modes_mean": statistics.mean(r["modes"] for r in group), "of": group[0]["of"],
                      "near_mean": statistics.mean(r["near"] for r in group),
                      "near_min": min(r["near"] for r in group),
                      "parameters": parameters(key[1]) if key[1] in VARIANTS else None,
                      "time_ratio": statistics.median(ratios) if ratios else None})
    return table


def format_table(table):
    """The summary as aligned text."""
    head = (f"{'data':<6}{'variant':<15}{'runs':>5}{'success':>9}{'modes':>11}{'near':>7}{'worst':>7}"
            f"{'params':>8}{'time':>6}")
    lines = [head]
    for t in table:
        ratio = f"{t['time_ratio']:.2f}" if t["time_ratio"] is not None else "-"
        lines.append(f"{t['data']:<6}{t['variant']:<15}{t['runs']:>5}{t['success_rate']:>9.0%}"
                     f"{t['modes_mean']:>6.1f}/{t['of']:<4}{t['near_mean']:>7.1%}{t['near_min']:>7.1%}"
                     f"{t['parameters'] or '-':>8}{ratio:>6}")
    return "\n".join(lines)


def time_per_step(variants=tuple(VARIANTS), steps=100, rounds=3, settings=None, name="ring"):
    """Median seconds per training step of each variant, the variants interleaved round by round
    so that the machine's load affects them alike. Returns {variant: seconds}."""
    s = {**(settings or SETTINGS), "steps": steps}
    points = data.toy2d(name, s["n_data"], seed=0)
    times = {v: [] for v in variants}
    for r in range(rounds):
        for v in variants:
            _, history = train_variant(v, points, r, s)
            times[v].append(history.seconds / max(history.steps, 1))
    return {v: statistics.median(t) for v, t in times.items()}


STUDY_SEEDS = {"ring": range(5), "grid": range(3)}

# Other settings tried on the ring (2 seeds, merged and split), to see whether a finding is one lr's luck.
ROBUSTNESS = {"lr 3e-4": {"lr": 3e-4},
              "weights (20, 20, 1)": {"weights": IGNWeights(20, 20, 1.0)},
              "paper listing: weights (1, 1, 0.1), squared L2": {"weights": PAPER_LISTING_WEIGHTS,
                                                                  "distance": "l2sq"}}


TUNED = settings_with(steps=5000, weights=presets.IGN_2D["weights"], source=presets.IGN_2D["source"])
MAIN = {"paper": SETTINGS, "tuned": TUNED}
MAIN_LABELS = {"paper": "the paper's weights (20, 20, 2.5), z ~ N(0, I), 3000 steps",
               "tuned": "04's tuned defaults: weights (20, 20, 1), z matched to the data, 5000 steps"}
ROBUSTNESS_SLUGS = {"lr 3e-4": "lr-3e-4", "weights (20, 20, 1)": "weights-20-20-1",
                    "paper listing: weights (1, 1, 0.1), squared L2": "paper-listing"}
ROBUSTNESS_SEEDS = (0, 1)
FAST_STEPS = 40


def grid(fast=False, root=None):
    """The runs of the study "merged-vs-split": MAIN settings x data x seeds x variants, then ROBUSTNESS."""
    seeds = {"ring": (0,)} if fast else STUDY_SEEDS
    runs = []
    for label, settings in MAIN.items():
        s = settings_with(**{**settings, "steps": FAST_STEPS}) if fast else settings
        for name, name_seeds in seeds.items():
            for seed in name_seeds:
                for variant in VARIANTS:
                    runs.append({"key": f"{label}-{name}-{variant}-s{seed}", "seed": seed, "config": {
                        "group": label, "data": name, "variant": variant, "settings": s, "keep": 300}})
    for label, change in ROBUSTNESS.items():
        s = {**SETTINGS, **change, **({"steps": FAST_STEPS} if fast else {})}
        for seed in ROBUSTNESS_SEEDS[:1] if fast else ROBUSTNESS_SEEDS:
            for variant in ("merged", "split"):
                key = f"robust-{ROBUSTNESS_SLUGS[label]}-ring-{variant}-s{seed}"
                runs.append({"key": key, "seed": seed, "config": {
                    "group": "robustness", "settings_label": label, "data": "ring", "variant": variant,
                    "settings": s, "keep": 0}})
    # The variants' step times, interleaved in one run so that the machine's load affects them alike.
    runs.append({"key": "timing", "seed": 0, "config": {"group": "timing", "steps": 20 if fast else 200,
                                                        "rounds": 2 if fast else 5}})
    return runs


def run_one(config, seed):
    """One run of the study: train_and_score, as numbers and kept samples (the engine writes the file); or the
    interleaved step times of every variant."""
    c = config
    if c["group"] == "timing":
        return {"metrics": {"time_per_step": time_per_step(tuple(VARIANTS), steps=c["steps"], rounds=c["rounds"])}}
    s = {**c["settings"], "weights": IGNWeights(*c["settings"]["weights"]), "betas": tuple(c["settings"]["betas"])}
    row, points, _ = train_and_score(c["data"], c["variant"], seed, s, keep=c["keep"])
    seconds = row.pop("seconds_per_step")
    return {"metrics": row, "timings": {"seconds_per_step": seconds}, "samples": points}


def summarize_study(records, fast=False):
    """The summary 05 reads: for "paper" (top level, as before) and "tuned": rows, summary table, kept
    samples; "robustness" rows; interleaved step timings; parameter and compute counts."""
    def row(r):
        return {**r["metrics"], "seconds_per_step": r["timings"]["seconds_per_step"]}

    out = {}
    for label in MAIN:
        mine = [r for r in records if r["config"]["group"] == label]
        rows = [row(r) for r in mine]
        out[label] = {"rows": rows, "summary": summarize(rows), "label": MAIN_LABELS[label],
                      "settings": mine[0]["config"]["settings"],
                      "seeds": {name: sorted({r["seed"] for r in rows if r["data"] == name})
                                for name in dict.fromkeys(r["data"] for r in rows)},
                      "samples": {f"{r['config']['data']}/{r['config']['variant']}/{r['seed']}": r["samples"]
                                  for r in mine}}
    robust = [{**row(r), "settings": r["config"]["settings_label"]} for r in records
              if r["config"]["group"] == "robustness"]
    timing = next(r["metrics"]["time_per_step"] for r in records if r["config"]["group"] == "timing")
    return {**out["paper"], "tuned": out["tuned"], "robustness": robust, "time_per_step": timing,
            "variants": {v: {**VARIANTS[v], "parameters": parameters(v), **forward_cost(v)} for v in VARIANTS},
            "robustness_seeds": list(ROBUSTNESS_SEEDS[:1] if fast else ROBUSTNESS_SEEDS),
            "success": "every mode holds >= 1% of samples and >= 80% of samples lie near a mode"}


study("merged-vs-split", doc="one network against the same three losses on two networks (05)",
      grid=grid, summarize=summarize_study,
      budget="about 21 minutes on 2 cores (--jobs 2); --fast: seconds")(run_one)
