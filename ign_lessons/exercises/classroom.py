"""The classroom path: student hand-outs, grading by the checkers' verdicts, an nbgrader export.

Every notebook tags its exercise cells: `exercise` (the stub the learner fills in), `checker` (the
call of a checker, whose Verdict the notebook shows) and `solution` (worked solutions, at the end).

    python3 course.py handout OUT_DIR           notebooks without their solution cells
    python3 course.py grade NOTEBOOK... [--out DIR]   run each notebook, read every checker's verdict
    python3 course.py nbgrader OUT_DIR          the course as an nbgrader source folder
"""
import ast
import concurrent.futures
import csv
import os
import re
from pathlib import Path

import nbformat

from . import VERDICT_MIME

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
KERNEL = "ign-lessons"


def course_notebooks(folder=NOTEBOOKS):
    """The course's chapters, in order."""
    found = sorted(Path(folder).glob("[0-9][0-9]_*.ipynb"))
    if not found:
        raise FileNotFoundError(f"No course notebooks in {folder}; run this from a clone of the course.")
    return found


def _tags(cell):
    return set(cell.get("metadata", {}).get("tags", ()))


def _out_dir(out_dir):
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if any(out.resolve() == p.parent.resolve() for p in course_notebooks()):
        raise ValueError(f"{out} is the course's own notebooks folder; write hand-outs somewhere else.")
    return out


# --- hand-outs -------------------------------------------------------------------------------------

def handout(path):
    """One notebook as a student copy: solution cells removed (nbconvert's TagRemovePreprocessor),
    outputs cleared. Returns the notebook (nbformat)."""
    from nbconvert.exporters import NotebookExporter
    from nbconvert.preprocessors import ClearOutputPreprocessor, TagRemovePreprocessor
    exporter = NotebookExporter()
    exporter.register_preprocessor(TagRemovePreprocessor(remove_cell_tags={"solution"}, enabled=True), enabled=True)
    exporter.register_preprocessor(ClearOutputPreprocessor(enabled=True), enabled=True)
    body, _ = exporter.from_filename(str(path))
    return nbformat.reads(body, as_version=4)


def _write_each(convert, folder, notebooks):
    """Write convert(path) for each notebook (default: the whole course) into folder; returns the paths."""
    written = []
    for path in notebooks or course_notebooks():
        target = folder / Path(path).name
        nbformat.write(convert(path), target)
        written.append(target)
    return written


def write_handouts(out_dir, notebooks=None):
    """Write a student copy of each notebook (default: the whole course) into out_dir; returns the paths."""
    return _write_each(handout, _out_dir(out_dir), notebooks)


# --- grading ---------------------------------------------------------------------------------------

def _checker_name(source):
    found = re.search(r"checks\.(check_\w+)\(", source)
    return found.group(1) if found else None


def verdicts(nb):
    """{exercise: (status, message)} from an executed notebook, in the order of its checker cells.

    A checker's last verdict counts. A checker cell that failed before giving one (for example a
    NameError because the exercise cell itself failed) counts as wrong, with the error in one line."""
    found = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        expected = _checker_name(cell.source) if "checker" in _tags(cell) else None
        if expected:
            found.setdefault(expected, ("not attempted", "the check did not run"))
        seen = False
        for output in cell.get("outputs", []):
            verdict = output.get("data", {}).get(VERDICT_MIME)
            if verdict:
                found[verdict["exercise"]] = (verdict["status"], verdict["message"])
                seen = True
            elif output.get("output_type") == "error" and expected and not seen:
                found[expected] = ("wrong", f"the check could not run: {output['ename']}: {output['evalue']}"[:300])
    return found


def run_notebook(path, timeout=900):
    """Execute a notebook in fast mode (its kernel gets IGN_LESSONS_FAST=1), going on after errors; returns
    the executed notebook."""
    from nbclient import NotebookClient
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name=KERNEL, allow_errors=True,
                   resources={"metadata": {"path": str(Path(path).resolve().parent)}}
                   ).execute(env={**os.environ, "IGN_LESSONS_FAST": "1"})
    return nb


def feedback(path, results):
    """A short feedback text for one student notebook."""
    passed = sum(status == "passed" for status, _ in results.values())
    lines = [f"{path}: {passed} of {len(results)} exercises passed"]
    for exercise, (status, message) in results.items():
        lines.append(f"- {exercise}: {status}" + ("" if status == "passed" else f": {message}"))
    return "\n".join(lines) + "\n"


