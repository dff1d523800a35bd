"""Merged vs split: IGN's one network f against the same three losses on two networks.

"merged" is IGN (Shocher et al. 2024, arXiv:2311.01462): one network f is generator and, through
its reconstruction error delta(y) = d(f(y), y), discriminator. "split" keeps the three losses but
gives the two roles to two networks, a generator G and an autoencoder discriminator A scored by
d(A(y), y): the EBGAN arrangement (Zhao et al., arXiv:1609.03126). Whether the merge brings
anything is question 1 of Su Jianlin's post (kexue.fm 9969); `run` measures it over seeds.

The second experiment (`run_energies`) asks his question 2: would another function of f(y) and y
serve as the discriminator? It trains one network with the one-loss GAN and D(y) = h(f(y), y).
"""
import contextlib
import multiprocessing
import statistics
import time
from concurrent.futures import ProcessPoolExecutor

import torch
import torch.nn.functional as F

from . import data, losses, metrics, models, plots, results, train
from .recipes import recipe

# name -> how many networks, and the hidden width of each (3 hidden layers, as models' "mlp-ign").
# "split-matched" narrows both networks so that G and A together have f's parameter count.
VARIANTS = {
    "merged": {"networks": 1, "hidden": 128},
    "split": {"networks": 2, "hidden": 128},
    "split-matched": {"networks": 2, "hidden": 90},
}

# Every setting is passed explicitly to the trainers, so that changing their defaults changes nothing here.
SETTINGS = {"steps": 3000, "lr": 1e-3, "betas": (0.5, 0.999), "batch": 128, "weights": (20, 20, 2.5),
            "distance": "l1", "n_data": 4096, "n_eval": 2000, "eval_seed": 12345}

SUCCESS = {"near": 0.8}  # and every mode covered (metrics.mode_coverage's 1% share)


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
            losses.ign_loss(nets["f"], x, z, (1, 1, 1), distance)
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
    cover = metrics.mode_coverage(samples, name)
    return {"modes": cover["modes"], "of": cover["of"], "near": round(cover["near"], 4),
            "min_share": round(min(cover["shares"]), 4), "success": is_success(cover)}


@torch.no_grad()
def accepted_area(energy, real, limit=3.0, steps=60, quantile=0.9):
    """Share of the square [-limit, limit]^2 that the discriminator finds as real as real data:
    where its energy is at most the `quantile` of its energy on the `real` samples."""
    threshold = torch.quantile(energy(real), quantile)
    grid, _, _ = plots.plane(limit, steps)
    return float((energy(grid) <= threshold).float().mean())


def is_success(cover):
    """Success: every mode covered (>= 1% of samples each) and >= 80% of samples near a mode."""
    return bool(cover["modes"] == cover["of"] and cover["near"] >= SUCCESS["near"])


def _map(function, jobs, workers):
    """[function(*job) for job in jobs], in `workers` one-thread processes when workers > 1."""
    if workers <= 1:
        return [function(*job) for job in jobs]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=torch.set_num_threads,
                             initargs=(1,)) as pool:
        return list(pool.map(function, *zip(*jobs)))


def train_and_score(name, variant, seed, settings, keep=0, keep_nets=False):
    """One run of `run`: train a variant on a data set from a seed; returns (row, samples, nets)."""
    s = settings
    nets, history = train_variant(variant, data.toy2d(name, s["n_data"], seed=0), seed, s)
    fake = models.sample(generator(nets), s["n_eval"], seed=s["eval_seed"])
    area = accepted_area(discriminator_energy(nets, s["distance"]), data.toy2d(name, s["n_eval"], seed=1))
    row = {"data": name, "variant": variant, "seed": int(seed), **evaluate(fake, name),
           "accepted_area": round(area, 4), "seconds_per_step": history.seconds / max(history.steps, 1),
           "stopped": history.stopped}
    return row, encode_points(fake[:keep]) if keep else None, nets if keep_nets else None


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
    for (name, variant, seed, *_), (row, points, nets) in zip(jobs, _map(train_and_score, jobs, workers)):
        key = f"{name}/{variant}/{seed}"
        rows.append(row)
        if keep:
            kept[key] = points
        if keep_nets:
            trained[key] = nets
        if log:
            log(row)
    return {"rows": rows, "samples": kept, **({"nets": trained} if keep_nets else {})}


def encode_points(points):
    """2D points as compact text "x,y x,y ..." (2 decimals; non-finite or huge values clipped to +-99)."""
    clipped = torch.nan_to_num(points.detach().float().cpu(), 99, 99, -99).clamp(-99, 99)
    return " ".join(f"{x:.2f},{y:.2f}" for x, y in clipped.tolist())


def decode_points(text):
    """The (n, 2) tensor of points stored by encode_points."""
    return torch.tensor([[float(v) for v in pair.split(",")] for pair in text.split()])


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
    head = f"{'data':<6}{'variant':<15}{'runs':>5}{'success':>9}{'modes':>11}{'near':>7}{'worst':>7}{'params':>8}{'time':>6}"
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


# --- question 2: other functions of f(y) and y as the discriminator ----------------------------------

ENERGIES = {
    "L1 distance (IGN)": lambda fy, y: (fy - y).abs().mean(1),
    "squared L2 distance": lambda fy, y: (fy - y).pow(2).mean(1),
    "cosine distance": lambda fy, y: 1 - F.cosine_similarity(fy, y, dim=1, eps=1e-6),
    "output norm |f(y)|": lambda fy, y: fy.abs().mean(1),
    "signed difference": lambda fy, y: (fy - y).mean(1),
}
"""Candidate energies h(f(y), y), per sample, for the discriminator D(y) = h(f(y), y)."""


