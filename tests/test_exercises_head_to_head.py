"""Each checker of 07_head_to_head accepts the worked solution and rejects typical mistakes."""
import pytest

from ign_lessons.exercises import Wrong
from ign_lessons.exercises import head_to_head as checks


def stub(*args):
    raise NotImplementedError


def paired_wins(rows, a, b):
    by_seed = {}
    for row in rows:
        by_seed.setdefault(row["seed"], {})[row["model"]] = row["fd_over_floor"]
    shared = [s for s, runs in by_seed.items() if a in runs and b in runs]
    return sum(by_seed[s][a] < by_seed[s][b] for s in shared), len(shared)


def equal_time_steps(ms_per_step, model, reference, steps):
    return max(10, round(steps * ms_per_step[reference] / ms_per_step[model] / 10) * 10)


def ranks(values):
    order = sorted(values)
    return [sum(i + 1 for i, v in enumerate(order) if v == x) / order.count(x) for x in values]


def rank_correlation(x, y):
    rx, ry = ranks(x), ranks(y)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    return cov / (sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry)) ** 0.5


def test_paired_wins():
    assert checks.check_paired_wins(paired_wins)
    assert checks.check_paired_wins(stub).status == "not attempted"
    for wrong, words in [
        (lambda rows, a, b: (paired_wins(rows, a, b)[0], 5), "no run for seed 4"),
        (lambda rows, a, b: (paired_wins(rows, b, a)[0], 4), "a is worse"),
        (lambda rows, a, b: paired_wins(rows, a, b)[0], "pair"),
        (lambda rows, a, b: (sum(x["fd_over_floor"] < y["fd_over_floor"] for x, y in zip(
            [r for r in rows if r["model"] == a], [r for r in rows if r["model"] == b])), 4), "order|beats"),
    ]:
        with pytest.raises(Wrong, match=words):
            checks.check_paired_wins.strict(wrong)


def test_equal_time_steps():
    assert checks.check_equal_time_steps(equal_time_steps)
    for wrong, words in [
        (lambda ms, m, r, steps: steps * ms[m] / ms[r], "upside down"),
        (lambda ms, m, r, steps: round(steps * ms[r] / ms[m]), "expected 2470"),
        (lambda ms, m, r, steps: round(steps * ms[r] / ms[m] / 10) * 10, "expected 10"),
    ]:
        with pytest.raises(Wrong, match=words):
            checks.check_equal_time_steps.strict(wrong)


def test_rank_correlation():
    assert checks.check_rank_correlation(rank_correlation)
    assert abs(checks.spearman([1, 2, 3], [3, 2, 1]) + 1) < 1e-12
    pearson = lambda x, y: (sum((a - sum(x) / len(x)) * (b - sum(y) / len(y)) for a, b in zip(x, y))
                            / (sum((a - sum(x) / len(x)) ** 2 for a in x)
                               * sum((b - sum(y) / len(y)) ** 2 for b in y)) ** 0.5)
    no_ties = lambda x, y: rank_correlation([v + i * 1e-9 for i, v in enumerate(x)], y)
    for wrong, words in [(pearson, "ranks, not the values"), (no_ties, "mean of their ranks")]:
        with pytest.raises(Wrong, match=words):
            checks.check_rank_correlation.strict(wrong)
