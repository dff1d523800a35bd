#!/usr/bin/env python3
"""The course's entry point. Needs only Python 3.10+; creates `.venv/` on first use.

    python3 course.py lab        set up, then open the notebooks in JupyterLab (prints the URL)
    python3 course.py test       set up, then run every test (lint, unit tests, all notebooks in fast mode)
    python3 course.py explore    set up, then open the idempotence lab alone as a web page (Voila)
    python3 course.py html       set up, then write the offline course book to build/html/ (every chapter executed)
    python3 course.py setup      only set up (virtual environment, package, Jupyter kernel)
    python3 course.py retrain    rerun every study: regenerates the shipped checkpoints and results in data/ (--list)
    python3 course.py study NAME [--fast] [--force] [--jobs N] [--device cuda] [--run KEY] [--scheduler tcp://host:port]
                                 run a named study (e.g. compare-2d) over seeds, resuming; --list lists them
    python3 course.py benchmark  time the training steps of every model, as ratios in one run
    python3 course.py robustness [CHAPTER ...] [--offsets 1 2 3]
                                 run the notebooks under other seeds (IGN_LESSONS_SEED; ~8 min; not in test)
    python3 course.py mutate     mutation testing of the core and more (mutmut, about an hour; not in test)
    python3 course.py handout OUT_DIR        student copies of the notebooks, without solutions
    python3 course.py grade NOTEBOOK...      run students' notebooks; report, CSV and feedback per exercise
    python3 course.py nbgrader OUT_DIR       the course as an nbgrader source folder

Options: `lab --no-browser` for headless machines; `html --fast` for a quick render;
`test -- <pytest args>` passes arguments on to pytest.
"""
import difflib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".ign-lessons-installed"
KERNEL = "ign-lessons"


def run(*cmd, env=None):
    print("+", " ".join(str(c) for c in cmd), flush=True)
    result = subprocess.run([str(c) for c in cmd], cwd=ROOT, env=env)
    if result.returncode:
        sys.exit(result.returncode)


def works(python, code):
    return subprocess.run([str(python), "-c", code], capture_output=True).returncode == 0


def pins(skip=()):
    lines = (ROOT / "constraints.txt").read_text().splitlines()
    return [line for line in lines if line and not line.startswith("#") and line.split("==")[0] not in skip]


def setup():
    """Create .venv, install torch (only if none works), the package and its test tools, the kernel."""
    if sys.version_info < (3, 10):  # noqa: UP036 (course.py runs under whatever python3 the user has)
        sys.exit(f"The course needs Python 3.10 or newer; this is {sys.version.split()[0]}.")
    wanted = hashlib.sha256(
        (ROOT / "pyproject.toml").read_bytes() + (ROOT / "constraints.txt").read_bytes()
    ).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted and works(PY, "import ign_lessons, torch"):
        return
    if not PY.exists():
        reuse = works(sys.executable, "import torch; torch.zeros(1)")
        print(f"Creating {VENV}" + (" (reusing the torch already installed)" if reuse else ""))
        venv.create(VENV, with_pip=True, system_site_packages=reuse)
    has_torch = works(PY, "import torch; torch.zeros(1)")
    if not has_torch:
        torch_pin = [p for p in pins() if p.startswith("torch==")]
        extra = ["--index-url", os.environ["TORCH_INDEX_URL"]] if os.environ.get("TORCH_INDEX_URL") else []
        run(PY, "-m", "pip", "install", *torch_pin, *extra)
    constraints = VENV / "constraints.txt"
    constraints.write_text("\n".join(pins(skip=("torch",))) + "\n")
    run(PY, "-m", "pip", "install", "--disable-pip-version-check", "-c", constraints, "-e", ".[test]")
    run(PY, "-m", "ipykernel", "install", "--sys-prefix", "--name", KERNEL,
        "--display-name", "Python (ign-lessons)")
    STAMP.write_text(wanted)


# What the clean filter removes from a notebook before git compares or stores it: outputs, execution counts,
# and the metadata that JupyterLab fills in from the kernel (language_info) or from widgets.
def notebook_filter(python=PY):
    """The git settings of the nbstripout filter, run by `python`."""
    return {"filter.nbstripout.clean": f'"{python}" -m nbstripout --keep-id',
            "filter.nbstripout.smudge": "cat",
            "filter.nbstripout.extrakeys": "metadata.language_info metadata.widgets",
            "diff.ipynb.textconv": f'"{python}" -m nbstripout --keep-id -t'}


def clean_notebooks_in_git(folder=ROOT, python=PY):
    """In a git checkout, set the nbstripout filter that .gitattributes names: running a notebook in JupyterLab
    rewrites its outputs and metadata, and without the filter `git status` would call it changed."""
    if not (Path(folder) / ".git").exists() or not shutil.which("git"):
        return
    for key, value in notebook_filter(python).items():
        subprocess.run(["git", "config", "--local", key, value], cwd=folder, check=False)


# JupyterLab as the course wants it: no news or update pop-ups (the course runs offline), and none of
# nbgrader's panels (it is installed for teachers' exports; learners do not need its menus).
LAB_SETTINGS = {"@jupyterlab/apputils-extension:notification": {"checkForUpdates": False, "fetchNews": "false"}}
LAB_PAGE_CONFIG = {"disabledExtensions": {"@jupyter/nbgrader": True}}
NBGRADER_SERVER = ("formgrader", "assignment_list", "course_list", "validate_assignment")


