"""The course as an offline book: every chapter executed and written as HTML to build/html/.

Nothing in the book asks the network for anything: equations are typeset by a local copy of MathJax
(the one the jupyter-server-mathjax package ships for offline Jupyter), require.js, the widget
renderer and mermaid are left out (the live widgets need a kernel anyway; 08 shows a static copy),
every figure gets alt text (the heading and first sentence of the text it illustrates), each chapter
links to the previous and the next one, and the index lists every chapter with its goal and the
time it took to run.

    python3 course.py html [--fast] [--out DIR] [CHAPTER ...]      (CHAPTER: "03" or "03_one_loss_gan")

Like lab/ this module sits apart from the core; it imports nothing of the course but nbconvert.
"""
import argparse
import contextlib
import html
import json
import os
import re
import shutil
import sys
import time
from pathlib import Path

import jinja2
import mistune
import nbformat
from nbclient.exceptions import CellExecutionError
from nbconvert import HTMLExporter
from nbconvert.preprocessors import ExecutePreprocessor

from .checks import reject_unknown

KERNEL = "ign-lessons"
MATHJAX_CONFIG = "TeX-AMS-MML_HTMLorMML-full,Safe"
# The lab template without the parts that load from a CDN: require.js and the widget renderer (no live
# widgets in a book), mermaid (no diagrams in the course). MathJax is pointed at the local copy, whose only
# web font is STIX-Web (configured as Jupyter's classic notebook does).
TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{% block html_head_js_mathjax %}
<script type="text/x-mathjax-config">
MathJax.Hub.Config({"HTML-CSS": {availableFonts: [], webFont: "STIX-Web", imageFont: null, preferredFont: null}});
</script>
{{ super() }}
{% endblock html_head_js_mathjax %}
{% block html_head_js_requirejs %}{% endblock html_head_js_requirejs %}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
{% block html_head_js_mermaidjs %}{% endblock html_head_js_mermaidjs %}
"""
STYLE = """<style>
.book-nav { display: flex; justify-content: space-between; max-width: 1100px; margin: 0.8em auto;
            font: 15px sans-serif; }
.book-nav a { text-decoration: none; }
</style>"""


def chapters(folder):
    """The course's chapters in order: notebooks named NN_name.ipynb."""
    return sorted(Path(folder).glob("[0-9][0-9]_*.ipynb"))


def goal(notebook):
    """The chapter's title and its goal: the first heading and the '**Goal...**' sentence of its first cell."""
    text = "".join(notebook.cells[0].source) if notebook.cells else ""
    title = next((line.lstrip("# ").strip() for line in text.splitlines() if line.startswith("#")), "")
    found = re.search(r"\*\*Goal[^*]*\*\*\s*(.+?)(?:\n\n|\n- |$)", text, re.S)
    if not found:
        return title, ""
    sentences = re.split(r"(?<=[.!?])\s+", " ".join(found.group(1).split()))
    kept = [x for x in sentences[:2] if not x.endswith(":")]  # a sentence that opens a list goes with it
    return title, " ".join(kept or sentences[:1])


def _first_sentence(markdown):
    prose = "\n".join(line for line in markdown.splitlines() if not line.startswith("#"))
    words = " ".join(re.sub(r"[*`$>_]", "", prose).split())
    return words.split(". ")[0][:240]


def figure_descriptions(notebook):
    """One alt text per PNG output, in order: the heading of its section and the first sentence of the
    text just before the cell that drew it."""
    heading, before, alts = "", "", []
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    heading = line.lstrip("# ").strip()
            before = _first_sentence(cell.source)
        elif cell.cell_type == "code":
            for output in cell.get("outputs", []):
                if "image/png" in output.get("data", {}):
                    said = before and not before.startswith("Try first")  # the solutions' opening line says nothing
                    alts.append(f"Figure ({heading}): {before}" if said else f"Figure ({heading})")
    return alts


