import math

import pytest

from ign_lessons import losses, models
from ign_lessons.exercises import Wrong
from ign_lessons.exercises import ign_is_a_gan as checks


def stopgrad_solution(f, x, z, weights, distance):
    wr, wi, wt = weights
    delta = lambda y: losses.per_sample_distance(f(y), y, distance)
    fz = f(z)
    return (wr * delta(x) + wi * delta(fz) - (wi + wt) * delta(fz.detach())).mean()


def mlp_parameters_solution(hidden, depth):
    return (2 * hidden + hidden) + (depth - 1) * (hidden * hidden + hidden) + (hidden * 2 + 2)


def matched_width_solution(hidden):
    budget = mlp_parameters_solution(hidden, 3)
    return max(w for w in range(1, hidden + 1) if 2 * mlp_parameters_solution(w, 3) <= budget)


def test_solutions_pass():
    assert checks.check_stopgrad_ign(stopgrad_solution)
    assert checks.check_mlp_parameters(mlp_parameters_solution)
    assert checks.check_matched_width(matched_width_solution)


def test_stubs_are_reported_not_failed():
    def stub(*args):
        raise NotImplementedError
    for check in (checks.check_stopgrad_ign, checks.check_mlp_parameters, checks.check_matched_width):
        assert check(stub).status == "not attempted"


@pytest.mark.parametrize("wrong", [
    # only the tightness weight on the detached term: the outer f's part of idem is not cancelled
    lambda f, x, z, w, d: (w[0] * losses.energy(f, x, d) + w[1] * losses.energy(f, f(z), d)
                           - w[2] * losses.energy(f, f(z).detach(), d)).mean(),
    # the sign of the detached term flipped
    lambda f, x, z, w, d: (w[0] * losses.energy(f, x, d) + w[1] * losses.energy(f, f(z), d)
                           + (w[1] + w[2]) * losses.energy(f, f(z).detach(), d)).mean(),
    # sums instead of batch means
    lambda f, x, z, w, d: stopgrad_solution(f, x, z, w, d) * len(x),
    # everything detached
    lambda f, x, z, w, d: stopgrad_solution(f, x, z, w, d).detach(),
])
def test_stopgrad_checker_rejects_typical_mistakes(wrong):
    with pytest.raises(Wrong):
        checks.check_stopgrad_ign.strict(wrong)


def test_parameter_checkers_reject_typical_mistakes():
    with pytest.raises(Wrong, match="biases"):
        checks.check_mlp_parameters.strict(lambda h, d: 2 * h + (d - 1) * h * h + 2 * h)
    with pytest.raises(Wrong, match="QUARTER"):
        checks.check_matched_width.strict(lambda h: h // 2)
    with pytest.raises(Wrong):
        checks.check_matched_width.strict(lambda h: math.ceil(h / math.sqrt(2)))


def test_solution_formula_matches_the_models():
    assert mlp_parameters_solution(128, 3) == models.count_parameters(models.build("mlp-ign"))
