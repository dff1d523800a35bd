"""The mutation-testing gaps of the exercise checkers and the classroom tools (python3 course.py mutate,
docs/mutation.md): every checker rejects an answer with the right value but the wrong shape, type or
gradient, with the hint for that mistake; the nbgrader export writes no solution outside its regions."""
import math

import nbformat
import pytest
import torch
import torch.nn.functional as F

from ign_lessons import data, losses
from ign_lessons.exercises import (
    Verdict,
    Wrong,
    classroom,
    gan_2d,
    gan_digits,
    head_to_head,
    idempotence_lab,
    ign_2d,
    ign_digits,
    ign_is_a_gan,
    ign_mnist,
    one_loss_gan,
    welcome,
)
from ign_lessons.exercises import checker as make_checker


def _right_value_wrong_gradient(value, through):
    """`value` as it is, but with the gradient of `through` (a scalar): the value a checker sees is right."""
    return value.detach() + through - through.detach()


def _nonsaturating_shifted(logits):
    return _right_value_wrong_gradient(F.softplus(-logits).mean(), logits.sum())


def _one_loss(G, D, x, z):
    fake = G(z)
    return D(x).mean() - 2 * D(fake.detach()).mean() + D(fake).mean()


def _ign_stopgrad(f, x, z, weights, distance):
    return losses.ign_loss_stopgrad(f, x, z, weights, distance)


def _trajectory(f, z, n):
    rows = [z]
    for _ in range(n):
        rows.append(f(rows[-1]))
    return torch.stack(rows)


def _coverage_right_value(f, x, pool):
    return _right_value_wrong_gradient(losses.coverage_loss(f, x, pool), f(pool).mean())


