"""`python3 course.py explore`: the idempotence lab alone as a web page, served by Voila, in headless
Chromium. The page must show the lab's widgets and figure (no code), and Step must change the figure.
The screenshot goes to build/browser/explore.png."""
import importlib.util
import os
import subprocess

import pytest
from conftest import CANVAS, OFFLINE_NOISE, ROOT, _free_port, settled_canvas, wait_for_server

SHOTS = ROOT / "build" / "browser"


def _course():
    spec = importlib.util.spec_from_file_location("course", ROOT / "course.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def voila_server(browser, tmp_path):
    """The command `course.py explore` runs, on a free localhost port, without opening a browser."""
    pytest.importorskip("voila")
    port = _free_port()
    command = _course().explore_command([f"--port={port}", "--no-browser"])
    log_path = tmp_path / "voila.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                  env=dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime")))
        url = f"http://127.0.0.1:{port}"
        wait_for_server(server, url, "", log_path, path="/voila/static/voila.js")
        yield url
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()


def test_explore_serves_the_lab_as_a_web_page(browser, voila_server):
    context = browser.new_context(viewport={"width": 1400, "height": 1100})
    page = context.new_page()
    errors = []
    page.on("console", lambda m: m.type == "error" and not any(n in m.text for n in OFFLINE_NOISE)
            and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
    page.goto(voila_server, timeout=180000)
    page.wait_for_selector(CANVAS, timeout=180000)
    page.wait_for_function("() => document.body.innerText.includes('step 5000')", timeout=60000)
    text = page.inner_text("body")
    assert "Error displaying widget" not in text and "Traceback" not in text, text[:2000]
    assert "lab.Lab(" not in text, "the page shows code; explore hides it"
    before = settled_canvas(page)
    page.locator(".jupyter-widgets button:has-text('Step')").first.click()
    page.wait_for_function("() => document.body.innerText.includes('step 5001')", timeout=30000)
    page.wait_for_function(f"b => document.querySelector('{CANVAS}').toDataURL() !== b", arg=before, timeout=30000)
    settled_canvas(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "explore.png"), full_page=True)
    context.close()
    assert not errors, f"errors in the browser console: {errors}"
