"""Command line: `python -m ign_lessons retrain [name ...]` and `python -m ign_lessons benchmark`."""
import argparse
import importlib
import sys
import time

from . import recipes

# Modules that register recipes when imported.
RECIPE_MODULES = ("study", "digit_recipes", "gan_2d_study", "ign_2d_study")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m ign_lessons")
    sub = parser.add_subparsers(dest="command", required=True)
    retrain = sub.add_parser("retrain", help="regenerate shipped checkpoints and study results in data/")
    retrain.add_argument("names", nargs="*", help="recipes to run (default: all)")
    retrain.add_argument("--list", action="store_true", help="list the recipes and stop")
    sub.add_parser("benchmark", help="time a training step of each model, as ratios in one run")
    args = parser.parse_args(argv)
    if args.command == "benchmark":
        from . import benchmark
        benchmark.main()
        return 0
    for module in RECIPE_MODULES:
        importlib.import_module(f"ign_lessons.{module}")
    if args.list:
        print("\n".join(recipes.RECIPES))
        return 0
    unknown = [n for n in args.names if n not in recipes.RECIPES]
    if unknown:
        parser.error(f"unknown recipe(s) {', '.join(unknown)}; known: {', '.join(recipes.RECIPES)}")
    for name in args.names or list(recipes.RECIPES):
        start = time.perf_counter()
        print(f"== {name}", flush=True)
        recipes.RECIPES[name]()
        print(f"== {name}: {time.perf_counter() - start:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
