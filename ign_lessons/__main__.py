"""Command line: `python -m ign_lessons retrain|study|benchmark|handout|grade|nbgrader ...` (see --help)."""
import argparse
import difflib
import errno
import sys
import time
from pathlib import Path

from . import checks, studies


def lab_benchmark():
    """The lab's responsiveness on this machine (one torch thread, as in the notebook); returns its rows."""
    import matplotlib
    matplotlib.use("Agg")
    from . import lab, runtime
    runtime.start(report=False)
    print("idempotence lab (08), kernel side: one Step with its full redraw, and Play's redraws per second")
    rows = lab.benchmark()
    for kind, row in rows.items():
        print(f"  {kind:9s}  Step + redraw {row['step_seconds']:.3f} s (budget 0.5 s)   Play "
              f"{row['frames_per_second']:.1f} redraws/s (at least 5), {row['steps_per_second']} steps/s")
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m ign_lessons")
    sub = parser.add_subparsers(dest="command", required=True)
    retrain = sub.add_parser("retrain", help="regenerate shipped checkpoints and study results in data/")
    retrain.add_argument("names", nargs="*", help="recipes to run (default: all)")
    retrain.add_argument("--list", action="store_true", help="list the recipes and stop")
    run = sub.add_parser("study", help="run a named study (a grid of runs over seeds), locally or on a Dask cluster",
                         description="Run a named study: each run writes data/results/NAME/KEY.json (config, seed, "
                         "environment, metrics, timings, git revision), the study writes data/results/NAME.json. "
                         "Runs whose file exists are skipped (an interrupted study resumes).")
    run.add_argument("name", nargs="?", help="the study (see --list)")
    run.add_argument("--list", action="store_true", help="list the studies and stop")
    run.add_argument("--fast", action="store_true",
                     help="a tiny version of the study (seconds), written to NAME-fast/ and NAME-fast.json")
    run.add_argument("--force", action="store_true", help="rerun runs whose results file exists")
    run.add_argument("--jobs", type=int, default=None, metavar="N",
                     help=f"local processes, one torch thread each (default {studies.default_jobs()}; 1: this process)")
    run.add_argument("--scheduler", metavar="tcp://host:port",
                     help="run on the Dask cluster of this scheduler instead (dask.distributed)")
    run.add_argument("--out", metavar="DIR", help="results folder (default: the course's data/results)")
    bench = sub.add_parser("benchmark", help="time a training step of each model, as ratios in one run")
    bench.add_argument("--lab", action="store_true",
                       help="only the idempotence lab: one Step with its redraw, and Play's redraws per second")
    bench.add_argument("--quality", action="store_true",
                       help="also train the GAN and IGN of 07 for a minute at the course's and at the fastest "
                            "batch size: does the faster rate buy quality per second? (about 5 minutes)")
    handout = sub.add_parser("handout", help="write student copies of the notebooks, without their solutions")
    handout.add_argument("out_dir", help="folder for the copies")
    grade = sub.add_parser("grade", help="run student notebooks and report each exercise's verdict")
    grade.add_argument("notebooks", nargs="+", help="the students' notebooks")
    grade.add_argument("--out", default="build/grades", help="folder for grades.csv and the feedback files")
    grade.add_argument("--jobs", type=int, default=None, metavar="N",
                       help="notebooks run at once, one kernel each (default: one per core)")
    nbgrader = sub.add_parser("nbgrader", help="write the course as an nbgrader source folder")
    nbgrader.add_argument("out_dir", help="the nbgrader course folder (source/ign-lessons/ is made in it)")
    args, unknown = parser.parse_known_args(argv)
    checks.reject_unknown(sub.choices[args.command], unknown)
    try:
        return dispatch(parser, sub, args)
    except OSError as error:
        if error.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise
        parser.exit(2, f"python -m ign_lessons {args.command}: cannot write {error.filename} ({error.strerror}); "
                       "nothing else was changed. Make that folder writable (chmod u+w FOLDER), or for a study "
                       "write the results elsewhere with --out DIR.\n")


def dispatch(parser, sub, args):
    """Run the parsed command; returns the exit code."""
    if args.command == "study":
        return study(sub.choices["study"], args)
    if args.command in ("handout", "grade", "nbgrader"):
        try:
            return classroom(args)
        except (FileNotFoundError, ValueError) as error:
            parser.exit(2, f"python -m ign_lessons {args.command}: {error}\n")
    if args.command == "benchmark":
        lab = lab_benchmark()
        if not args.lab:
            from .studies import benchmark
            benchmark.main(lab=lab, quality=args.quality)
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


def study(parser, args):
    """`python -m ign_lessons study NAME [--fast] [--force] [--jobs N] [--scheduler ADDRESS]`."""
    studies.discover()
    if args.list:
        for name, spec in sorted(studies.STUDIES.items()):
            print(f"{name:<18} {spec.doc}\n{'':<18} full: {spec.budget}")
        return 0
    if not args.name:
        parser.error(f"name a study; known: {', '.join(sorted(studies.STUDIES))}")
    if args.scheduler is not None and args.jobs is not None:
        parser.error("--jobs and --scheduler exclude each other: the cluster's workers decide how many runs "
                     "go at once (start them with --nthreads 1)")
    try:
        studies.run_study(args.name, fast=args.fast, force=args.force,
                          jobs=args.jobs if args.jobs is not None else studies.default_jobs(),
                          scheduler=args.scheduler, root=args.out)
    except studies.StudyError as error:
        parser.error(str(error))
    return 0


def classroom(args):
    """The teacher's commands: hand-outs, grading, the nbgrader export."""
    from .exercises import classroom as room
    if args.command == "handout":
        for path in room.write_handouts(args.out_dir):
            print(f"wrote {path}")
        return 0
    if args.command == "nbgrader":
        for path in room.write_nbgrader(args.out_dir):
            print(f"wrote {path}")
        print(f"then, in {args.out_dir}: nbgrader generate_assignment ign-lessons")
        return 0
    if args.jobs is not None and args.jobs < 1:
        raise ValueError(f"--jobs must be a whole number >= 1, got {args.jobs}.")
    table = room.grade(args.notebooks, args.out, args.jobs)
    everything = True
    for path, results in table.items():
        print(room.feedback(path, results), end="")
        everything &= all(status == "passed" for status, _ in results.values())
    print(f"grades: {Path(args.out) / 'grades.csv'}; feedback files beside it")
    return 0 if everything else 1


if __name__ == "__main__":
    sys.exit(main())