def warnings(notebook):
    """What the chapter wrote to stderr (warnings, mostly); a clean chapter writes nothing there."""
    return [output.get("text", "").strip() for cell in notebook.cells if cell.cell_type == "code"
            for output in cell.get("outputs", []) if output.get("name") == "stderr"]


def _with_alt_text(page, alts):
    """nbconvert gives every figure the same placeholder; put each one's own description in its place."""
    remaining = iter(alts)
    return re.sub(r'<img alt="No description has been provided for this image"(?=[^>]*src="data:image/png)',
                  lambda _: f'<img alt="{html.escape(next(remaining, "Figure"))}"', page)


def _navigation(previous, following):
    link = lambda path, text: f'<a href="{path.stem}.html">{text}</a>' if path else "<span></span>"
    return (f'<nav class="book-nav">{link(previous, "&larr; " + (previous.stem if previous else ""))}'
            f'<a href="index.html">course map</a>{link(following, (following.stem if following else "") + " &rarr;")}'
            "</nav>")


def _framed(page, nav):
    """The page with the book's style, and its navigation at the top and at the bottom."""
    page = page.replace("</head>", STYLE + "</head>", 1).replace("</body>", nav + "</body>", 1)
    return re.sub(r"<body[^>]*>", lambda tag: tag.group(0) + nav, page, count=1)


def render(notebook, exporter):
    """The executed notebook as one HTML page with alt text on its figures."""
    page, _ = exporter.from_notebook_node(notebook)
    return _with_alt_text(page, figure_descriptions(notebook))


@contextlib.contextmanager
def kernel_environment(fast):
    """The environment the kernels start in: fast mode or not, and inline figures (no MPLBACKEND)."""
    saved = dict(os.environ)
    os.environ.pop("MPLBACKEND", None)
    os.environ["IGN_LESSONS_FAST"] = "1" if fast else "0"
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def execute_notebook(notebook, folder, timeout=1800):
    """Run a notebook top to bottom in the course's kernel, in `folder`, filling in its outputs; a failing
    cell raises nbclient's CellExecutionError (its output stays in the notebook)."""
    ExecutePreprocessor(kernel_name=KERNEL, timeout=timeout, store_widget_state=False).preprocess(
        notebook, {"metadata": {"path": str(folder)}})


def copy_mathjax(out):
    """Copy MathJax (from jupyter-server-mathjax) next to the pages; returns its URL relative to them."""
    import jupyter_server_mathjax
    source = Path(jupyter_server_mathjax.__file__).parent / "static"
    shutil.copytree(source, out / "mathjax", dirs_exist_ok=True)
    return f"mathjax/MathJax.js?config={MATHJAX_CONFIG}"


