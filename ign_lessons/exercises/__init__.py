"""Automatic checkers for the notebooks' exercises, one module per notebook.

A checker returns a `Verdict`: "passed", "wrong" (with a one- or two-line hint that does not give
the answer away) or "not attempted" (the stub still raises NotImplementedError). It never raises,
so "Run all" goes on; it shows its verdict once, as text for the learner and, in a notebook, as a
machine-readable output (VERDICT_MIME) that `python3 course.py grade` reads.
"""
import functools
from dataclasses import asdict, dataclass

import torch

VERDICT_MIME = "application/vnd.ign-lessons.verdict+json"
MARKS = {"passed": "PASSED", "wrong": "NOT YET", "not attempted": "NOT ATTEMPTED"}


class Wrong(AssertionError):
    """An answer that does not pass; the message says what to look at, without giving the answer."""


@dataclass(frozen=True)
class Verdict:
    """What a checker found: `exercise` (the checker's name), `status` and a short `message`."""

    exercise: str
    status: str
    message: str

    def __bool__(self):
        return self.status == "passed"

    def __str__(self):
        return f"{MARKS[self.status]} {self.exercise}: {self.message}"

    def _ipython_display_(self):
        """Shown once already, when the check ran; a cell that ends with a check prints nothing more."""

    def show(self):
        """Print the verdict; in a notebook also attach it as VERDICT_MIME for the grader."""
        try:
            from IPython import get_ipython
            from IPython.display import display
        except ImportError:
            get_ipython = None
        if get_ipython is not None and getattr(get_ipython(), "kernel", None) is not None:
            display({"text/plain": str(self), VERDICT_MIME: asdict(self)}, raw=True)
        else:
            print(self)


def _short(text, limit=300):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def checker(function):
    """Wrap a checker that raises Wrong: return a Verdict instead, shown once; `.strict` keeps the raising one."""
    @functools.wraps(function)
    def check(*answers, **options):
        name = function.__name__
        try:
            function(*answers, **options)
        except NotImplementedError:
            verdict = Verdict(name, "not attempted", "replace the `raise NotImplementedError` in the exercise "
                                                     "cell with your code, run it, then run this check again.")
        except Wrong as error:
            verdict = Verdict(name, "wrong", _short(error))
        except Exception as error:  # the learner's code failed: say how, in one line, without a traceback
            verdict = Verdict(name, "wrong", _short(f"your code raised {type(error).__name__}: {error}"))
        else:
            verdict = Verdict(name, "passed", "correct, well done.")
        verdict.show()
        return verdict
    check.strict = function
    return check


def param_grads(value, net):
    """The gradient of a scalar with respect to all of `net`'s weights, flattened into one vector;
    zeros for weights it does not reach (or everywhere, when `value` carries no gradient)."""
    params = list(net.parameters())
    if not value.requires_grad:
        return torch.cat([torch.zeros_like(p).flatten() for p in params])
    grads = torch.autograd.grad(value, params, retain_graph=True, allow_unused=True)
    return torch.cat([(torch.zeros_like(p) if g is None else g).flatten() for p, g in zip(params, grads)])