def self_gan_loss(f, x, z, energy, weights=(20, 20, 2.5)):
    """The one-loss GAN with G = f and D(y) = energy(f(y), y), stop-gradient form:

    lambda_r D(x) + lambda_i D(f(z)) - (lambda_i + lambda_t) D(sg f(z)).
    With energy = L1 distance its gradient is IGN's (losses.ign_loss_stopgrad)."""
    wr, wi, wt = weights
    D = lambda y: energy(f(y), y)
    fz = f(z)
    return (wr * D(x) + wi * D(fz) - (wi + wt) * D(fz.detach())).mean()


def train_self_gan(samples, energy, steps=3000, seed=0, weights=(20, 20, 2.5), batch=128, lr=1e-3,
                   betas=(0.5, 0.999), hidden=128, progress=False):
    """Train one network f with `self_gan_loss`; returns (f, history)."""
    samples = train.check_samples(samples)
    if samples.dim() != 2:
        raise train.TrainingError("train_self_gan is for 2D points (N, 2).")
    torch.manual_seed(seed)
    f = models.build("mlp-ign", hidden=hidden)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(f.parameters(), lr=lr, betas=betas)

    def step(i):
        x = samples[torch.randint(len(samples), (batch,), generator=gen)]
        loss = self_gan_loss(f, x, torch.randn_like(x), energy, weights)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return {"loss": loss.detach()}

    return f, train.run(step, steps, (f,), "one-network GAN", progress)


def train_and_score_energy(name, label, seed, settings, keep=0):
    """One run of `run_energies`: returns (row, samples)."""
    s = settings
    f, history = train_self_gan(data.toy2d(name, s["n_data"], seed=0), ENERGIES[label], s["steps"], seed,
                                tuple(s["weights"]), s["batch"], s["lr"], tuple(s["betas"]))
    fake = models.sample(f, s["n_eval"], seed=s["eval_seed"])
    finite = bool(torch.isfinite(fake).all())
    row = {"data": name, "variant": label, "seed": int(seed),
           **evaluate(torch.nan_to_num(fake, 1e6, 1e6, -1e6), name),
           "seconds_per_step": history.seconds / max(history.steps, 1),
           "stopped": history.stopped or (None if finite else "non-finite samples")}
    return row, encode_points(fake[:keep]) if keep else None


def run_energies(seeds=range(2), energies=tuple(ENERGIES), name="ring", settings=None, keep=0, workers=1,
                 log=None):
    """Train `train_self_gan` for every energy and seed; rows like `run`'s (variant = energy name)."""
    s = settings or SETTINGS
    jobs = [(name, label, seed, s, keep) for seed in seeds for label in energies]
    rows, kept = [], {}
    for (_, label, seed, *_), (row, points) in zip(jobs, _map(train_and_score_energy, jobs, workers)):
        rows.append(row)
        if keep:
            kept[f"{name}/{label}/{seed}"] = points
        if log:
            log(row)
    return {"rows": rows, "samples": kept}


@contextlib.contextmanager
def one_thread():
    """Run torch on one thread inside the block: small networks gain little from more threads, and
    one thread per process keeps a shared CPU fair (and timings comparable)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _log(row):
    print(f"  {row['data']:<5} {row['variant']:<20} seed {row['seed']}: {row['modes']}/{row['of']} modes, "
          f"{row['near']:.1%} near, success {row['success']}, {row['seconds_per_step'] * 1e3:.1f} ms/step"
          + (f"  [{row['stopped'][:40]}]" if row["stopped"] else ""), flush=True)


STUDY_SEEDS = {"ring": range(5), "grid": range(3)}

# Other settings tried on the ring (2 seeds, merged and split), to see whether a finding is one lr's luck.
ROBUSTNESS = {"lr 3e-4": {"lr": 3e-4},
              "weights (20, 20, 1)": {"weights": (20, 20, 1.0)},
              "paper listing: weights (1, 1, 0.1), squared L2": {"weights": (1, 1, 0.1), "distance": "l2sq"}}


@recipe("merged-vs-split")
def make_merged_vs_split(steps_scale=1.0, seeds=None, robustness_seeds=range(2), workers=2):
    """Ship data/results/merged-vs-split.json: every variant over seeds on the ring and the grid,
    interleaved step timings, and merged vs split under the ROBUSTNESS settings."""
    seeds = seeds or STUDY_SEEDS
    s = settings_with(steps=max(1, round(SETTINGS["steps"] * steps_scale)))
    start = time.perf_counter()
    rows, samples, robust = [], {}, []
    with one_thread():
        for name, name_seeds in seeds.items():
            out = run(name_seeds, tuple(VARIANTS), (name,), s, keep=300, workers=workers, log=_log)
            rows += out["rows"]
            samples.update(out["samples"])
        for label, change in ROBUSTNESS.items():
            out = run(robustness_seeds, ("merged", "split"), ("ring",), {**s, **change}, workers=workers, log=_log)
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
    return results.save("merged-vs-split", payload, config)


@recipe("discriminator-choices")
def make_discriminator_choices(steps_scale=1.0, seeds=range(2), workers=2):
    """Ship data/results/discriminator-choices.json: one network, five energies h(f(y), y), 2 seeds."""
    s = settings_with(steps=max(1, round(SETTINGS["steps"] * steps_scale)))
    with one_thread():
        out = run_energies(seeds, tuple(ENERGIES), "ring", s, keep=300, workers=workers, log=_log)
    payload = {"rows": out["rows"], "summary": summarize(out["rows"]), "samples": out["samples"]}
    return results.save("discriminator-choices", payload, {**s, "seeds": list(seeds), "data": "ring",
                                                           "threads": 1})
