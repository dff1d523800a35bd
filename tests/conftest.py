"""Shared fixtures. The browser ones (a JupyterLab server and a Playwright page in headless Chromium)
are built once per test session and reused by every browser test (tests/test_*_browser.py)."""
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("IGN_LESSONS_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
# Console messages that only say the page could not reach the internet (this course runs offline).
OFFLINE_NOISE = ("Failed to load resource", "net::ERR_", "fetch news", "ERR_NAME_NOT_RESOLVED",
                 "ERR_INTERNET_DISCONNECTED")


# The longest files, measured (wall seconds in `course.py test` on 2 cores), go first: the test command shares
# whole files out to its processes (pytest-xdist --dist loadfile, --no-loadscope-reorder), and a long file
# handed out last leaves the other process idle (it did: a 45 s browser test ran alone at the end).
LONGEST_FIRST = ("tests/test_every_study.py", "tests/test_lab_browser.py", "tests/test_study.py", "tests/test_mnist.py",
                 "tests/test_classroom.py", "tests/test_book_browser.py", "notebooks/09_ign_mnist.ipynb",
                 "tests/test_explore_browser.py", "notebooks/03_one_loss_gan.ipynb", "notebooks/02_gan_digits.ipynb",
                 "tests/test_first_screen_browser.py", "notebooks/04_ign_2d.ipynb")


def pytest_collection_modifyitems(items):
    rank = {path: i for i, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))  # stable: the rest keep their order


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_server(server, url, token, log, seconds=90, path="/api/status"):
    """Wait until a Jupyter (or Voila) server answers on url + path; fail with the end of its log if it
    dies or never does."""
    deadline = time.time() + seconds
    while True:
        try:
            urllib.request.urlopen(f"{url}{path}?token={token}", timeout=2)
            return
        except OSError:
            if server.poll() is not None or time.time() > deadline:
                server.kill()
                pytest.fail(f"the server did not start:\n{Path(log).read_text()[-3000:]}")
            time.sleep(0.3)


def _a_git_checkout_with_the_course_filter(folder):
    """Make `folder` a git checkout of itself, with the course's .gitattributes and the notebook filter that
    `course.py setup` sets, all committed; skipped without git."""
    if not shutil.which("git"):
        return
    sys.path.insert(0, str(ROOT))
    import course
    for name in (".gitattributes", ".gitignore"):
        shutil.copy(ROOT / name, folder / name)
    git = lambda *args: subprocess.run(["git", *args], cwd=folder, check=True, capture_output=True)
    git("init", "-q")
    course.clean_notebooks_in_git(folder, sys.executable)
    git("add", "-A")
    git("-c", "user.name=test", "-c", "user.email=test@localhost", "commit", "-qm", "the course")


@pytest.fixture(scope="session")
def jupyter_server(tmp_path_factory):
    """A JupyterLab server on a free localhost port with a random token, serving a copy of 08_idempotence_lab.

    News and update checks are off (no network), every cell is rendered (no windowing), and the app is
    exposed to the page as window.jupyterapp so that tests can run JupyterLab commands.
    Yields {"url", "token", "log"}."""
    pytest.importorskip("jupyterlab")
    home = tmp_path_factory.mktemp("jupyter")
    settings = home / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"checkForUpdates": False, "fetchNews": "false"}))
    notebook = home / "settings" / "@jupyterlab" / "notebook-extension"
    notebook.mkdir(parents=True)  # render every cell, even off screen, so that tests can find them
    (notebook / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    # a copy of the notebook the browser tests open (08): JupyterLab autosaves what they run, and the course's
    # files must not change; only that one, since git passes each committed notebook through the filter (~1 s)
    served = home / "notebooks"
    served.mkdir()
    shutil.copy(ROOT / "notebooks" / "08_idempotence_lab.ipynb", served)
    _a_git_checkout_with_the_course_filter(served)
    port, token = _free_port(), secrets.token_hex(16)
    log = open(home / "server.log", "w")  # noqa: SIM115 (open for the server's whole life)
    env = dict(os.environ, JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"), JUPYTER_RUNTIME_DIR=str(home / "runtime"))
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={served}",
         "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         "--LabApp.expose_app_in_browser=True", "--ServerApp.allow_root=True"],
        cwd=served, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_for_server(server, url, token, home / "server.log")
    yield {"url": url, "token": token, "log": home / "server.log", "root": served}
    server.terminate()
    try:
        server.wait(10)
    except subprocess.TimeoutExpired:
        server.kill()
    log.close()


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium driven by Playwright; skipped, with the reason, where either is missing
    (failed instead when IGN_LESSONS_REQUIRE_BROWSER=1, as .ci/run sets it: CI must run the browser tests)."""
    if not CHROMIUM:
        reason = "no Chromium on this machine (Debian: apt-get install chromium); .ci/run installs it"
        if os.environ.get("IGN_LESSONS_REQUIRE_BROWSER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def lab_page(browser, jupyter_server):
    """A fresh page of the JupyterLab server; `page.console_errors` collects the console's errors
    (minus OFFLINE_NOISE) and the page's uncaught exceptions."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda m: m.type == "error" and not any(n in m.text for n in OFFLINE_NOISE)
            and page.console_errors.append(m.text))
    page.on("pageerror", lambda e: page.console_errors.append(f"uncaught: {e}"))
    page.server = jupyter_server
    yield page
    context.close()


@pytest.fixture(scope="session")
def cluster():
    """A Dask LocalCluster of 2 worker processes, one thread each, on localhost (one per test process)."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address="127.0.0.1:0",
                                  scheduler_kwargs={"dashboard": False}) as made:  # no dashboard, any free port
        yield made