CASES = {  # checker, a wrong answer, words of the hint it must get
    "nonsaturating: a float": (gan_2d.check_nonsaturating_loss, lambda t: F.softplus(-t).mean().item(), "torch tensor"),
    "nonsaturating: a vector": (gan_2d.check_nonsaturating_loss, lambda t: F.softplus(-t), "one number"),
    "nonsaturating: detached": (gan_2d.check_nonsaturating_loss, lambda t: F.softplus(-t).mean().detach(),
                                "carries no gradient"),
    "nonsaturating: wrong gradient": (gan_2d.check_nonsaturating_loss, _nonsaturating_shifted,
                                      "the value is right but its gradient"),
    "push: transposed": (gan_2d.check_push_on_fakes, lambda D, fake: losses.fake_gradients(D, fake).T,
                         "shape (64, 2)"),
    "push: a list": (gan_2d.check_push_on_fakes, lambda D, fake: losses.fake_gradients(D, fake).tolist(),
                     "shape (64, 2)"),
    "one loss: per sample": (one_loss_gan.check_one_loss,
                             lambda G, D, x, z: _one_loss(G, D, x, z) + 0 * D(x),
                             "0-dimensional"),
    "one loss: detached": (one_loss_gan.check_one_loss, lambda G, D, x, z: _one_loss(G, D, x, z).detach(),
                           "carries no gradient"),
    "one loss: wrong gradient": (one_loss_gan.check_one_loss,
                                 lambda G, D, x, z: _right_value_wrong_gradient(_one_loss(G, D, x, z), D(x).mean()),
                                 "neither player"),
    "routes: lists": (one_loss_gan.check_routes, lambda G, D, x, z: {t: ["D"] for t in one_loss_gan.TERMS},
                      "give a set"),
    "ebgan: shape (1,)": (one_loss_gan.check_ebgan_one_loss,
                          lambda G, A, x, z, m: losses.ebgan_g_loss(A, G(z), "l2sq").reshape(1), "0-dimensional"),
    "stopgrad: shape (1,)": (ign_is_a_gan.check_stopgrad_ign, lambda *a: _ign_stopgrad(*a).reshape(1),
                             "expected a scalar tensor"),
    "stopgrad: detached": (ign_is_a_gan.check_stopgrad_ign, lambda *a: _ign_stopgrad(*a).detach(),
                           "carries no gradient"),
    "stopgrad: wrong gradient": (ign_is_a_gan.check_stopgrad_ign,
                                 lambda f, x, z, w, d: _right_value_wrong_gradient(
                                     _ign_stopgrad(f, x, z, w, d), f(x).mean()), "the gradient differs"),
    "terms: two": (ign_2d.check_ign_terms, lambda f, x, z: losses.ign_terms(f, x, z)[:2], "three numbers"),
    "terms: vectors": (ign_2d.check_ign_terms, lambda f, x, z: [t.reshape(1) for t in losses.ign_terms(f, x, z)],
                       "rec must be one number"),
    "terms: wrong gradient": (ign_2d.check_ign_terms,
                              lambda f, x, z: [_right_value_wrong_gradient(t, f(x).sum()) for t in
                                               losses.ign_terms(f, x, z)], "although its value is right"),
    "clamp: summed": (ign_2d.check_tight_clamp, lambda t, r, a: (torch.tanh(t / (a * r.detach())) * a * r).sum(),
                      "one clamped value per sample"),
    "clamp: rec not detached": (ign_2d.check_tight_clamp, lambda t, r, a: torch.tanh(t / (a * r)) * a * r,
                                "gradient flows into rec"),
    "clamp: detached": (ign_2d.check_tight_clamp, lambda t, r, a: (torch.tanh(t / (a * r)) * a * r).detach(),
                        "carries no gradient"),
    "repeat: a list": (ign_2d.check_apply_repeatedly, lambda f, z, n: [z] * (n + 1), "expected a tensor of shape"),
    "repeat: with gradients": (ign_2d.check_apply_repeatedly, lambda f, z, n: _trajectory(f, z, n),
                               "carries gradients"),
    "frequency: no channel": (ign_digits.check_frequency_noise,
                              lambda images, n, seed: torch.zeros(n, 8, 8),
                              "expected a tensor of shape (4000, 1, 8, 8)"),
    "coverage: shape (1,)": (ign_digits.check_coverage, lambda f, x, pool: losses.coverage_loss(f, x, pool).reshape(1),
                             "return one number"),
    "coverage: detached": (ign_digits.check_coverage, lambda f, x, pool: losses.coverage_loss(f, x, pool).detach(),
                           "no gradient reaches f"),
    "coverage: wrong gradient": (ign_digits.check_coverage, _coverage_right_value,
                                 "the value is right but the gradient is not"),
    "nearest: a column": (ign_digits.check_nearest_distance, lambda images, ref: torch.zeros(len(images), 1),
                          "expected a tensor of shape (30,)"),
    "truncated: flat": (gan_digits.check_truncated_noise, lambda n, limit, seed: torch.zeros(n, 32),
                        "expected a tensor of shape (4000, 32, 1, 1)"),
    "pixels: no channel": (gan_digits.check_pixel_noise, lambda n, seed: torch.zeros(n, 8, 8),
                           "expected a tensor of shape (2000, 1, 8, 8)"),
    "floor: text": (gan_digits.check_floor, lambda feats, n, repeats, seed: [1.0], "return one number"),
    "class means: numpy": (welcome.check_class_means, lambda: torch.zeros(10, 1, 8, 8).numpy(),
                           "return a torch tensor"),
    "class means: no channel": (welcome.check_class_means, lambda: torch.zeros(10, 8, 8),
                                "expected shape (10, 1, 8, 8)"),
    "ring: transposed": (welcome.check_ring_sampler, lambda n, seed: data.toy2d("ring", n, seed=seed).T,
                         "expected shape (4000, 2)"),
    "fixed share: a tensor": (idempotence_lab.check_fixed_share, lambda f, limit, steps, tol: torch.tensor(0.5),
                              "return a Python float"),
    "paired wins: a list": (head_to_head.check_paired_wins, lambda rows, a, b: [3, 4], "return a pair"),
    "nearest train: one image": (ign_mnist.check_nearest_train, lambda images, train: train[:1],
                                 "expected a tensor of shape (8, 1, 6, 6)"),
}


@pytest.mark.parametrize("case", CASES)
def test_every_checker_rejects_a_wrong_shape_type_or_gradient_with_its_hint(case):
    check, answer, words = CASES[case]
    verdict = check(answer)
    assert verdict.status == "wrong", f"{case}: {verdict}"
    assert words in verdict.message, f"{case}: {verdict.message}"


