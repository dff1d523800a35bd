"""The checkers of 03_one_loss_gan accept the worked solutions and reject typical mistakes."""
import pytest
import torch
import torch.nn.functional as F

from ign_lessons import losses
from ign_lessons.exercises import Wrong
from ign_lessons.exercises import one_loss_gan as checks


def one_loss(G, D, x, z):
    fake = G(z)
    return D(x).mean() - 2 * D(fake.detach()).mean() + D(fake).mean()


def routes(G, D, x, z):
    fake = G(z)
    terms = {"E D(x)": D(x).mean(), "-2 E D(sg(G(z)))": -2 * D(fake.detach()).mean(),
             "E D(G(z))": D(fake).mean()}
    found = {}
    for term, value in terms.items():
        found[term] = set()
        for name, net in (("G", G), ("D", D)):
            grads = torch.autograd.grad(value, list(net.parameters()), allow_unused=True, retain_graph=True)
            if any(g is not None and g.abs().max() > 0 for g in grads):
                found[term].add(name)
    return found


def ebgan_one_loss(G, A, x, z, margin):
    fake = G(z)
    delta = lambda y: losses.energy(A, y, "l2sq")
    return (delta(x).mean() + F.relu(margin - delta(fake.detach())).mean()
            + delta(fake).mean() - delta(fake.detach()).mean())


def test_solutions_pass():
    assert checks.check_one_loss(one_loss)
    assert checks.check_routes(routes)
    assert checks.check_ebgan_one_loss(ebgan_one_loss)


def test_stubs_are_reported_not_failed():
    def stub(*args):
        raise NotImplementedError
    assert checks.check_one_loss(stub).status == "not attempted"
    assert checks.check_routes(stub).status == "not attempted"
    assert checks.check_ebgan_one_loss(stub).status == "not attempted"


@pytest.mark.parametrize("wrong, words", [
    (lambda G, D, x, z: D(x).mean() - D(G(z)).mean(), "G's is not"),                       # no stop-gradient
    (lambda G, D, x, z: D(x).mean() - D(G(z).detach()).mean() + D(G(z)).mean(), "factor 2"),
    (losses.one_loss_frozen, "G ran 2 times"),                                              # right, but copies
    (lambda G, D, x, z: D(x) - 2 * D(G(z).detach()) + D(G(z)), "mean"),               # no mean
    (lambda G, D, x, z: D(x).mean() + 2 * D(G(z).detach()).mean() - D(G(z)).mean(), "neither"),
])
def test_one_loss_checker_rejects_typical_mistakes(wrong, words):
    with pytest.raises(Wrong, match=words):
        checks.check_one_loss.strict(wrong)


def test_routes_checker_rejects_the_intuitive_but_wrong_answer():
    def intuitive(G, D, x, z):  # "the generator's term trains only G": true for D'(G(z)), not for D(G(z))
        return {"E D(x)": {"D"}, "-2 E D(sg(G(z)))": {"D"}, "E D(G(z))": {"G"}}
    with pytest.raises(Wrong, match="E D\\(G\\(z\\)\\)"):
        checks.check_routes.strict(intuitive)
    with pytest.raises(Wrong, match="keys"):
        checks.check_routes.strict(lambda G, D, x, z: {"D(x)": {"D"}})


def test_ebgan_checker_rejects_typical_mistakes():
    def no_cancel(G, A, x, z, margin):  # A also learns from the generator's term
        fake = G(z)
        delta = lambda y: losses.energy(A, y, "l2sq")
        return delta(x).mean() + F.relu(margin - delta(fake.detach())).mean() + delta(fake).mean()

    def hinge_not_detached(G, A, x, z, margin):  # G also learns from the hinge
        fake = G(z)
        delta = lambda y: losses.energy(A, y, "l2sq")
        return (delta(x).mean() + F.relu(margin - delta(fake)).mean()
                + delta(fake).mean() - delta(fake.detach()).mean())

    with pytest.raises(Wrong, match="A's gradient"):
        checks.check_ebgan_one_loss.strict(no_cancel)
    with pytest.raises(Wrong, match="G's gradient"):
        checks.check_ebgan_one_loss.strict(hinge_not_detached)
