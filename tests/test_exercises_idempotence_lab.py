"""The checkers of 08_idempotence_lab accept the worked solutions and reject typical mistakes."""
import pytest
import torch

from ign_lessons import data, losses
from ign_lessons.exercises import Wrong
from ign_lessons.exercises import idempotence_lab as checks


def fixed_share(f, limit, steps, tol):
    grid, _, _ = data.plane(limit, steps)
    with torch.no_grad():
        return float((losses.energy(f, grid) < tol).float().mean())


def settle(f, point, tol, most):
    y = point
    for count in range(1, most + 1):
        moved = f(y)
        if losses.per_sample_distance(moved, y).item() < tol:
            return count
        y = moved
    return most


def test_the_solutions_pass():
    assert checks.check_fixed_share(fixed_share)
    assert checks.check_settle(settle)


def test_mistakes_are_caught():
    with pytest.raises(Wrong, match="share is off"):  # the L2 distance instead of L1
        checks.check_fixed_share.strict(lambda f, limit, steps, tol: float(
            (losses.energy(f, data.plane(limit, steps)[0], "l2") < tol).float().mean()))
    with pytest.raises(Wrong, match="Python float"):
        checks.check_fixed_share.strict(lambda f, limit, steps, tol: torch.tensor(0.5))
    with pytest.raises(Wrong, match="count"):  # forgets the application that settles
        checks.check_settle.strict(lambda f, point, tol, most: settle(f, point, tol, most) - 1)


def test_stubs_are_not_attempted():
    def stub(*args):
        raise NotImplementedError

    assert checks.check_fixed_share(stub).status == "not attempted"
    assert checks.check_settle(stub).status == "not attempted"
