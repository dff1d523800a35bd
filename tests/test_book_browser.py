"""`python3 course.py html`: the offline course book. Two chapters are rendered in fast mode and read in
headless Chromium with the network cut: equations typeset, figures loaded with their own alt text, the
links between pages working, and no request leaving the machine. Screenshots go to build/browser/."""
import json
from pathlib import Path

import pytest
from conftest import ROOT

from ign_lessons import book

SHOTS = ROOT / "build" / "browser"


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    out = tmp_path_factory.mktemp("book")
    book.build(ROOT / "notebooks", out, ["00", "05"], fast=True)
    return out


def test_the_chapters_print_no_warnings(pages):
    record = json.loads((pages / "book.json").read_text())
    assert {name: run["warnings"] for name, run in record.items() if run["warnings"]} == {}


def test_unknown_chapters_are_refused(tmp_path):
    with pytest.raises(SystemExit, match="unknown chapter"):
        book.build(ROOT / "notebooks", tmp_path, ["99"])


def test_the_book_reads_offline(browser, pages):
    context = browser.new_context(viewport={"width": 1300, "height": 1000})
    context.set_offline(True)
    outside, missing = [], []
    context.route(lambda url: not url.startswith("file:"), lambda route: (outside.append(route.request.url),
                                                                          route.abort()))
    page = context.new_page()
    page.on("requestfailed", lambda request: missing.append(request.url))
    page.goto((pages / "index.html").as_uri())
    assert page.locator("a[href='00_welcome.html']").count() == 1
    assert page.locator("a[href='01_gan_2d.html']").count() == 0, "a chapter not rendered is linked"
    assert "not rendered yet" in page.inner_text("body")
    page.screenshot(path=str(SHOTS / "book-index.png"))

    page.click("a[href='00_welcome.html']")
    page.wait_for_load_state()
    assert page.url.endswith("00_welcome.html")
    page.locator("nav.book-nav a:has-text('05_ign_is_a_gan')").first.click()  # "next" skips to what was rendered
    page.wait_for_load_state()
    assert page.url.endswith("05_ign_is_a_gan.html")

    page.wait_for_function("() => document.querySelectorAll('.MathJax_Display').length >= 3", timeout=60000)
    assert "$$" not in page.inner_text("body"), "an equation was left untypeset"
    images = page.evaluate("() => [...document.images].map(i => [i.complete && i.naturalWidth > 0, i.alt])")
    assert images and all(loaded for loaded, _ in images), "a figure did not load"
    assert all(alt.startswith("Figure (") for _, alt in images), images
    page.locator(".MathJax_Display").first.scroll_into_view_if_needed()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "book-05.png"))
    context.close()
    assert not outside, f"the book asked the network for {outside}"
    # MathJax probes for fonts the local copy does not have (it then uses its STIX web font)
    assert all("/mathjax/fonts/" in url or url == "about:blank" for url in missing), missing
    assert all(Path(p).stat().st_size > 0 for p in pages.glob("*.html"))
