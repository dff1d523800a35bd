"""The repository's own promises: clean notebooks, matching environment files, a true README."""
import json
import re
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_notebooks_are_committed_without_outputs():
    assert NOTEBOOKS, "no notebooks found"
    for path in NOTEBOOKS:
        nb = json.loads(path.read_text())
        dirty = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"
                 and (c.get("outputs") or c.get("execution_count") is not None)]
        assert not dirty, f"{path.name}: cells {dirty} carry outputs; clear them before committing"


def test_every_notebook_starts_the_course_and_ends_with_exercises():
    for path in NOTEBOOKS:
        cells = json.loads(path.read_text())["cells"]
        code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
        assert "runtime.start(" in code[0], f"{path.name}: the first code cell must call runtime.start()"
        text = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
        assert "Exercise" in text, f"{path.name}: no exercises"


def _names(requirements):
    return {re.split(r"[<>=!~ ]", r, maxsplit=1)[0].strip().lower() for r in requirements}


def test_environment_yml_lists_the_same_packages_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = _names(project["dependencies"] + project["optional-dependencies"]["test"])
    text = (ROOT / "environment.yml").read_text().split("dependencies:", 1)[1]
    listed = _names(line.strip()[2:] for line in text.splitlines() if line.startswith("  - "))
    listed = {"torch" if n == "pytorch" else n for n in listed} - {"python"}
    assert listed == wanted


def test_constraints_pin_every_package_exactly():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = _names(project["dependencies"] + project["optional-dependencies"]["test"])
    pins = [line for line in (ROOT / "constraints.txt").read_text().splitlines() if line and not line.startswith("#")]
    assert all("==" in p for p in pins)
    assert _names(pins) == wanted


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    command = "python3 course.py test"
    assert command in readme
    assert command in (ROOT / ".ci" / "run").read_text()


def test_readme_maps_every_notebook():
    readme = (ROOT / "README.md").read_text()
    for path in NOTEBOOKS:
        assert path.name in readme, f"README does not list {path.name}"


def test_exercise_cells_carry_their_tags():
    """Tools (hand-outs, grading) find exercises by tag: each stub is followed by its checker, solutions come last."""
    for path in NOTEBOOKS:
        cells = json.loads(path.read_text())["cells"]
        tags = [tuple(c.get("metadata", {}).get("tags", ())) for c in cells]
        code = ["".join(c["source"]) for c in cells]
        exercises = [i for i, t in enumerate(tags) if "exercise" in t]
        checkers = [i for i, t in enumerate(tags) if "checker" in t]
        solutions = [i for i, t in enumerate(tags) if "solution" in t]
        assert exercises and solutions, f"{path.name}: no tagged exercises or solutions"
        assert [i + 1 for i in exercises] == checkers, f"{path.name}: each exercise cell needs its checker cell next"
        assert all("NotImplementedError" in code[i] for i in exercises), path.name
        assert all("checks.check_" in code[i] for i in checkers), path.name
        assert min(solutions) > max(checkers), f"{path.name}: solutions must come after every exercise"
        untagged_stubs = [i for i, (c, text) in enumerate(zip(cells, code))
                          if c["cell_type"] == "code" and "NotImplementedError" in text and i not in exercises]
        assert not untagged_stubs, f"{path.name}: stubs {untagged_stubs} are not tagged 'exercise'"


def test_figures_fit_a_projector():
    """Every figure a notebook makes is at most plots.MAX_WIDTH inches wide, written as a plain number."""
    from ign_lessons.plots import MAX_WIDTH
    for path in NOTEBOOKS:
        for cell in json.loads(path.read_text())["cells"]:
            for width in re.findall(r"figsize=\(([^,]+),", "".join(cell["source"])):
                message = f"{path.name}: figsize width {width!r}: write a number"
                assert re.fullmatch(r"\d+(\.\d+)?", width.strip()), message
                assert float(width) <= MAX_WIDTH, f"{path.name}: a figure {width} inches wide"


def test_the_test_command_schedules_files_that_exist():
    from conftest import LONGEST_FIRST
    missing = [path for path in LONGEST_FIRST if not (ROOT / path).is_file()]
    assert not missing, f"tests/conftest.py's LONGEST_FIRST names files that are gone: {missing}"
