"""The classroom path: verdicts instead of exceptions, hand-outs without solutions, grading both ways, nbgrader."""
import csv
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from ign_lessons.exercises import Verdict, Wrong, checker, classroom

ROOT = Path(__file__).resolve().parent.parent
WELCOME = ROOT / "notebooks" / "00_welcome.ipynb"


@checker
def check_square(answer):
    """A checker for tests: answer(x) must be x squared."""
    if answer(3) != 9:
        raise Wrong("square the number: multiply it by itself")


def test_a_checker_returns_a_verdict_and_never_raises(capsys):
    assert check_square(lambda x: x * x) == Verdict("check_square", "passed", "correct, well done.")
    wrong = check_square(lambda x: x + x)
    assert not wrong and wrong.status == "wrong" and wrong.message == "square the number: multiply it by itself"
    stub = check_square(lambda x: (_ for _ in ()).throw(NotImplementedError))
    assert not stub and stub.status == "not attempted"
    crashed = check_square(lambda x: x.nope)
    assert crashed.status == "wrong" and crashed.message.startswith("your code raised AttributeError")
    shown = capsys.readouterr().out.splitlines()
    assert len(shown) == 4 and shown[0].startswith("PASSED check_square") and "Traceback" not in "".join(shown)
    with pytest.raises(Wrong):
        check_square.strict(lambda x: x + x)


def test_a_hand_out_has_no_solutions_and_keeps_every_exercise(tmp_path):
    written = classroom.write_handouts(tmp_path)
    assert [p.name for p in written] == [p.name for p in classroom.course_notebooks()]
    for path in written:
        original = nbformat.read(ROOT / "notebooks" / path.name, as_version=4)
        copy = nbformat.read(path, as_version=4)
        tags = [set(c.metadata.get("tags", ())) for c in copy.cells]
        assert not any("solution" in t for t in tags), path.name
        count = lambda nb, tag: sum(tag in c.metadata.get("tags", ()) for c in nb.cells)
        assert count(copy, "exercise") == count(original, "exercise") > 0
        assert count(copy, "checker") == count(original, "checker")
        assert len(copy.cells) == len(original.cells) - count(original, "solution")
    with pytest.raises(ValueError, match="somewhere else"):
        classroom.write_handouts(ROOT / "notebooks")


def _grade(*paths, out):
    return subprocess.run([sys.executable, "-m", "ign_lessons", "grade", *map(str, paths), "--out", str(out)],
                          capture_output=True, text=True, cwd=ROOT)


def _rows(out):
    with open(out / "grades.csv") as handle:
        return [(Path(r["notebook"]).parent.name, r["exercise"], r["status"], r["message"])
                for r in csv.DictReader(handle)]


def test_grading_fails_a_blank_or_wrong_hand_out_and_passes_the_worked_solutions(tmp_path):
    blank, wrong = tmp_path / "blank", tmp_path / "wrong"
    classroom.write_handouts(blank, [WELCOME])
    nb = nbformat.read(blank / WELCOME.name, as_version=4)
    exercises = [c for c in nb.cells if "exercise" in c.metadata.get("tags", ())]
    exercises[0].source = "undefined_name\n\ndef class_means():\n    return None"   # the cell itself fails
    exercises[1].source = "import torch\n\ndef ring(n, seed):\n    return torch.zeros(n, 2)"
    wrong.mkdir()
    nbformat.write(nb, wrong / WELCOME.name)

    graded = _grade(blank / WELCOME.name, wrong / WELCOME.name, WELCOME, out=tmp_path / "grades")  # two at once
    assert graded.returncode == 1, graded.stderr  # not every exercise passed
    rows = _rows(tmp_path / "grades")
    want = [("blank", "not attempted")] * 2 + [("wrong", "wrong")] * 2 + [("notebooks", "passed")] * 2
    assert [(who, status) for who, _, status, _ in rows] == want, "the worked solutions pass, nothing else does"
    assert "NameError" in rows[2][3] and "centres" in rows[3][3]
    feedback = sorted((tmp_path / "grades").glob("*.feedback.txt"))
    assert len(feedback) == 3 and sum("0 of 2 exercises passed" in f.read_text() for f in feedback) == 2
    assert sum("2 of 2 exercises passed" in f.read_text() for f in feedback) == 1


def test_nbgrader_accepts_the_export(tmp_path):
    pytest.importorskip("nbgrader")
    written = classroom.write_nbgrader(tmp_path, [WELCOME])
    nb = nbformat.read(written[0], as_version=4)
    answers = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
    tests = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert len(answers) == len(tests) == 2 and all("### BEGIN SOLUTION" in c.source for c in answers)
    nbgrader = [sys.executable, "-m", "nbgrader"]
    validate = subprocess.run([*nbgrader, "validate", str(written[0])], capture_output=True, text=True, cwd=tmp_path)
    assert "Success! Your notebook passes all the tests." in validate.stdout, validate.stdout + validate.stderr
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    release = subprocess.run([*nbgrader, "generate_assignment", "ign-lessons", "--force"], capture_output=True,
                             text=True, cwd=tmp_path, env=env)  # nbgrader runs its database tool from PATH
    assert release.returncode == 0, release.stdout + release.stderr
    student = nbformat.read(tmp_path / "release" / "ign-lessons" / WELCOME.name, as_version=4)
    text = "".join(c.source for c in student.cells)
    assert "BEGIN SOLUTION" not in text and text.count("raise NotImplementedError") >= 2
