"""Automatic checkers for the notebooks' exercises, one module per notebook.

A checker raises `Wrong` with a message saying what is wrong; when the learner has not yet
replaced the stub (it raises NotImplementedError) it only says so, so "Run all" keeps going.
"""
import functools


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
