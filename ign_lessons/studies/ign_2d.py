"""IGN on the 2D sets of 04_ign_2d: shipped models for every set, and a small study over seeds.

Recipes:
- "ign-2d": train.train_ign with its defaults on each of data.TOY2D (seed 0), checkpoints
  "ign-2d-<name>" with their scores;
- "ign-2d-study": the ring over SEEDS for each of CONDITIONS (the default, standard noise, no
  tightness, more tightness, with and without the clamp), results "ign-2d-study".
"""
import torch

from .. import checkpoints, data, losses, metrics, models, results, runtime, train
from ..losses import IGNWeights
from . import map_runs, recipe

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


def _condition(condition, seed):
    f, history = run("ring", seed, **CONDITIONS[condition])
    row = {"condition": condition, "seed": seed, **score(f, "ring"),
           "spurious_fixed_area": round(spurious_fixed_area(f, "ring"), 5),
           "tight_over_rec": round(history.last("tight", 200) / history.last("rec", 200), 3),
           "seconds": round(history.seconds, 1), "stopped": history.stopped}
    return row


@recipe("ign-2d")
def make_checkpoints(folder=None):
    """Default IGN on every 2D set (seed 0), one thread, shipped as checkpoints "ign-2d-<name>"."""
    for name in data.TOY2D:
        with runtime.threads(1):
            f, history = run(name, 0)
        row = {**score(f, name), "seconds": round(history.seconds, 1)}
        checkpoints.save(f, (folder or checkpoints.folder()) / f"ign-2d-{name}.safetensors",
                         config={**history.settings, "data": name, "n_data": N_DATA},
                         seed=0, steps=history.steps, metrics=row)
        print(name, row, flush=True)


@recipe("ign-2d-study")
def make_study(target=None, workers=2):
    """Every CONDITIONS entry on the ring over SEEDS, two one-thread processes at a time."""
    jobs = [(condition, seed) for condition in CONDITIONS for seed in SEEDS]
    rows = map_runs(_condition, jobs, workers)
    for row in rows:
        print(row, flush=True)
    config = {"conditions": {k: {n: (list(v) if isinstance(v, tuple) else v) for n, v in c.items()}
                             for k, c in CONDITIONS.items()},
              "seeds": list(SEEDS), "defaults": {k: (list(v) if isinstance(v, tuple) else v)
                                                 for k, v in train.IGN_DEFAULTS["points"].items()},
              "n_data": N_DATA, "n_eval": N_EVAL, "near_success": metrics.NEAR_SUCCESS}
    return results.save(target or results.path("ign-2d-study"), {"rows": rows}, config)
