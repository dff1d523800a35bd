"""Each checker of 09_ign_mnist accepts the worked solution and rejects typical mistakes."""
import pytest
import torch

from ign_lessons.exercises import Wrong
from ign_lessons.exercises import ign_mnist as checks


def stub(*args):
    raise NotImplementedError


def solution_sides(size):
    sides = [size]
    while sides[-1] > 7 and sides[-1] % 2 == 0:
        sides.append(sides[-1] // 2)
    return sides


def test_sides():
    assert checks.check_sides(solution_sides)
    assert checks.check_sides(stub).status == "not attempted"
    def down_to_four(size):  # halving as for powers of two: 28 -> 14 -> 7 -> 3
        sides = [size]
        while sides[-1] > 4:
            sides.append(sides[-1] // 2)
        return sides

    with pytest.raises(Wrong, match="halving stops at 7"):
        checks.check_sides.strict(down_to_four)
    with pytest.raises(Wrong, match="expected"):
        checks.check_sides.strict(lambda size: [size, size // 2])


def solution_at_equal_time(curve, seconds):
    fitting = [row for row in curve if row[1] <= seconds]
    return max(fitting, key=lambda row: row[0]) if fitting else min(curve, key=lambda row: row[0])


def test_at_equal_time():
    assert checks.check_at_equal_time(solution_at_equal_time)
    assert checks.check_at_equal_time(stub).status == "not attempted"

    def strict_less(curve, seconds):
        fitting = [row for row in curve if row[1] < seconds]
        return max(fitting, key=lambda row: row[0]) if fitting else curve[0]

    def by_position(curve, seconds):
        fitting = [row for row in curve if row[1] <= seconds]
        return fitting[-1] if fitting else curve[0]

    def none_fits_last(curve, seconds):
        fitting = [row for row in curve if row[1] <= seconds]
        return max(fitting, key=lambda row: row[0]) if fitting else curve[-1]

    for wrong, words in [(strict_less, "use <="), (by_position, "any order"), (none_fits_last, "first one"),
                         (lambda curve, seconds: curve[-1], "longer than the budget")]:
        with pytest.raises(Wrong, match=words):
            checks.check_at_equal_time.strict(wrong)


def solution_nearest(images, train_images):
    return train_images[torch.cdist(images.flatten(1), train_images.flatten(1), p=1).argmin(1)]


def test_nearest_train():
    assert checks.check_nearest_train(solution_nearest)
    assert checks.check_nearest_train(stub).status == "not attempted"
    l2 = lambda images, train: train[torch.cdist(images.flatten(1), train.flatten(1)).argmin(1)]
    for wrong, words in [(l2, "L2"), (lambda images, train: images, "another training image"),
                         (lambda images, train: train[:1], "shape")]:
        with pytest.raises(Wrong, match=words):
            checks.check_nearest_train.strict(wrong)
