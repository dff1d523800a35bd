"""The idempotence lab in a real browser: JupyterLab in headless Chromium runs 08_idempotence_lab,
then the test presses Step, moves the n slider, plays and pauses, probes a point, switches to the
GAN, and checks that the widgets rendered, that the figure changed, and that the console is clean.
Screenshots go to build/browser/."""
import time
from pathlib import Path

from conftest import CANVAS, assert_not_blank, canvas_image, settled_canvas

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "build" / "browser"


def _wait_for_change(page, before, timeout=10.0):
    """Seconds until the canvas shows another image than `before`."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if canvas_image(page) != before:
            return time.perf_counter() - start
        page.wait_for_timeout(20)
    raise AssertionError(f"the figure did not change within {timeout} s")


def _button(page, text):
    return page.locator(f".jupyter-widgets button:has-text('{text}')").first


def _shot(page, name, playing=False):
    """A screenshot of the lab once its figure has settled (while it plays: as it is); never a blank one."""
    if playing:
        assert_not_blank(page)
    else:
        settled_canvas(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.locator(".jupyter-widgets.widget-vbox").first.screenshot(path=str(path))
    return path


def _status(page):
    return page.locator(".jupyter-widgets.widget-vbox .widget-html-content").nth(1).inner_text()



def _saving_leaves_git_clean(page, root):
    """JupyterLab saves the run notebook (outputs, execution counts, the kernel's language_info) and git,
    through the course's nbstripout filter, sees no change: `git diff` is empty and `git add` stages nothing
    (until then `git status` may list the file, because its size changed)."""
    import shutil
    import subprocess
    if not shutil.which("git"):
        return
    path = root / "08_idempotence_lab.ipynb"
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    deadline = time.time() + 20
    while '"execution_count": 1' not in path.read_text() and time.time() < deadline:
        page.wait_for_timeout(200)
    saved = path.read_text()
    assert '"execution_count": 1' in saved and '"image/png"' in saved, "JupyterLab did not save the run notebook"
    git = lambda *args: subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
    assert git("diff", "--quiet").returncode == 0, f"git diff shows a change: {git('diff', '--stat').stdout}"
    git("add", "-A")  # stages nothing: the filter strips what JupyterLab added (and refreshes git's file sizes)
    assert git("status", "--porcelain").stdout == "", f"git sees a change: {git('status', '--porcelain').stdout}"


def test_the_lab_runs_in_jupyterlab(lab_page):
    page, server = lab_page, lab_page.server
    page.goto(f"{server['url']}/lab/tree/08_idempotence_lab.ipynb?token={server['token']}")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60000)
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                           " && window.jupyterapp.shell.currentWidget.sessionContext"
                           " && window.jupyterapp.shell.currentWidget.sessionContext.session", timeout=60000)
    page.wait_for_function("() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel"
                           ".connectionStatus === 'connected'", timeout=60000)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")

    # every cell ran (no "[*]" left, the last prompt numbered) and the lab's canvas is on screen
    page.wait_for_selector(CANVAS, timeout=90000)
    page.wait_for_function("""() => {
        const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(p => p.textContent);
        return prompts.length && prompts.every(p => /\\[\\d+\\]/.test(p));
    }""", timeout=90000)
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    assert page.locator(".jp-RenderedText:has-text('Traceback')").count() == 0, "a cell raised"
    page.locator(CANVAS).first.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    text = page.inner_text(".jp-Notebook")
    assert "Error displaying widget" not in text and "Loading widget" not in text, text[:2000]
    assert errors.count() == 0, [errors.nth(i).inner_text() for i in range(errors.count())]
    first = _shot(page, "1-loaded")

    # Step: from the click to the changed figure in under a second
    before = canvas_image(page)
    _button(page, "Step").click()
    step_seconds = _wait_for_change(page, before)
    page.wait_for_timeout(300)
    _shot(page, "2-after-step")
    assert step_seconds < 1.0, f"Step took {step_seconds:.2f} s to change the figure"

    # the n slider: the paths f^n(z) get longer
    before = canvas_image(page)
    handle = page.locator(".jupyter-widgets .widget-slider .noUi-handle").first
    handle.click()
    for _ in range(3):
        handle.press("ArrowRight")
    _wait_for_change(page, before)
    page.wait_for_timeout(300)
    _shot(page, "3-n-slider")

    # probe a point by clicking on the energy heatmap (top right panel)
    box = page.locator(".jupyter-matplotlib-canvas-div").first.bounding_box()
    before = canvas_image(page)
    page.mouse.click(box["x"] + box["width"] * 0.82, box["y"] + box["height"] * 0.22)
    _wait_for_change(page, before)
    page.wait_for_function("() => document.querySelector('.jp-Notebook').innerText.includes('probe (')",
                           timeout=10000)
    page.wait_for_timeout(300)
    _shot(page, "4-probe")

    # Play, then Pause: the figure keeps changing while it plays, and Pause answers
    _button(page, "Play").click()
    page.wait_for_function("() => document.querySelector('.jp-Notebook').innerText.includes('playing')",
                           timeout=10000)
    page.wait_for_timeout(1500)
    playing_a = canvas_image(page)
    page.wait_for_timeout(1000)
    playing_b = canvas_image(page)
    _shot(page, "5-playing", playing=True)
    assert playing_a != playing_b, "the figure did not change while playing"
    clicked = time.perf_counter()
    _button(page, "Pause").click()
    page.wait_for_function("() => document.querySelector('.jp-Notebook').innerText.includes('paused')",
                           timeout=5000)
    pause_seconds = time.perf_counter() - clicked
    page.wait_for_timeout(700)
    still = canvas_image(page)
    page.wait_for_timeout(700)
    assert canvas_image(page) == still, "the figure still changes after Pause"

    # the GAN's views: choose the model, take D and G steps
    page.locator(".jupyter-widgets .widget-dropdown:has(label:text-is('model')) select").select_option("GAN")
    page.wait_for_function("() => document.querySelector('.jp-Notebook').innerText.includes('GAN on ring')",
                           timeout=10000)
    for name in ("D step", "G step", "Step"):
        before = canvas_image(page)
        _button(page, name).click()
        _wait_for_change(page, before)
    page.wait_for_timeout(300)
    last = _shot(page, "6-gan")

    assert first.exists() and last.exists()
    assert not page.console_errors, f"errors in the browser console: {page.console_errors}"
    _saving_leaves_git_clean(page, server["root"])
    print(f"Step -> changed figure: {step_seconds:.2f} s; Pause answered in {pause_seconds:.2f} s; "
          f"screenshots in {SHOTS}")