def test_a_checker_shortens_long_messages_to_300_characters_and_keeps_strict():
    @make_checker
    def check_long(n):
        raise Wrong("x" * n)

    assert check_long(300).message == "x" * 300
    assert check_long(301).message == "x" * 297 + "..."
    assert check_long(10).message == "x" * 10 and check_long.__name__ == "check_long"
    with pytest.raises(Wrong):
        check_long.strict(5)
    assert Verdict("e", "wrong", "m").__str__() == "NOT YET e: m" and not Verdict("e", "wrong", "m")


def test_param_grads_is_zero_for_weights_a_value_does_not_reach():
    from ign_lessons.exercises import param_grads
    net = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Linear(3, 1))
    x = torch.ones(4, 2)
    full = param_grads(net(x).sum(), net)
    assert full.shape == (2 * 3 + 3 + 3 + 1,) and full.abs().sum() > 0
    first_only = param_grads(net[0](x).sum(), net)
    assert first_only[9:].abs().sum() == 0 and first_only[:9].abs().sum() > 0
    assert torch.equal(param_grads(net(x).sum().detach(), net), torch.zeros(13))


def test_spearman_gives_ties_their_mean_rank():
    assert head_to_head._ranks([3, 1, 3, 2]) == [3.5, 1.0, 3.5, 2.0]
    assert head_to_head._ranks([5, 5, 5]) == [2.0, 2.0, 2.0]
    assert head_to_head.spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert head_to_head.spearman([1, 2, 2, 3], [1, 3, 2, 4]) == pytest.approx(0.9486832980505138)
    assert not math.isnan(head_to_head.spearman([1, 2, 3], [1, 2, 2]))


# --- the classroom tools: what they write ---------------------------------------------------------------

def test_the_nbgrader_source_keeps_each_solution_only_inside_its_region(tmp_path):
    welcome_nb = classroom.course_notebooks()[0]
    original = nbformat.read(welcome_nb, as_version=4)
    solutions = [c.source for c in original.cells if "solution" in classroom._tags(c)]
    written = classroom.write_nbgrader(tmp_path, [welcome_nb])
    assert written == [tmp_path / "source" / "ign-lessons" / welcome_nb.name]
    nb = nbformat.read(written[0], as_version=4)
    assert not any("solution" in classroom._tags(c) for c in nb.cells), "no solution cell is left"
    answers = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
    tests = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert len(answers) == len(tests) == 2 and len(nb.cells) == len(original.cells) - len(solutions)
    for cell in answers:
        inside = cell.source.split("### BEGIN SOLUTION")[1].split("### END SOLUTION")[0]
        outside = cell.source.replace(inside, "")
        assert "raise NotImplementedError" not in cell.source and "return" in inside and "return" not in outside
        meta = cell.metadata["nbgrader"]
        assert meta["grade_id"].startswith("answer-") and not meta["locked"] and "points" not in meta
    for cell in tests:
        assert cell.source.splitlines()[-1].startswith("assert checks.check_")
        meta = cell.metadata["nbgrader"]
        assert meta["points"] == 1 and meta["locked"] and meta["grade_id"] == "test-" + meta["grade_id"][5:]
        assert meta["grade_id"][5:] in cell.source and meta["schema_version"] == 3 and not meta["task"]


def test_an_answer_cell_takes_the_solution_s_imports_and_body():
    stub = "def ring(n, seed):\n    \"\"\"doc\"\"\"\n    raise NotImplementedError\n"
    solution = "import torch\nfrom math import pi\n\n\ndef other():\n    pass\n\n\ndef ring(n, seed):\n    x = 1\n" \
               "    return x\n"
    got = classroom._answer_source(stub, ["def nothing():\n    pass\n", solution])
    assert got == ("import torch\nfrom math import pi\n\n\ndef ring(n, seed):\n    \"\"\"doc\"\"\"\n"
                   "    ### BEGIN SOLUTION\n    x = 1\n    return x\n    ### END SOLUTION")
    assert classroom._answer_source(stub, ["def ring(n, seed):\n    return 2\n"]).startswith("def ring")
    with pytest.raises(ValueError, match=r"no worked solution defines ring\(\)"):
        classroom._answer_source(stub, ["def other():\n    pass\n"])


