"""Do the notebooks' claims hold whichever path a run takes? Run them under other seeds and see.

Another CPU, thread count or library build changes the last bits of a sum, and training turns those
bits into another run; so does another seed, and only the seed can be changed on one machine. This
command runs the chapters with IGN_LESSONS_SEED = 1, 2, 3 (every seed a notebook draws moves by that
much), every chapter in fast mode and in full mode. A chapter passes when every cell runs, its asserts
included. The table goes to the screen and, for the whole default set, to docs/robustness.md.

    python3 course.py robustness [CHAPTER ...] [--offsets 1 2 3] [--mode both|fast|full] [--jobs N]

Not part of `course.py test` (about 8 minutes on 2 cores); run it whenever a notebook's claims change.
Like book.py it sits apart from the core.
"""
import argparse
import datetime
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat

from . import book
from .checks import reject_unknown

OFFSETS = (1, 2, 3)
TABLE = Path(__file__).resolve().parent.parent / "docs" / "robustness.md"


def _failure(notebook, error):
    """Where a run stopped and why: the section heading of the failing cell and the error's last line."""
    heading, where = "", ""
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            heading = ([line.lstrip("# ").strip() for line in cell.source.splitlines() if line.startswith("#")]
                       or [heading])[-1]
        elif any(output.get("output_type") == "error" for output in cell.get("outputs", [])):
            where = heading
            break
    name, value = getattr(error, "ename", type(error).__name__), getattr(error, "evalue", str(error))
    return f"{where}: {name}: {value}".strip(": ")[:300]


def run_one(path, fast, offset):
    """Execute one chapter in fast or full mode under IGN_LESSONS_SEED=offset, in a fresh kernel.
    Returns {"chapter", "mode", "offset", "passed", "seconds", "failure"}."""
    os.environ["IGN_LESSONS_SEED"] = str(offset)
    notebook = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    failure = None
    with book.kernel_environment(fast):
        try:
            book.execute_notebook(notebook, path.parent)
        except Exception as error:  # a failing cell: record it and go on with the other runs
            failure = _failure(notebook, error)
    return {"chapter": path.stem, "mode": "fast" if fast else "full", "offset": offset, "passed": failure is None,
            "seconds": round(time.perf_counter() - start, 1), "failure": failure}


def plan(folder, names=(), offsets=OFFSETS, mode="both"):
    """The runs: (path, fast, offset) for every chosen chapter, offset and mode (fast first: it fails sooner)."""
    modes = {"both": (True, False), "fast": (True,), "full": (False,)}[mode]
    return [(path, fast, offset) for fast in modes for path in book.choose(folder, names) for offset in offsets]


def table(records):
    """A Markdown table: one row per chapter and mode, one column per offset."""
    offsets = sorted({r["offset"] for r in records})
    rows = ["| chapter | mode | " + " | ".join(f"offset {o}" for o in offsets) + " |",
            "|---|---|" + "---|" * len(offsets)]
    for chapter, mode in dict.fromkeys((r["chapter"], r["mode"]) for r in records):
        cells = []
        for offset in offsets:
            r = next((r for r in records if (r["chapter"], r["mode"], r["offset"]) == (chapter, mode, offset)), None)
            cells.append("" if r is None else f"pass ({r['seconds']:.0f} s)" if r["passed"]
                         else f"**FAIL** ({r['failure']})".replace("|", "/"))
        rows.append(f"| {chapter} | {mode} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def report(records, seconds):
    """docs/robustness.md: what ran, where, and the table."""
    from .studies import environment
    machine = environment()
    passed = sum(r["passed"] for r in records)
    return f"""# Robustness: the notebooks under other seeds

`python3 course.py robustness` ran every chapter in fast mode and in full mode with
`IGN_LESSONS_SEED` = {', '.join(str(o) for o in sorted({r['offset'] for r in records}))} (every seed a notebook
draws moves by that much; offset 0 is what `course.py test` and `course.py html` run). A run passes when
every cell runs, its asserts included: each claim the chapter states about a live run held on that run.

Ran on {datetime.date.today().isoformat()}: {machine['cpu']}, {os.cpu_count()} cores, torch {machine['torch']},
one torch thread per notebook, {len(records)} runs in {seconds / 60:.0f} minutes; **{passed} of {len(records)} passed**.

{table(records)}

Another seed stands in for another machine: both change the path of a run, and only the seed can be
changed on one machine. A claim that only holds on some paths belongs to a multi-seed study, not to
a live cell.
"""


def run(folder="notebooks", names=(), offsets=OFFSETS, mode="both", jobs=None, write=None, log=print):
    """Run the plan on `jobs` processes; print the table; write docs/robustness.md when `write`
    (default: when the whole default set ran). Returns the records."""
    runs = plan(folder, names, offsets, mode)
    jobs = jobs or max(1, min(2, os.cpu_count() or 1))
    start, records = time.perf_counter(), []
    log(f"robustness: {len(runs)} runs of {len({p for p, _, _ in runs})} chapters on {jobs} processes", flush=True)
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(run_one, *job) for job in runs]
        for future in futures:
            r = future.result()
            records.append(r)
            verdict = "pass" if r["passed"] else f"FAIL: {r['failure']}"
            log(f"  {r['chapter']} {r['mode']} offset {r['offset']}: {verdict} ({r['seconds']:.0f} s)", flush=True)
    seconds = time.perf_counter() - start
    log(table(records))
    if write if write is not None else (not names and tuple(offsets) == OFFSETS and mode == "both"):
        TABLE.write_text(report(records, seconds))
        log(f"wrote {TABLE}")
    return records


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python3 course.py robustness", description=__doc__.split("\n\n")[0])
    parser.add_argument("chapters", nargs="*", help='chapters to run, e.g. "04" (default: all)')
    parser.add_argument("--offsets", nargs="+", type=int, default=list(OFFSETS), help="seed offsets (default 1 2 3)")
    parser.add_argument("--mode", choices=("both", "fast", "full"), default="both",
                        help="fast mode, full mode, or both (default)")
    parser.add_argument("--jobs", type=int, default=None, help="notebooks run side by side (default: one per core)")
    parser.add_argument("--notebooks", default="notebooks", help="folder of the chapters (default notebooks)")
    args, unknown = parser.parse_known_args(argv)
    reject_unknown(parser, unknown)
    if any(o < 0 for o in args.offsets) or (args.jobs is not None and args.jobs < 1):
        parser.error("offsets must be whole numbers >= 0 and --jobs at least 1")
    records = run(args.notebooks, args.chapters, args.offsets, args.mode, args.jobs)
    return 0 if all(r["passed"] for r in records) else 1


if __name__ == "__main__":
    sys.exit(main())
