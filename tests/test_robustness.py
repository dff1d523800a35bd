"""The robustness command: chapters run in the course's kernel under seed offsets, a failing assert is named
with its section, and the table says which offset failed."""
import nbformat

from ign_lessons import robustness


def test_a_claim_that_holds_on_some_seeds_only_is_caught(tmp_path):
    chapter = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# 01 · a chapter\n\n## 2. The claim"),
        nbformat.v4.new_code_cell("from ign_lessons import runtime\n"
                                  "assert runtime.SEED != 2, 'holds on every seed but 2'\n"
                                  "assert runtime.FAST, 'full mode never runs here'"),
    ])
    chapter.metadata["kernelspec"] = {"name": "ign-lessons", "display_name": "Python (ign-lessons)",
                                      "language": "python"}
    nbformat.write(chapter, tmp_path / "01_chapter.ipynb")
    lines = []
    records = robustness.run(tmp_path, offsets=(1, 2), mode="fast", jobs=1, write=False,
                             log=lambda *a, **k: lines.append(a[0]))
    by_offset = {r["offset"]: r for r in records}
    assert by_offset[1]["passed"] and not by_offset[2]["passed"]
    assert by_offset[2]["failure"] == "2. The claim: AssertionError: holds on every seed but 2"
    assert "| 01_chapter | fast | pass" in lines[-1] and "**FAIL** (2. The claim" in lines[-1]
    assert [(p.name, fast, offset) for p, fast, offset in robustness.plan(tmp_path, mode="both")] == [
        ("01_chapter.ipynb", True, 1), ("01_chapter.ipynb", True, 2), ("01_chapter.ipynb", True, 3),
        ("01_chapter.ipynb", False, 1), ("01_chapter.ipynb", False, 2), ("01_chapter.ipynb", False, 3)]
