"""Command line: `python -m ign_lessons retrain [name ...]` and `python -m ign_lessons benchmark`."""
import argparse
import difflib
import sys
import time

from . import studies


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m ign_lessons")
    sub = parser.add_subparsers(dest="command", required=True)
    retrain = sub.add_parser("retrain", help="regenerate shipped checkpoints and study results in data/")
    retrain.add_argument("names", nargs="*", help="recipes to run (default: all)")
    retrain.add_argument("--list", action="store_true", help="list the recipes and stop")
    sub.add_parser("benchmark", help="time a training step of each model, as ratios in one run")
    args = parser.parse_args(argv)
    if args.command == "benchmark":
        from .studies import benchmark
        benchmark.main()
        return 0
    recipes = studies.discover()
    if args.list:
        print("\n".join(recipes))
        return 0
    for name in args.names:
        if name not in recipes:
            close = difflib.get_close_matches(name, recipes, n=1)
            parser.error(f"unknown recipe {name!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
                         + f"; known: {', '.join(recipes)}")
    for name in args.names or list(recipes):
        start = time.perf_counter()
        print(f"== {name}", flush=True)
        recipes[name]()
        print(f"== {name}: {time.perf_counter() - start:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
