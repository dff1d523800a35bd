"""Command line: `python -m ign_lessons retrain|study|benchmark|explore-page|handout|grade|nbgrader ...` (--help)."""
import argparse
import errno
import sys
from pathlib import Path

from . import checkpoints, checks, studies


def lab_benchmark():
    """The lab's kernel-side responsiveness on this machine (one torch thread, as in the notebook)."""
    from . import runtime
    from .studies import benchmark
    runtime.start(report=False)
    print("idempotence lab (08), kernel side: one Step with its frame, and Play's frames and steps per second")
    rows = benchmark.lab()
    benchmark._print_lab(rows)
    return rows


# --- `course.py explore`: the lab alone as a web page (Voila) ----------------------------------------------

APP_INTRO = """# The idempotence lab
Train a network that turns random points into data in one step, and watch it learn: press **▶ Play**.
Everything is explained below the lab, and under each view."""

APP_TEXT = """## What this is

A network **f** that you train here learns to turn random points into points like the data (the green dots),
in one step, and to leave the data where it is: `f(f(z)) = f(z)` (*idempotence*). That is the Idempotent
Generative Network (IGN). Its hidden judge is the *energy* `δ(y) = d(f(y), y)`, how far f moves a point: low on
the data, high elsewhere. You can train the same three losses on two networks (*split IGN*), or a classic GAN
(a generator G and a discriminator D), and compare.

**How to use it.** Press **▶ Play** to train (the figure updates about 20 times a second), **Step** for one
update, **Reset** to go back to where the model started. Change any setting while it trains: a bad value is
refused in its own box, in red. Tick the **layers** under the plane to show or hide each view; under each view
a grey note says what to look at and what a good run looks like. Click on the plane to follow a point under
repeated f; tick **Draw your own data** and drag on the plane to make your own data set. Nothing here needs the
internet, and closing this page ends its Python process.

**Five guided experiments** (the *experiment* box, then **Set up**; the instructions stay shown above the figure):

| # | set-up | do | what you should see |
|---|---|---|---|
| 1 | the shipped IGN on the ring, `n = 1` | move the `n` slider to 5 | `f(z)` lands on the ring in one step; later applications move points far less on average, though about one point in six hops to a neighbouring mode |
| 2 | the shipped IGN on the ring | click on a mode, then on empty space | `δ` is low on the data (dark wells) and high elsewhere |
| 3 | IGN from scratch with `λ tight = 0`, playing | watch the orange fixed points; then set `λ tight` to 1 and press Reset | after a few hundred steps about twice as much of the plane stays fixed without tightness (on average over seeds); both fixed areas shrink, faster with tightness |
| 4 | IGN from scratch with `z ~ N(0, I)`, playing | compare the coverage chart with the matched source | the standard source succeeded once in 4 seeds of the course's study, the matched source four times |
| 5 | the GAN after 20 D-only steps | press G step a few times, then D step | D steps lower D's score on the fakes; G steps move the fakes up D's slope (the arrows) |

The course's notebook `08_idempotence_lab.ipynb` measures each of these; `python3 course.py lab` opens it."""  # noqa: E501

APP_CODE = """from ign_lessons import lab, runtime

runtime.start(report=False)
lab.Lab(preset="IGN on ring (shipped checkpoint)", explain=True)"""