def lab_command(args):
    """The command that opens the course: JupyterLab on notebooks/, at 00_welcome, with the course's
    kernel as the only choice and no pop-ups."""
    settings = VENV / "share" / "jupyter" / "lab" / "settings"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "overrides.json").write_text(json.dumps(LAB_SETTINGS, indent=2) + "\n")
    (settings / "page_config.json").write_text(json.dumps(LAB_PAGE_CONFIG, indent=2) + "\n")
    quiet = [f"--ServerApp.jpserver_extensions=nbgrader.server_extensions.{name}=False" for name in NBGRADER_SERVER]
    extra = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    return [str(PY), "-m", "jupyter", "lab", f"--ServerApp.root_dir={ROOT / 'notebooks'}",
            f"--KernelSpecManager.allowed_kernelspecs={KERNEL}", f"--MappingKernelManager.default_kernel_name={KERNEL}",
            "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.default_url=/lab/tree/00_welcome.ipynb", *quiet, *extra, *args]


def lab(args):
    command = lab_command(args)
    os.execv(command[0], command)


def explore_command(args):
    """The command that serves the idempotence lab alone as a web page: Voila, code cells hidden, on
    localhost, offline (the page's template drops Voila's links to a CDN). A page's kernel ends when the page
    closes (Voila's shutdown on leaving the page) and, should that message be lost, once it has been idle with
    no page attached for two minutes (the kernel manager's culling). Saved models land in saved_models/."""
    folder = ROOT / "build" / "explore"
    app = folder / "idempotence_lab.ipynb"
    run(PY, "-m", "ign_lessons", "explore-page", str(app), "--kernel", KERNEL)
    # only the widget extensions: JupyterLab's other extensions (nbgrader's, the notebook's) cannot load in Voila
    unused = "['@jupyter/nbgrader', '@jupyter-notebook/lab-extension', '@voila-dashboards/jupyterlab-preview']"
    # Voila ends a page's kernel when the page closes (a beacon to /voila/api/shutdown/KERNEL), but refuses that
    # POST without an _xsrf cookie, which its page never sets: the check is off (the server listens on
    # 127.0.0.1 only, and that URL needs the kernel's random id). Culling ends a kernel left without a page.
    cull = ["--Voila.tornado_settings=disable_check_xsrf=True", "--MappingKernelManager.cull_idle_timeout=120",
            "--MappingKernelManager.cull_interval=30", "--MappingKernelManager.cull_connected=False"]
    env = shutil.which("env") or "/usr/bin/env"
    return [env, f"JUPYTER_PATH={folder / 'jupyter'}", str(PY), "-m", "voila", str(app), "--Voila.ip=127.0.0.1",
            "--strip_sources=True", "--theme=light", "--template=ign-lab",
            f"--VoilaConfiguration.extension_denylist={unused}", *cull, *args]


def explore(args):
    command = explore_command(args)
    os.execv(command[0], command)


def test(args):
    """ruff, then pytest over tests/ and every notebook in fast mode: the test files shared out to one process per
    core (at most 4; each file, so each notebook, stays whole in one process), torch on one thread in each."""
    env = dict(os.environ, IGN_LESSONS_FAST="1", MPLBACKEND="Agg", OMP_NUM_THREADS="1")
    workers = str(max(1, min(4, os.cpu_count() or 1)))
    run(PY, "-m", "ruff", "check", ".")
    run(PY, "-m", "pytest", "tests", "notebooks", "--nbval-lax", "--nbval-current-env", "-n", workers,
        "--dist", "loadfile", "--no-loadscope-reorder", "--durations=10", *args, env=env)


def mutate(args):
    """mutmut over the core (pyproject.toml's [tool.mutmut]): one thread per test process, fast mode; then the
    survivors. Starts afresh each time (mutmut keeps old verdicts when only the tests changed); mutants/ is
    git-ignored and stays for `mutmut show NAME`."""
    shutil.rmtree(ROOT / "mutants", ignore_errors=True)
    env = dict(os.environ, IGN_LESSONS_FAST="1", MPLBACKEND="Agg", OMP_NUM_THREADS="1")
    run(PY, "-m", "mutmut", "run", "--max-children", str(os.cpu_count() or 2), *args, env=env)
    run(PY, "-m", "mutmut", "results", env=env)


def robustness(args):
    """Every chapter in fast and in full mode under seed offsets 1-3 (ign_lessons/robustness.py)."""
    run(PY, "-m", "ign_lessons.robustness", *args)


def html(args):
    """The offline course book (ign_lessons/book.py): `html [--fast] [--out DIR] [CHAPTER ...]`."""
    run(PY, "-m", "ign_lessons.book", *args)


COMMANDS = ("setup", "lab", "explore", "test", "html", "retrain", "study", "benchmark", "handout", "grade", "nbgrader",
            "mutate", "robustness")


def main(argv):
    command, args = (argv[0], argv[1:]) if argv else ("help", [])
    if args[:1] == ["--"]:
        args = args[1:]
    if command in ("-h", "--help", "help"):
        print(__doc__)
        return 0
    if command not in COMMANDS:
        close = difflib.get_close_matches(command, COMMANDS, n=1)
        print(__doc__)
        print(f"course.py: unknown command {command!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
              + f"; commands: {', '.join(COMMANDS)}.", file=sys.stderr)
        return 2
    if command == "setup" and args:
        print(f"course.py setup takes no arguments, got {' '.join(args)}.", file=sys.stderr)
        return 2
    setup()
    clean_notebooks_in_git()
    if command == "lab":
        lab(args)
    elif command == "explore":
        explore(args)
    elif command == "test":
        test(args)
    elif command == "html":
        html(args)
    elif command == "mutate":
        mutate(args)
    elif command == "robustness":
        robustness(args)
    elif command in ("retrain", "study", "benchmark", "handout", "grade", "nbgrader"):
        run(PY, "-m", "ign_lessons", command, *args)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