def _executed(*cells):
    nb = nbformat.v4.new_notebook()
    for tags, source, outputs in cells:
        cell = nbformat.v4.new_code_cell(source, metadata={"tags": tags})
        cell.outputs = outputs
        nb.cells.append(cell)
    return nb


def test_verdicts_read_each_checker_s_last_verdict_and_count_a_failed_check_as_wrong():
    verdict = lambda name, status: {"output_type": "display_data", "data": {
        classroom.VERDICT_MIME: {"exercise": name, "status": status, "message": status + "!"}}}
    error = {"output_type": "error", "ename": "NameError", "evalue": "x is not defined"}
    nb = _executed((["checker"], "checks.check_a(a)", [verdict("check_a", "wrong"), verdict("check_a", "passed")]),
                   (["checker"], "checks.check_b(b)", [error]),
                   (["checker"], "checks.check_c(c)", []),
                   (["checker"], "checks.check_d(d)", [verdict("check_d", "passed"), error]),
                   ([], "checks.check_e(e)", [error]))
    nb.cells.insert(1, nbformat.v4.new_markdown_cell("checks.check_f(f)"))
    assert classroom.verdicts(nb) == {
        "check_a": ("passed", "passed!"), "check_b": ("wrong", "the check could not run: NameError: x is not defined"),
        "check_c": ("not attempted", "the check did not run"), "check_d": ("passed", "passed!")}


def test_feedback_counts_the_passed_exercises_and_gives_the_others_hints():
    text = classroom.feedback("nb.ipynb", {"check_a": ("passed", "fine"), "check_b": ("wrong", "look at x"),
                                           "check_c": ("passed", "fine")})
    assert text == ("nb.ipynb: 2 of 3 exercises passed\n- check_a: passed\n- check_b: wrong: look at x\n"
                    "- check_c: passed\n")


def test_grade_writes_one_feedback_file_per_notebook_and_a_csv_of_every_verdict(tmp_path, monkeypatch):
    verdict = lambda name, status: {"output_type": "display_data", "data": {
        classroom.VERDICT_MIME: {"exercise": name, "status": status, "message": "m " + status}}}
    executed = {"good.ipynb": _executed((["checker"], "checks.check_a(a)", [verdict("check_a", "passed")]),
                                        (["checker"], "checks.check_b(b)", [verdict("check_b", "wrong")])),
                "empty.ipynb": _executed(([], "1 + 1", []))}

    def run_notebook(path):
        if path.name == "broken.ipynb":
            raise nbformat.reader.NotJSONError("not json")
        return executed[path.name]

    monkeypatch.setattr(classroom, "run_notebook", run_notebook)
    paths = []
    for name in ("good.ipynb", "empty.ipynb", "broken.ipynb"):
        (tmp_path / "in" / "st 1").mkdir(parents=True, exist_ok=True)
        paths.append(tmp_path / "in" / "st 1" / name)
        paths[-1].write_text("{}")
    table = classroom.grade(paths, out_dir=tmp_path / "out" / "deep", jobs=1)
    assert list(table) == list(map(str, paths))
    assert table[str(paths[0])] == {"check_a": ("passed", "m passed"), "check_b": ("wrong", "m wrong")}
    assert table[str(paths[1])] == {"(no exercises)": ("wrong", "no checker cell found: is this a notebook of the "
                                                                "course?")}
    status, message = table[str(paths[2])]["(the notebook)"]
    assert status == "unreadable" and "NotJSONError: not json" in message
    rows = (tmp_path / "out" / "deep" / "grades.csv").read_text().splitlines()
    assert rows[0] == "notebook,exercise,status,message" and len(rows) == 5
    assert rows[1] == f"{paths[0]},check_a,passed,m passed"
    feedback = sorted(p.name for p in (tmp_path / "out" / "deep").glob("*.feedback.txt"))
    stem = str(paths[0].parent).strip("./").replace("/", "__").replace(" ", "__")
    assert feedback == sorted(f"{stem}__{n}.feedback.txt" for n in ("good", "empty", "broken"))
    good = (tmp_path / "out" / "deep" / f"{stem}__good.feedback.txt").read_text()
    assert good == f"{paths[0]}: 1 of 2 exercises passed\n- check_a: passed\n- check_b: wrong: m wrong\n"


