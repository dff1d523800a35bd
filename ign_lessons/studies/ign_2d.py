"""IGN on the 2D sets of 04_ign_2d: shipped models for every set, and a small study over seeds.

Studies:
- "ign-2d": train.train_ign with its defaults on each of data.TOY2D (seed 0), checkpoints
  "ign-2d-<name>" with their scores;
- "ign-2d-study": the ring over SEEDS for each of CONDITIONS (the default, standard noise, no
  tightness, more tightness, with and without the clamp), results "ign-2d-study".
"""
import torch

from .. import data, losses, metrics, models, train
from ..losses import IGNWeights
from . import as_json, study

N_DATA = 4096           # training points per set
N_EVAL, EVAL_SEED = 4000, 12345
REFERENCE = 20000       # real points that near_data compares with
SEEDS = (0, 1, 2, 3)

# name -> changes to train_ign's defaults ("source": None trains with z ~ N(0, I) instead).
CONDITIONS = {
    "default": {},
    "standard noise": {"source": None},
    "no tightness": {"weights": IGNWeights(20, 20, 0)},
    "clamp": {"clamp": 1.5},
    "more tightness": {"weights": IGNWeights(20, 20, 5)},
    "more tightness + clamp": {"weights": IGNWeights(20, 20, 5), "clamp": 1.5},
}


def reference(name):
    """A large real sample of a 2D set, independent of the training points."""
    return data.toy2d(name, REFERENCE, seed=999)


def score(f, name):
    """Numbers that judge an IGN network on a 2D set: near_data, and mode coverage where there are modes."""
    fake = models.sample(f, N_EVAL, seed=EVAL_SEED)
    row = {"near_data": round(metrics.near_data(fake, reference(name)), 4)}
    if data.toy2d_modes(name) is not None:
        row.update(metrics.score_2d(fake, name))
    return row


@torch.no_grad()
def spurious_fixed_area(f, name, tol=0.05, margin=0.3, limit=3.0, steps=120):
    """Share of the square [-limit, limit]^2 that f keeps fixed (d(f(y), y) < tol) although it lies
    more than `margin` away from every real point: fixed points the data did not ask for."""
    grid, _, _ = data.plane(limit, steps)
    moved = losses.energy(f, grid.to(models.device_of(f)), "l1").cpu()
    far = torch.cdist(grid, reference(name)[:5000]).min(1).values > margin
    return float(((moved < tol) & far).float().mean())


def run(name="ring", seed=0, progress=False, **changes):
    """train_ign with its defaults (plus `changes`) on N_DATA points of a 2D set; returns (f, history)."""
    samples = data.toy2d(name, N_DATA, seed=seed)
    changes = dict(changes)
    f = None
    if "source" in changes:
        torch.manual_seed(seed)
        f = models.build("mlp-ign", source=changes.pop("source"))
    return train.train_ign(samples, seed=seed, f=f, progress=progress, **changes)


def condition_run(config, seed):
    """One condition of the study on the ring, from `seed`: its scores, its spurious fixed area, tight/rec."""
    changes = {k: (IGNWeights(*v) if k == "weights" else v) for k, v in config["changes"].items()}
    f, history = run("ring", seed, steps=config["steps"], **changes)
    return {"metrics": {"condition": config["condition"], "seed": seed, **score(f, "ring"),
                        "spurious_fixed_area": round(spurious_fixed_area(f, "ring"), 5),
                        "tight_over_rec": round(history.last("tight", 200) / history.last("rec", 200), 3),
                        "seconds": round(history.seconds, 1), "stopped": history.stopped}}


def study_grid(fast, root=None):
    """Every CONDITIONS entry on the ring over SEEDS (fast: two conditions, one seed, 40 steps)."""
    conditions, seeds = (("default", "no tightness"), SEEDS[:1]) if fast else (CONDITIONS, SEEDS)
    steps = 40 if fast else train.IGN_DEFAULTS["points"]["steps"]
    return [{"key": f"c{i}-s{seed}", "seed": seed, "config": {"condition": name, "changes": as_json(CONDITIONS[name]),
                                                             "steps": steps}}
            for i, name in enumerate(conditions) for seed in seeds]


def study_settings(fast):
    return {"conditions": as_json(CONDITIONS), "seeds": list(SEEDS[:1] if fast else SEEDS),
            "defaults": as_json(train.IGN_DEFAULTS["points"]), "n_data": N_DATA, "n_eval": N_EVAL,
            "near_success": metrics.NEAR_SUCCESS}


study("ign-2d-study", doc="IGN on the ring: source, tightness and clamp conditions over seeds (04, 08)",
      grid=study_grid, summarize=lambda records, fast: {"rows": [r["metrics"] for r in records]},
      settings=study_settings, budget="about 10 minutes on 2 cores (--jobs 2); --fast: seconds")(condition_run)


def checkpoint_grid(fast, root=None):
    steps = 40 if fast else train.IGN_DEFAULTS["points"]["steps"]
    return [{"key": name, "seed": 0, "config": {"data": name, "steps": steps}} for name in data.TOY2D]


def checkpoint_run(config, seed):
    """train_ign with its defaults on one 2D set, shipped as checkpoint "ign-2d-<set>" with its scores."""
    name = config["data"]
    f, history = run(name, seed, steps=config["steps"])
    row = {**score(f, name), "seconds": round(history.seconds, 1)}
    return {"metrics": row, "checkpoint": {"model": f, "name": f"ign-2d-{name}", "steps": history.steps, "metrics": row,
                                           "config": {**as_json(history.settings), "data": name, "n_data": N_DATA}}}


study("ign-2d", doc='IGN with its defaults on every 2D set, checkpoints "ign-2d-<set>" (04, 08)',
      grid=checkpoint_grid, summarize=None,
      budget="about 5 minutes on 2 cores (--jobs 2)")(checkpoint_run)