# Voila's "lab" template links Font Awesome from a CDN (jsdelivr): the course runs offline, so the page uses
# this template, which keeps everything else of "lab" and drops those links.
TEMPLATE_NAME = "ign-lab"
TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block notebook_css -%}
{{ super() | replace('<link rel="stylesheet" href="https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@^5/css/all.min.css" type="text/css" />', '')
           | replace('<link rel="stylesheet" href="https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@^5/css/v4-shims.min.css" type="text/css" />', '') }}
{%- endblock notebook_css -%}
"""  # noqa: E501


def write_app(path, kernel="ign-lessons"):
    """Write the lab alone as a notebook of one text and one code cell, for Voila to serve as a web page
    (`python3 course.py explore`), and the offline Voila template beside it, in jupyter/voila/templates/
    (the folder to put on JUPYTER_PATH). Returns the notebook's path."""
    import json

    import nbformat
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(APP_INTRO),
                                               nbformat.v4.new_code_cell(APP_CODE),
                                               nbformat.v4.new_markdown_cell(APP_TEXT)])
    notebook.metadata["kernelspec"] = {"name": kernel, "display_name": f"Python ({kernel})", "language": "python"}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    template = path.parent / "jupyter" / "voila" / "templates" / TEMPLATE_NAME
    template.mkdir(parents=True, exist_ok=True)
    (template / "index.html.j2").write_text(TEMPLATE)
    (template / "conf.json").write_text(json.dumps({"base_template": "lab"}) + "\n")
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m ign_lessons")
    sub = parser.add_subparsers(dest="command", required=True)
    retrain = sub.add_parser("retrain", help="regenerate every shipped checkpoint and study result in data/",
                             description="Rerun every study (or those named), each after the studies whose files "
                             "it reads, into data/; says how long each took.")
    retrain.add_argument("names", nargs="*", help="studies to rerun (default: all; see --list)")
    retrain.add_argument("--list", action="store_true", help="list the studies in the order retrain runs them")
    retrain.add_argument("--resume", action="store_true", help="keep the runs whose results file exists")
    retrain.add_argument("--jobs", type=int, default=None, metavar="N",
                         help=f"local processes, one torch thread each (default {studies.default_jobs()})")
    retrain.add_argument("--device", default="cpu", help="where the runs compute: cpu (default), cuda, cuda:1, mps")
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
    run.add_argument("--run", action="append", metavar="KEY", dest="keys",
                     help="run only this run of the grid (repeatable; its file name without .json); the summary "
                          "is written once every run is done")
    run.add_argument("--device", default="cpu",
                     help="where every run computes: cpu (default: the same bits on every machine of one CPU "
                          "family), cuda, cuda:1, mps; recorded in each run's file")
    bench = sub.add_parser("benchmark", help="time a training step of each model, as ratios in one run")
    bench.add_argument("--lab", action="store_true",
                       help="only the idempotence lab: one Step with its redraw, and Play's redraws per second")
    bench.add_argument("--quality", action="store_true",
                       help="also train the GAN and IGN of 07 for a minute at the course's and at the fastest "
                            "batch size: does the faster rate buy quality per second? (about 5 minutes)")
    page = sub.add_parser("explore-page", help="write the lab's Voila page (what `course.py explore` serves)")
    page.add_argument("path", help="the notebook to write (its Voila template goes beside it)")
    page.add_argument("--kernel", default="ign-lessons", help="the kernel the page runs on")
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
    except checkpoints.CheckpointError as error:  # e.g. retrain into a checkpoint folder it may not write
        parser.exit(2, f"python -m ign_lessons {args.command}: {error}\n")
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
    if args.command == "explore-page":
        print(f"wrote {write_app(args.path, args.kernel)}")
        return 0
    if args.command == "benchmark":
        lab = lab_benchmark()
        if not args.lab:
            from .studies import benchmark
            benchmark.main(lab=lab, quality=args.quality)
        return 0
    if args.list:
        return list_studies(studies.discover())
    try:
        studies.retrain(args.names, jobs=args.jobs if args.jobs is not None else studies.default_jobs(),
                        resume=args.resume, device=args.device)
    except studies.StudyError as error:
        sub.choices["retrain"].error(str(error))
    return 0


def list_studies(found):
    """Each study with what it makes and its budget, in the order retrain runs them."""
    for name, spec in found.items():
        after = f" (after {', '.join(spec.after)})" if spec.after else ""
        print(f"{name:<22} {spec.doc}\n{'':<22} full: {spec.budget}{after}")
    return 0


def study(parser, args):
    """`python -m ign_lessons study NAME [--fast] [--force] [--jobs N] [--scheduler ADDRESS]`."""
    found = studies.discover()
    if args.list:
        return list_studies(found)
    if not args.name:
        parser.error(f"name a study; known: {', '.join(sorted(studies.STUDIES))}")
    if args.scheduler is not None and args.jobs is not None:
        parser.error("--jobs and --scheduler exclude each other: the cluster's workers decide how many runs "
                     "go at once (start them with --nthreads 1)")
    try:
        studies.run_study(args.name, fast=args.fast, force=args.force,
                          jobs=args.jobs if args.jobs is not None else studies.default_jobs(),
                          scheduler=args.scheduler, root=args.out, device=args.device,
                          keys=args.keys)
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