def test_an_nbgrader_source_keeps_every_other_cell_in_order(tmp_path):
    nb = nbformat.v4.new_notebook()
    cell = lambda tags, source: nbformat.v4.new_code_cell(source, metadata={"tags": tags})
    nb.cells = [nbformat.v4.new_markdown_cell("intro"),
                cell(["exercise"], "def square(x):\n    raise NotImplementedError"),
                cell(["checker"], "from ign_lessons.exercises import welcome as checks\nchecks.check_square(square)"),
                cell(["solution"], "def square(x):\n    return x * x"),
                nbformat.v4.new_markdown_cell("after the solution")]
    path = tmp_path / "01_x.ipynb"
    nbformat.write(nb, path)
    out = classroom.nbgrader_source(path)
    assert [c.source.splitlines()[0] for c in out.cells] == [
        "intro", "def square(x):", "from ign_lessons.exercises import welcome as checks", "after the solution"]
    assert out.cells[2].source.splitlines()[1] == "assert checks.check_square(square)"
    assert out.cells[1].metadata["nbgrader"]["grade_id"] == "answer-square"
    assert out.cells[2].metadata["nbgrader"]["grade_id"] == "test-check_square"
    assert out.cells[0].metadata.get("nbgrader") is None
    written = classroom.write_handouts(tmp_path / "a" / "b", [path])
    assert written == [tmp_path / "a" / "b" / "01_x.ipynb"], "only the notebooks given, in a new nested folder"
    copy = nbformat.read(written[0], as_version=4)
    kept = [c.source for c in nb.cells if "solution" not in c.metadata.get("tags", [])]
    assert [c.source for c in copy.cells] == kept
    assert all(not c.get("outputs") for c in copy.cells if c.cell_type == "code")


def test_hand_outs_and_exports_refuse_the_course_s_own_folder(tmp_path):
    with pytest.raises(ValueError, match="somewhere else"):
        classroom.write_nbgrader(classroom.NOTEBOOKS)
    with pytest.raises(FileNotFoundError, match="No course notebooks"):
        classroom.course_notebooks(tmp_path)
    with pytest.raises(FileNotFoundError, match="nothing was graded"):
        classroom.grade([tmp_path / "missing.ipynb"], out_dir=tmp_path / "out")


# --- the gaps left by the run of 2026-12-07 (docs/mutation.md, "Gaps") -------------------------------------

def test_the_nbgrader_source_can_be_written_again_into_the_same_folder(tmp_path):
    welcome_nb = classroom.course_notebooks()[0]
    first = classroom.write_nbgrader(tmp_path, [welcome_nb])
    assert classroom.write_nbgrader(tmp_path, [welcome_nb]) == first, "a teacher exports again after an update"


def test_a_checker_cell_that_calls_no_checker_is_passed_over():
    nb = _executed((["checker"], "print('a checker cell without a check')", []),
                   (["checker"], "checks.check_a(a)", []))
    assert classroom.verdicts(nb) == {"check_a": ("not attempted", "the check did not run")}


def test_an_ign_term_without_any_gradient_is_called_so():
    def rec_detached(f, x, z):
        rec, idem, tight = losses.ign_terms(f, x, z)
        return rec.detach(), idem, tight

    with pytest.raises(Wrong, match=r"your rec sends its gradient nowhere \(it carries no gradient at all\)"):
        ign_2d.check_ign_terms.strict(rec_detached)


def test_an_ign_term_with_a_small_wrong_gradient_is_not_called_gradient_free():
    def rec_half_gradient(f, x, z):
        rec, idem, tight = losses.ign_terms(f, x, z)
        return _right_value_wrong_gradient(rec, 0.5 * rec), idem, tight

    with pytest.raises(Wrong, match="the gradient of rec is wrong although its value is right"):
        ign_2d.check_ign_terms.strict(rec_half_gradient)
