"""`python3 course.py explore`: the idempotence lab alone as a web page, served by Voila, in headless
Chromium at 1024 x 768. The page must explain itself and each view, list the five experiments, show the lab
(no code), answer Step, keep an experiment's instructions while it trains, request nothing from the network,
and end its kernel when the page closes. Screenshots go to build/browser/explore*.png."""
import importlib.util
import os
import subprocess
import time

import pytest
from conftest import OFFLINE_NOISE, ROOT, _free_port, wait_for_server

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
        yield url, server
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()


def _kernels(server):
    """The kernel processes the Voila server started (its children running ipykernel)."""
    import psutil
    running = []
    for p in psutil.Process(server.pid).children(recursive=True):
        try:
            if p.status() != psutil.STATUS_ZOMBIE and "ipykernel" in " ".join(p.cmdline()):
                running.append(p)
        except psutil.Error:  # it ended while we looked
            pass
    return running


def test_explore_serves_the_lab_as_a_web_page(browser, voila_server):
    url, server = voila_server
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    page = context.new_page()
    errors, requests = [], []
    page.on("console", lambda m: m.type == "error" and not any(n in m.text for n in OFFLINE_NOISE)
            and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(url, timeout=180000)
    page.wait_for_selector(".ign-lab", timeout=180000)
    page.wait_for_function("() => +document.querySelector('.ign-lab').dataset.frames > 0", timeout=60000)
    page.wait_for_function("() => document.body.innerText.includes('step 5000')", timeout=60000)
    text = page.inner_text("body")
    assert "Error displaying widget" not in text and "Traceback" not in text, text[:2000]
    assert "lab.Lab(" not in text, "the page shows code; explore hides it"
    # for someone who never opened a notebook: what IGN is, how to use the page, the five experiments
    for words in ("Idempotent Generative Network", "Five guided experiments", "move the `n` slider to 5"
                  .replace("`", ""), "What to look at", "Where each loss trains", "A good run"):
        assert words in text, f"the page does not say {words!r}"
    assert page.locator(".ign-lab .ign-explain").first.is_visible(), "each view's explanation should show"
    page.locator(".ign-lab button:text-is('Step')").click()
    page.wait_for_function("() => document.querySelector('.ign-lab').dataset.step === '5001'", timeout=30000)
    # an experiment: its instructions stay shown while it trains
    page.locator(".ign-lab select").filter(has_text="1. apply f again").first.select_option("4. standard source")
    page.locator(".ign-lab button:text-is('Set up')").click()
    page.wait_for_function("() => document.querySelector('.ign-lab .ign-experiment').innerText.includes('Expect')",
                           timeout=30000)
    page.wait_for_function("() => +document.querySelector('.ign-lab').dataset.step < 5000", timeout=30000)
    page.wait_for_function("() => +document.querySelector('.ign-lab').dataset.step > 30", timeout=60000)
    assert "Expect:" in page.inner_text(".ign-lab .ign-experiment")
    page.locator(".ign-lab button:text-is('❚❚ Pause')").click()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "explore.png"))
    page.screenshot(path=str(SHOTS / "explore-full.png"), full_page=True)
    outside = [r for r in requests if not r.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:"))]
    assert not outside, f"the page requested the network: {outside}"
    assert not errors, f"errors in the browser console: {errors}"
    # closing the page ends its kernel
    assert len(_kernels(server)) == 1
    page.close(run_before_unload=True)
    deadline = time.time() + 20
    while _kernels(server) and time.time() < deadline:
        time.sleep(0.3)
    context.close()
    assert not _kernels(server), "the page's kernel still runs after the page closed"
