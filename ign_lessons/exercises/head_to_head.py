"""Checkers for 07_head_to_head: paired wins over seeds, the equal-time step count, a rank correlation."""
import random

from . import Wrong, checker


def _rows():
    """Runs of two models over five seeds, with one seed missing for the second model."""
    fd = {"a": [1.4, 2.9, 1.8, 1.5, 3.3], "b": [1.9, 2.2, 2.5, 1.6]}
    return [{"model": m, "seed": s, "fd_over_floor": v} for m, values in fd.items() for s, v in enumerate(values)]


@checker
def check_paired_wins(answer):
    """answer(rows, a, b) -> (wins of a, seeds compared): on how many seeds run by both models a's
    fd_over_floor is lower than b's."""
    rows = _rows()
    got = answer(rows, "a", "b")
    if not isinstance(got, tuple) or len(got) != 2:
        raise Wrong(f"return a pair (wins, seeds compared), got {got!r}")
    wins, compared = got
    if compared == 5:
        raise Wrong("you compared 5 seeds, but model b has no run for seed 4: compare only seeds both models ran")
    if compared != 4:
        raise Wrong(f"4 seeds were run by both models, you compared {compared}")
    if wins == 1:
        raise Wrong("you counted the seeds where a is worse: a lower FD over the floor is better")
    if wins != 3:
        raise Wrong(f"a beats b on 3 of the 4 shared seeds, you found {wins}: compare the two runs of the same seed")
    shuffled = rows[:]
    random.Random(0).shuffle(shuffled)
    if answer(shuffled, "a", "b") != (3, 4):
        raise Wrong("the answer changes when the rows come in another order: pair runs by their seed, not by position")
    if answer(rows, "b", "a") != (1, 4):
        raise Wrong("answer(rows, 'b', 'a') should count b's wins")


@checker
def check_equal_time_steps(answer):
    """answer(ms_per_step, model, reference, steps) -> the steps of `model` that take as long as `steps`
    steps of `reference`, rounded to a multiple of 10, at least 10."""
    ms = {"fast": 5.0, "ref": 10.0, "slow": 40.0, "crawl": 1e6}
    cases = [("fast", 1000, 2000), ("slow", 1000, 250), ("ref", 1000, 1000), ("slow", 3000, 750),
             ("fast", 1234, 2470), ("crawl", 1000, 10)]
    for model, steps, want in cases:
        got = answer(ms, model, "ref", steps)
        if got != want and got == steps * ms[model] / ms["ref"]:
            raise Wrong("the ratio is upside down: a model that is faster per step gets more steps in the same time")
        if got != want:
            raise Wrong(f"for {model!r} against 'ref' at {steps} steps: expected {want}, got {got!r} "
                        "(steps x ms of the reference / ms of the model, rounded to a multiple of 10, at least 10)")


def _ranks(values):
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def spearman(x, y):
    """Spearman's rank correlation of two equally long lists (ties get their mean rank)."""
    rx, ry = _ranks(x), _ranks(y)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    return cov / (sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry)) ** 0.5


@checker
def check_rank_correlation(answer):
    """answer(x, y) -> Spearman's rank correlation of the lists x and y (ties share their mean rank)."""
    cases = [([1, 2, 3, 4], [10, 20, 30, 40]), ([1, 2, 3, 4], [1, 4, 9, 100]), ([1, 2, 3, 4], [4, 3, 2, 1]),
             ([3, 1, 2, 5, 4], [30, 10, 25, 20, 40]), ([1, 2, 2, 3], [1, 3, 2, 4])]
    for x, y in cases:
        got = answer(x, y)
        want = spearman(x, y)
        if not isinstance(got, (int, float)) or abs(got - want) > 1e-9:
            if x == [1, 2, 3, 4] and y == [1, 4, 9, 100] and isinstance(got, float) and got < 0.99:
                raise Wrong("a monotone but curved relation should give exactly 1: correlate the ranks, not the values")
            raise Wrong(f"for x={x}, y={y} expected {want:.4f}, got {got!r}"
                        + (" (tied values share the mean of their ranks)" if len(set(x)) < len(x) else ""))
