"""A wheel holds every subpackage; an installed copy finds the course's data or says where it looked."""
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation",
                    "--no-index", "-q", "-w", str(out)], check=True, capture_output=True)
    return next(out.glob("ign_lessons-*.whl"))


def test_the_wheel_holds_every_subpackage(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    packages = sorted(p.parent.relative_to(ROOT).as_posix() for p in (ROOT / "ign_lessons").rglob("__init__.py"))
    assert {"ign_lessons", "ign_lessons/studies", "ign_lessons/exercises"} <= set(packages)
    for package in packages:
        assert f"{package}/__init__.py" in names, f"{package} is missing from the wheel"
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "ign_lessons").rglob("*.py")}
    assert modules <= names
    assert "ign_lessons/course.mplstyle" in names, "the figure style is missing from the wheel"
    assert {"ign_lessons/lab/lab.js", "ign_lessons/lab/lab.css"} <= names, "the lab's front end is missing"


def _installed(wheel, tmp_path, cwd, code, **env):
    target = tmp_path / "site"
    if not target.exists():
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(target)
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True,
                          env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin", **env})


def test_an_installed_copy_finds_the_data_beside_the_notebooks_or_says_where_it_looked(wheel, tmp_path):
    code = "from ign_lessons import data, runtime; print(runtime.data_folder()); print(len(data.digits()[1]))"
    found = _installed(wheel, tmp_path, ROOT / "notebooks", code)
    assert found.returncode == 0, found.stderr
    assert found.stdout.split() == [str(ROOT / "data"), "1797"]
    lost = _installed(wheel, tmp_path, tmp_path, code)
    assert lost.returncode != 0 and "IGN_LESSONS_DATA" in lost.stderr and str(tmp_path / "data") in lost.stderr
    pointed = _installed(wheel, tmp_path, tmp_path, code, IGN_LESSONS_DATA=str(ROOT / "data"))
    assert pointed.returncode == 0 and pointed.stdout.split()[0] == str(ROOT / "data")
