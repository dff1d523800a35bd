"""Merged vs split: IGN's one network f against the same three losses on two networks (05_ign_is_a_gan).

"merged" is IGN (Shocher et al. 2024, arXiv:2311.01462): one network f is generator and, through
its reconstruction error delta(y) = d(f(y), y), discriminator. "split" keeps the three losses but
gives the two roles to two networks, a generator G and an autoencoder discriminator A scored by
d(A(y), y): the EBGAN arrangement (Zhao et al., arXiv:1609.03126). Whether the merge brings
anything is question 1 of Su Jianlin's post (kexue.fm 9969); `run` measures it over seeds.
"""
import statistics
import time

import torch

from .. import data, losses, metrics, models, results, runtime, train
from ..losses import PAPER_LISTING_WEIGHTS, IGNWeights
from . import map_runs, recipe

# name -> how many networks, and the hidden width of each (3 hidden layers, as models' "mlp-ign").
# "split-matched" narrows both networks so that G and A together have f's parameter count.
VARIANTS = {
    "merged": {"networks": 1, "hidden": 128},
    "split": {"networks": 2, "hidden": 128},
    "split-matched": {"networks": 2, "hidden": 90},
}

# Every setting is passed explicitly to the trainers, so that changing their defaults changes nothing here.
# The weights are the paper's CelebA weights (20, 20, 2.5), not the 2D default of train.IGN_DEFAULTS
# (20, 20, 1): the study asks what merging does at the paper's settings; ROBUSTNESS adds the 2D default.
SETTINGS = {"steps": 3000, "lr": 1e-3, "betas": (0.5, 0.999), "batch": 128, "weights": IGNWeights(20, 20, 2.5),
            "distance": "l1", "n_data": 4096, "n_eval": 2000, "eval_seed": 12345}


def settings_with(**changes):
    """SETTINGS with some values changed; unknown names are refused."""
    unknown = set(changes) - set(SETTINGS)
    if unknown:
        raise ValueError(f"unknown setting(s) {', '.join(sorted(unknown))}; known: {', '.join(SETTINGS)}.")
    return {**SETTINGS, **changes}


def build(variant, seed=0):
    """Fresh networks of a variant, initialised from `seed`: {"f": f} or {"G": G, "A": A}."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; choose one of {', '.join(VARIANTS)}.")
    spec = VARIANTS[variant]
    torch.manual_seed(seed)
    nets = [models.build("mlp-ign", hidden=spec["hidden"]) for _ in range(spec["networks"])]
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

    merged: train.train_ign on f (no clamp); split*: train.train_split_ign on G and A."""
    s = settings or SETTINGS
    nets = build(variant, seed)
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


def train_and_score(name, variant, seed, settings, keep=0, keep_nets=False):
    """One run of `run`: train a variant on a data set from a seed; returns (row, samples, nets)."""
    s = settings
    nets, history = train_variant(variant, data.toy2d(name, s["n_data"], seed=0), seed, s)
    fake = models.sample(generator(nets), s["n_eval"], seed=s["eval_seed"])
    area = accepted_area(discriminator_energy(nets, s["distance"]), data.toy2d(name, s["n_eval"], seed=1))
    row = {"data": name, "variant": variant, "seed": int(seed), **evaluate(fake, name),
           "accepted_area": round(area, 4), "seconds_per_step": history.seconds / max(history.steps, 1),
           "stopped": history.stopped}
    return row, results.encode_points(fake[:keep]) if keep else None, nets if keep_nets else None


def run(seeds=range(5), variants=tuple(VARIANTS), datasets=("ring",), settings=None, keep=0,
        keep_nets=False, workers=1, log=None):
    """Train every (data set, variant, seed) and evaluate; returns {"rows": [...], "samples": {...}}.

    rows: one dict per run (data, variant, seed, modes, of, near, min_share, success, accepted_area
    of its discriminator, seconds_per_step, stopped). samples: `keep` generated points per run,
    keyed "data/variant/seed"; with keep_nets, also "nets": the trained networks, same keys.
    workers > 1 trains in that many processes of one thread each (same numbers, less waiting)."""
    s = settings or SETTINGS
    jobs = [(name, variant, seed, s, keep, keep_nets) for name in datasets for seed in seeds for variant in variants]
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


def log_row(row):
    print(f"  {row['data']:<5} {row['variant']:<20} seed {row['seed']}: {row['modes']}/{row['of']} modes, "
          f"{row['near']:.1%} near, success {row['success']}, {row['seconds_per_step'] * 1e3:.1f} ms/step"
          + (f"  [{row['stopped'][:40]}]" if row["stopped"] else ""), flush=True)


STUDY_SEEDS = {"ring": range(5), "grid": range(3)}

# Other settings tried on the ring (2 seeds, merged and split), to see whether a finding is one lr's luck.
ROBUSTNESS = {"lr 3e-4": {"lr": 3e-4},
              "weights (20, 20, 1)": {"weights": IGNWeights(20, 20, 1.0)},
              "paper listing: weights (1, 1, 0.1), squared L2": {"weights": PAPER_LISTING_WEIGHTS,
                                                                  "distance": "l2sq"}}


@recipe("merged-vs-split")
def make_merged_vs_split(target=None, steps=SETTINGS["steps"], seeds=None, robustness_seeds=range(2), workers=2):
    """Write data/results/merged-vs-split.json (or `target`): every variant over seeds on the ring and
    the grid, interleaved step timings, and merged vs split under the ROBUSTNESS settings."""
    seeds = seeds or STUDY_SEEDS
    s = settings_with(steps=steps)
    start = time.perf_counter()
    rows, samples, robust = [], {}, []
    with runtime.threads(1):
        for name, name_seeds in seeds.items():
            out = run(name_seeds, tuple(VARIANTS), (name,), s, keep=300, workers=workers, log=log_row)
            rows += out["rows"]
            samples.update(out["samples"])
        for label, change in ROBUSTNESS.items():
            out = run(robustness_seeds, ("merged", "split"), ("ring",), {**s, **change}, workers=workers,
                      log=log_row)
            robust += [{**row, "settings": label} for row in out["rows"]]
        timing = time_per_step(tuple(VARIANTS), steps=min(200, s["steps"]), rounds=5, settings=s)
    payload = {"rows": rows, "summary": summarize(rows), "samples": samples, "robustness": robust,
               "time_per_step": timing,
               "variants": {v: {**VARIANTS[v], "parameters": parameters(v), **forward_cost(v)} for v in VARIANTS},
               "success": "every mode holds >= 1% of samples and >= 80% of samples lie near a mode",
               "seconds": round(time.perf_counter() - start)}
    print(format_table(payload["summary"]))
    config = {**s, "seeds": {k: list(v) for k, v in seeds.items()}, "robustness": ROBUSTNESS,
              "robustness_seeds": list(robustness_seeds), "threads": 1, "workers": workers}
    return results.save(target or results.path("merged-vs-split"), payload, config)
