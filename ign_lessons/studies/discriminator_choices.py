"""Other discriminators inside one network (05_ign_is_a_gan): would another function of f(y) and y
serve as the discriminator, in place of IGN's distance? Question 2 of Su Jianlin's post (kexue.fm 9969).

One network f is trained with the one-loss GAN of losses.self_gan_loss, G = f and D(y) = h(f(y), y),
for each candidate energy h in ENERGIES, with the settings of the merged-vs-split study, so that the
L1 row is merged IGN.
"""
import torch
import torch.nn.functional as F

from .. import data, metrics, models, results, train
from . import as_json, map_runs, study
from .merged_vs_split import SETTINGS, settings_with, summarize

ENERGIES = {
    "L1 distance (IGN)": lambda fy, y: (fy - y).abs().mean(1),
    "squared L2 distance": lambda fy, y: (fy - y).pow(2).mean(1),
    "cosine distance": lambda fy, y: 1 - F.cosine_similarity(fy, y, dim=1, eps=1e-6),
    "output norm |f(y)|": lambda fy, y: fy.abs().mean(1),
    "signed difference": lambda fy, y: (fy - y).mean(1),
}
"""Candidate energies h(f(y), y), per sample, for the discriminator D(y) = h(f(y), y)."""


def train_and_score(name, label, seed, settings, keep=0, data_seed=0):
    """One run: train f with energy `label` on a 2D set (drawn from data_seed) from `seed`; returns (row, samples)."""
    s = settings
    f, history = train.train_self_gan(data.toy2d(name, s["n_data"], seed=data_seed), ENERGIES[label], steps=s["steps"],
                                      weights=tuple(s["weights"]), seed=seed, batch=s["batch"], lr=s["lr"],
                                      betas=tuple(s["betas"]), progress=False)
    fake = models.sample(f, s["n_eval"], seed=s["eval_seed"])
    finite = bool(torch.isfinite(fake).all())
    score = metrics.score_2d(torch.nan_to_num(fake, 1e6, 1e6, -1e6), name)
    row = {"data": name, "variant": label, "seed": int(seed), **{k: v for k, v in score.items() if k != "shares"},
           "seconds_per_step": history.seconds / max(history.steps, 1),
           "stopped": history.stopped or (None if finite else "non-finite samples")}
    return row, results.encode_points(fake[:keep]) if keep else None


def run(seeds=range(2), energies=tuple(ENERGIES), name="ring", settings=None, keep=0, workers=1, log=None,
        data_seed=0):
    """Train every energy over seeds; rows like merged_vs_split.run's (variant = energy name); data_seed draws
    the data (0 in the study; a notebook passes its SEED)."""
    s = settings or SETTINGS
    jobs = [(name, label, seed, s, keep, data_seed) for seed in seeds for label in energies]
    rows, kept = [], {}
    for (_, label, seed, *_), (row, points) in zip(jobs, map_runs(train_and_score, jobs, workers)):
        rows.append(row)
        if keep:
            kept[f"{name}/{label}/{seed}"] = points
        if log:
            log(row)
    return {"rows": rows, "samples": kept}


SEEDS = (0, 1)


def choices_grid(fast, root=None):
    """Every energy over SEEDS at the merged-vs-split settings (fast: one seed, 30 steps)."""
    steps, seeds = (30, SEEDS[:1]) if fast else (SETTINGS["steps"], SEEDS)
    return [{"key": f"e{i}-s{seed}", "seed": seed, "config": {"energy": label, "settings": as_json(settings_with(
        steps=steps)), "keep": 300}} for seed in seeds for i, label in enumerate(ENERGIES)]


def choices_run(config, seed):
    """One energy from `seed` on the ring: its row (coverage, near share, seconds per step) and 300 samples."""
    s = {**config["settings"], "weights": tuple(config["settings"]["weights"]),
         "betas": tuple(config["settings"]["betas"])}
    row, points = train_and_score("ring", config["energy"], seed, s, keep=config["keep"])
    return {"metrics": row, "samples": points}


def choices_summary(records, fast):
    rows = [r["metrics"] for r in records]
    return {"rows": rows, "summary": summarize(rows),
            "samples": {f"ring/{r['config']['energy']}/{r['seed']}": r["samples"] for r in records}}


study("discriminator-choices", doc="five energies h(f(y), y) as the discriminator of one network (05)",
      grid=choices_grid, summarize=choices_summary,
      settings=lambda fast: {**as_json(settings_with(steps=30 if fast else SETTINGS["steps"])),
                             "seeds": list(SEEDS[:1] if fast else SEEDS), "data": "ring", "threads": 1},
      budget="about 5 minutes on 2 cores (--jobs 2); --fast: seconds")(choices_run)
