"""The checkers of 04_ign_2d accept the worked solutions and reject typical mistakes."""
import pytest
import torch
from torch.func import functional_call

from ign_lessons.exercises import Wrong
from ign_lessons.exercises import ign_2d as checks


def d(a, b):
    return (a - b).abs().mean(1)


def frozen(f):
    weights = {name: p.detach() for name, p in f.named_parameters()}
    return lambda y: functional_call(f, weights, (y,))


def ign_terms(f, x, z):
    fx, fz = f(x), f(z)
    rec = d(fx, x)
    idem = d(frozen(f)(fz), fz)
    y = fz.detach()
    tight = -d(f(y), y)
    return rec.mean(), idem.mean(), tight.mean()


def tight_clamp(tight, rec, a):
    bound = a * rec.detach()
    return torch.tanh(tight / bound) * bound


def apply_repeatedly(f, z, n):
    with torch.no_grad():
        path = [z]
        for _ in range(n):
            path.append(f(path[-1]))
        return torch.stack(path)


def test_solutions_pass():
    assert checks.check_ign_terms(ign_terms)
    assert checks.check_tight_clamp(tight_clamp)
    assert checks.check_apply_repeatedly(apply_repeatedly)


def test_stubs_are_reported_not_failed():
    def stub(*args):
        raise NotImplementedError
    for check in (checks.check_ign_terms, checks.check_tight_clamp, checks.check_apply_repeatedly):
        assert check(stub).status == "not attempted"


def _terms_with(idem_rule, tight_rule):
    def terms(f, x, z):
        fz = f(z)
        return d(f(x), x).mean(), idem_rule(f, fz).mean(), tight_rule(f, fz).mean()
    return terms


RIGHT_IDEM = lambda f, fz: d(frozen(f)(fz), fz)
RIGHT_TIGHT = lambda f, fz: -d(f(fz.detach()), fz.detach())


@pytest.mark.parametrize("terms, words", [
    (_terms_with(RIGHT_IDEM, lambda f, fz: -d(frozen(f)(fz.detach()), fz.detach())), "frozen copy"),
    (_terms_with(RIGHT_IDEM, lambda f, fz: -d(f(fz), fz)), "not detached"),
    (_terms_with(lambda f, fz: d(f(fz.detach()), fz.detach()), lambda f, fz: -d(frozen(f)(fz), fz)), "swaps"),
    (_terms_with(lambda f, fz: d(f(fz), fz), RIGHT_TIGHT), "not frozen"),
    (_terms_with(RIGHT_IDEM, lambda f, fz: d(f(fz.detach()), fz.detach())), "value of tight"),
    (lambda f, x, z: tuple(t * 1 for t in ign_terms(f, x, z)[:2]), "three numbers"),
])
def test_ign_terms_checker_names_the_routing_mistake(terms, words):
    with pytest.raises(Wrong, match=words):
        checks.check_ign_terms.strict(terms)


@pytest.mark.parametrize("clamp, words", [
    (lambda t, r, a: torch.tanh(t / (a * r)) * a * r, "into rec"),             # rec not detached
    (lambda t, r, a: torch.clamp(t, min=-a * r.detach()), "tanh"),               # a hard clamp
    (lambda t, r, a: torch.tanh(t) * a * r.detach(), "tanh"),                    # forgot to divide
    (lambda t, r, a: t, "exceed"),                                               # no clamp at all
    (lambda t, r, a: (torch.tanh(t / (a * r)) * a * r).detach(), "no gradient"),  # everything detached
])
def test_clamp_checker_rejects_typical_mistakes(clamp, words):
    with pytest.raises(Wrong, match=words):
        checks.check_tight_clamp.strict(clamp)


@pytest.mark.parametrize("answer, words", [
    (lambda f, z, n: torch.stack([f(z) for _ in range(n + 1)]), "first row"),
    (lambda f, z, n: torch.stack([z] + [f(z) for _ in range(n)]), "previous row"),
    (lambda f, z, n: apply_repeatedly(f, z, n)[1:], "shape"),
])
def test_repeat_checker_rejects_typical_mistakes(answer, words):
    with pytest.raises(Wrong, match=words):
        checks.check_apply_repeatedly.strict(answer)


def test_repeat_checker_wants_no_gradients():
    def with_graph(f, z, n):
        path = [z]
        for _ in range(n):
            path.append(f(path[-1]))
        return torch.stack(path)
    with pytest.raises(Wrong, match="no_grad"):
        checks.check_apply_repeatedly.strict(with_graph)