def index_page(folder, out, record):
    """The course map: every chapter with its goal, a link where its page exists, and the time it took
    to run when it was last rendered (`record`: stem -> {"seconds", "fast"})."""
    rows = []
    for path in chapters(folder):
        title, aim = goal(nbformat.read(path, as_version=4))
        name = html.escape(title or path.stem)
        link = f'<a href="{path.stem}.html">{name}</a>' if (out / f"{path.stem}.html").exists() else name
        run = record.get(path.stem)
        when = (f"{run['seconds']:.0f} s" + (" (fast mode)" if run["fast"] else "")
                + (" (stopped on an error)" if run.get("stopped") else "")) if run else "not rendered yet"
        rows.append(f"<tr><td>{link}</td><td>{mistune.html(aim)}</td><td>{when}</td></tr>")
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>From GAN to IGN</title>
<style>body {{ font: 16px/1.5 sans-serif; max-width: 1100px; margin: 2em auto; }}
td, th {{ padding: 0.4em 0.8em; vertical-align: top; text-align: left; }} td p {{ margin: 0; }}
tr:nth-child(even) {{ background: #f4f4f4; }} td:last-child {{ white-space: nowrap; }}</style></head><body>
<h1>From GAN to IGN: the course book</h1>
<p>A course of runnable notebooks from classic GAN training to the Idempotent Generative Network (IGN),
each executed top to bottom on this machine (the time is how long that took). Read the chapters in order;
each ends with exercises. For the live notebooks and the widget lab run <code>python3 course.py lab</code>.</p>
<table><tr><th>chapter</th><th>goal</th><th>time to run</th></tr>{"".join(rows)}</table></body></html>"""


def choose(folder, names=()):
    """The chapters of `folder` (all, or those named: "03" or "03_one_loss_gan"), in order."""
    found = chapters(folder)
    if not found:
        raise SystemExit(f"no chapters (NN_name.ipynb) in {folder}")
    unknown = [n for n in names if not any(p.stem == n or p.stem.startswith(f"{n}_") for p in found)]
    if unknown:
        raise SystemExit(f"unknown chapter(s) {', '.join(unknown)}; chapters: {', '.join(p.stem for p in found)}")
    return [p for p in found if not names or any(p.stem == n or p.stem.startswith(f"{n}_") for n in names)]


def build(folder, out, names=(), fast=False):
    """Execute and render the chapters of `folder` (all, or those named) to `out`; returns the pages and
    the chapters that stopped on an error (their page shows where; the other chapters are still built)."""
    folder, out = Path(folder), Path(out)
    chosen = choose(folder, names)
    out.mkdir(parents=True, exist_ok=True)
    exporter = HTMLExporter(template_file="book.html.j2", extra_loaders=[jinja2.DictLoader({"book.html.j2": TEMPLATE})],
                            mathjax_url=copy_mathjax(out))
    record_path = out / "book.json"
    record = json.loads(record_path.read_text()) if record_path.exists() else {}
    pages, failed = [], []
    for i, path in enumerate(chosen):
        print(f"executing {path.name} ...", flush=True)
        notebook, start = nbformat.read(path, as_version=4), time.perf_counter()
        with kernel_environment(fast):
            try:
                execute_notebook(notebook, path.parent)
            except CellExecutionError as error:
                failed.append(path.stem)
                print(f"  STOPPED: {error.ename}: {error.evalue} (the page shows the cell; the later ones did not run)",
                      flush=True)
        seconds = time.perf_counter() - start
        page = render(notebook, exporter)
        nav = _navigation(chosen[i - 1] if i else None, chosen[i + 1] if i + 1 < len(chosen) else None)
        page = _framed(page, nav)
        target = out / f"{path.stem}.html"
        target.write_text(page, encoding="utf-8")
        pages.append(target)
        record[path.stem] = {"seconds": round(seconds, 1), "fast": fast, "warnings": warnings(notebook),
                             "stopped": path.stem in failed}
        for text in record[path.stem]["warnings"]:
            print(f"  stderr: {text[:300]}", flush=True)
        print(f"  wrote {target} ({seconds:.0f} s)", flush=True)
    record_path.write_text(json.dumps(record, indent=1))
    (out / "index.html").write_text(index_page(folder, out, record), encoding="utf-8")
    print(f"course book: {out / 'index.html'}")
    if failed:
        print(f"these chapters stopped on an error: {', '.join(failed)}", file=sys.stderr)
    return pages, failed


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python3 course.py html", description=__doc__.split("\n\n")[0])
    parser.add_argument("chapters", nargs="*", help='chapters to render, e.g. "03" (default: all)')
    parser.add_argument("--fast", action="store_true", help="fast mode: step counts shrink, every cell still runs")
    parser.add_argument("--out", default="build/html", help="folder for the pages (default build/html)")
    parser.add_argument("--notebooks", default="notebooks", help="folder of the chapters (default notebooks)")
    args, unknown = parser.parse_known_args(argv)
    reject_unknown(parser, unknown)
    _, failed = build(args.notebooks, args.out, args.chapters, args.fast)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
