"""What a learner sees first: `python3 course.py lab` opens 00_welcome with the course's kernel, the
only kernel on offer, and no pop-up. Checked in headless Chromium; the screenshot goes to build/browser/."""
import os
import secrets
import subprocess
import sys
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "build" / "browser"


def test_lab_opens_the_course_at_the_welcome_with_one_kernel_and_no_pop_up(browser, tmp_path):
    from conftest import _free_port, wait_for_server
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ, JUPYTERLAB_SETTINGS_DIR=str(tmp_path / "settings"),  # a new user: no settings yet
               JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"), JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))
    log = tmp_path / "lab.log"
    with open(log, "w") as out:
        server = subprocess.Popen([sys.executable, str(ROOT / "course.py"), "lab", "--no-browser", f"--port={port}",
                                   "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}"],
                                  cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_server(server, url, token, log)
        assert "/lab/tree/00_welcome.ipynb" in log.read_text(), "the printed address does not open the welcome"
        import json
        specs = json.load(urllib.request.urlopen(f"{url}/api/kernelspecs?token={token}"))
        assert list(specs["kernelspecs"]) == ["ign-lessons"] and specs["default"] == "ign-lessons"

        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(f"{url}/?token={token}")
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60000)
        page.wait_for_selector(".jp-KernelStatus, .jp-Notebook-ExecutionIndicator", timeout=30000)
        page.wait_for_function("() => [...document.querySelectorAll('.jp-Toolbar-kernelName, .jp-KernelName')]"
                               ".some(e => e.textContent.includes('ign-lessons'))", timeout=30000)
        page.wait_for_timeout(3000)  # time for any pop-up to appear
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "first-screen.png"))
        tab = page.locator(".lm-DockPanel .lm-TabBar-tab.jp-mod-current .lm-TabBar-tabLabel").first.inner_text()
        assert tab == "00_welcome.ipynb"
        assert page.locator(".jp-Dialog").count() == 0, "a dialog opened (kernel choice?)"
        assert page.locator(".jp-toast-message, .Toastify__toast").count() == 0, "a notification popped up"
        assert "From GAN to IGN" in page.inner_text(".jp-Notebook") or "Welcome" in page.inner_text(".jp-Notebook")
        page.close()
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
