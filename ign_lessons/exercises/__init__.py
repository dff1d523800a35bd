"""Automatic checkers for the notebooks' exercises, one module per notebook.

A checker raises `Wrong` with a message saying what is wrong; when the learner has not yet
replaced the stub (it raises NotImplementedError) it only says so, so "Run all" keeps going.
"""
import functools

import torch


class Wrong(AssertionError):
    """An answer that does not pass; the message says what to look at."""


def checker(function):
    """Wrap a checker: print a verdict, report stubs instead of failing, re-raise real mistakes."""
    @functools.wraps(function)
    def check(*answers, **options):
        try:
            function(*answers, **options)
        except NotImplementedError:
            print(f"{function.__name__}: not attempted yet. Replace the `raise NotImplementedError` "
                  "in the exercise cell, run it, then run this check again.")
            return False
        print(f"{function.__name__}: correct, well done.")
        return True
    return check


def param_grads(value, net):
    """The gradient of a scalar with respect to all of `net`'s weights, flattened into one vector;
    zeros for weights it does not reach (or everywhere, when `value` carries no gradient)."""
    params = list(net.parameters())
    if not value.requires_grad:
        return torch.cat([torch.zeros_like(p).flatten() for p in params])
    grads = torch.autograd.grad(value, params, retain_graph=True, allow_unused=True)
    return torch.cat([(torch.zeros_like(p) if g is None else g).flatten() for p, g in zip(params, grads)])
