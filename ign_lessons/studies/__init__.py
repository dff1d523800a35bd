"""The studies that make every shipped file in data/: checkpoints and study results, one module each.

A module here registers its recipes with @recipe("name"): functions called with no arguments that
train and write their file(s) under data/. `python3 course.py retrain [name ...]` runs them (all,
in the order of RECIPE_ORDER, by default). Modules are found automatically: a new study is one new
file. Studies import the core (runtime, data, models, losses, train, metrics, ...); nothing in
the core imports them.
"""
import importlib
import multiprocessing
import pkgutil
from concurrent.futures import ProcessPoolExecutor

import torch

from .. import runtime

RECIPES = {}
# Recipes that others depend on run first: the digits metric's classifier judges the digit models.
RECIPE_ORDER = ("digit-classifier",)


def recipe(name):
    """Register a function that regenerates one or more shipped files."""
    def register(function):
        RECIPES[name] = function
        return function
    return register


def discover():
    """Import every study module (so that its recipes register); returns RECIPES in running order."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    first = [name for name in RECIPE_ORDER if name in RECIPES]
    return {name: RECIPES[name] for name in first + sorted(set(RECIPES) - set(first))}


def map_runs(function, jobs, workers=1):
    """[function(*job) for job in jobs], each on one torch thread: in this process when workers <= 1,
    else in `workers` fresh processes. Independent runs give the same numbers either way."""
    if workers <= 1:
        with runtime.threads(1):
            return [function(*job) for job in jobs]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=torch.set_num_threads,
                             initargs=(1,)) as pool:
        return list(pool.map(function, *zip(*jobs)))