def _graded(path):
    try:
        executed = run_notebook(path)
    except (nbformat.reader.NotJSONError, nbformat.ValidationError, ValueError, KeyError, UnicodeDecodeError) as error:
        return {"(the notebook)": ("unreadable", f"{path} is not a notebook that can be read ({type(error).__name__}: "
                                                 f"{str(error)[:120]}); ask for the .ipynb file again (in JupyterLab: "
                                                 "File > Download); the other notebooks were graded.")}
    results = verdicts(executed)
    return results or {"(no exercises)": ("wrong", "no checker cell found: is this a notebook of the course?")}


def grade(paths, out_dir="build/grades", jobs=None):
    """Run and grade student notebooks, `jobs` at a time (default: one per core); writes grades.csv and one
    feedback file per notebook into out_dir. Returns {path: {exercise: (status, message)}}, in the order given."""
    missing = [str(p) for p in paths if not Path(p).is_file()]
    if missing:
        raise FileNotFoundError(f"{', '.join(missing)}: not a notebook file; nothing was graded.")
    out = _out_dir(out_dir)
    with concurrent.futures.ThreadPoolExecutor(jobs or os.cpu_count() or 1) as pool:
        table = dict(zip(map(str, paths), pool.map(_graded, paths)))
    for path, results in table.items():
        path = Path(path)
        name = re.sub(r"[^\w.-]+", "__", str(path.with_suffix("")).strip("./")) + ".feedback.txt"
        (out / name).write_text(feedback(path, results))
    with open(out / "grades.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["notebook", "exercise", "status", "message"])
        for path, results in table.items():
            for exercise, (status, message) in results.items():
                writer.writerow([path, exercise, status, message])
    return table


# --- nbgrader ----------------------------------------------------------------------------------------

def _nbgrader(cell, grade_id, solution=False, points=None):
    meta = {"grade": points is not None, "grade_id": grade_id, "locked": not solution, "schema_version": 3,
            "solution": solution, "task": False}
    if points is not None:
        meta["points"] = points
    cell.metadata["nbgrader"] = meta
    return cell


def _answer_source(stub, solutions):
    """The exercise cell for nbgrader: the stub's signature, the worked solution's body inside
    nbgrader's solution region, and the solution cell's imports above it."""
    name = re.search(r"def (\w+)\(", stub).group(1)
    for source in solutions:
        tree = ast.parse(source)
        defs = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name]
        if defs:
            imports = [ast.get_source_segment(source, n) for n in tree.body
                       if isinstance(n, (ast.Import, ast.ImportFrom))]
            body = source.splitlines()[defs[0].body[0].lineno - 1: defs[0].end_lineno]
            header = [line for line in stub.split("raise NotImplementedError")[0].splitlines() if line.strip()]
            return "\n".join([*imports, *(["", ""] if imports else []), *header, "    ### BEGIN SOLUTION", *body,
                              "    ### END SOLUTION"])
    raise ValueError(f"no worked solution defines {name}()")


def nbgrader_source(path):
    """One notebook as an nbgrader source notebook: exercise cells become answer cells with the worked
    solution in a solution region, checker cells become graded test cells (1 point each), and the
    solution cells go (their code now lives in the solution regions)."""
    nb = nbformat.read(path, as_version=4)
    solutions = [c.source for c in nb.cells if "solution" in _tags(c) and c.cell_type == "code"]
    cells = []
    for cell in nb.cells:
        tags = _tags(cell)
        if "solution" in tags:
            continue
        if "exercise" in tags:
            name = re.search(r"def (\w+)\(", cell.source).group(1)
            cell.source = _answer_source(cell.source, solutions)
            cells.append(_nbgrader(cell, f"answer-{name}", solution=True))
        elif "checker" in tags:
            call = re.search(r"checks\.check_\w+\([^()]*\)", cell.source).group(0)
            imports = [line for line in cell.source.splitlines() if line.startswith("from ign_lessons.exercises")]
            cell.source = "\n".join([*imports, f"assert {call}"])
            cells.append(_nbgrader(cell, f"test-{_checker_name(call)}", points=1))
        else:
            cells.append(cell)
    nb.cells = cells
    return nb


def write_nbgrader(out_dir, notebooks=None, assignment="ign-lessons"):
    """Write the course as an nbgrader course folder: OUT_DIR/source/<assignment>/*.ipynb."""
    folder = _out_dir(out_dir) / "source" / assignment
    folder.mkdir(parents=True, exist_ok=True)
    return _write_each(nbgrader_source, folder, notebooks)
