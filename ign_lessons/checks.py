"""The course's checks of what it is given: each raises CourseError with a message that names the
argument, what was wrong with it, and what to pass instead."""
import difflib
import math
import numbers

import torch


class CourseError(ValueError):
    """The course's own errors: the message names the problem and the fix."""


def choice(name, value, options, error=CourseError):
    """`value` must be one of `options`; a near miss is named (did you mean ...?). Raises `error`."""
    if isinstance(value, str) and value in options:
        return value
    close = ([o for o in options if o.lower() == value.lower()] or difflib.get_close_matches(value, list(options), n=1)
             if isinstance(value, str) else [])
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise error(f"Unknown {name} {value!r}{hint}; choose one of {', '.join(map(repr, options))}.")


def number(name, value, low=None, high=None, low_open=False, none=None, error=CourseError):
    """A finite real number (not a bool) with low <= value (low < value if low_open) and value <= high.

    none: what None means where it is allowed ("off", "the default radius"); None is refused when not given."""
    if value is None and none:
        return None
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise error(f"{name} must be a finite number, got {value!r}.")
    below = value <= low if low_open else value < low if low is not None else False
    if below or (high is not None and value > high):
        bounds = " and ".join(b for b in ((f"> {low}" if low_open else f">= {low}") if low is not None else "",
                                         f"<= {high}" if high is not None else "") if b)
        raise error(f"{name} must be {bounds}, got {value!r}" + (f" (or None for {none})." if none else "."))
    return value


def whole(name, value, minimum=0, error=CourseError):
    """A whole number (an int, not a bool) >= minimum."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise error(f"{name} must be a whole number >= {minimum}, got {value!r}.")
    return int(value)


def tensor(name, value, dims=None, minimum=1, error=CourseError):
    """A floating tensor of `dims` dimensions (any if None) with at least `minimum` rows, all finite."""
    if not isinstance(value, torch.Tensor):
        raise error(f"{name} must be a torch.Tensor, got {type(value).__name__}; "
                          "convert with torch.as_tensor(array, dtype=torch.float32).")
    if dims is not None and value.dim() not in ((dims,) if isinstance(dims, int) else dims):
        raise error(f"{name} must have {dims} dimensions, got shape {tuple(value.shape)}.")
    if value.dim() == 0 or len(value) < minimum:
        raise error(f"{name} needs at least {minimum} sample(s), got shape {tuple(value.shape)}.")
    if not value.is_floating_point():
        value = value.float()
    bad = (~torch.isfinite(value)).sum().item()
    if bad:
        raise error(f"{name} contains {bad} NaN or infinite value(s); remove or replace them first.")
    return value


def image_range(name, images, slack=1e-3, error=CourseError):
    """Images live in [-1, 1] (the networks end in tanh); refuse 0..255 or 0..16 pixel values."""
    low, high = images.min().item(), images.max().item()
    if low < -1 - slack or high > 1 + slack:
        raise error(f"{name} must have values in [-1, 1] (the course's networks end in tanh), got "
                          f"{low:.3g}..{high:.3g}; rescale, e.g. 2 * x / x.max() - 1 for pixels from 0.")
    return images


def reject_unknown(parser, words):
    """Stop an argparse command on unknown options, naming the closest known one (did you mean ...?)."""
    if not words:
        return
    options = [o for o in parser._option_string_actions if o.startswith("--")]
    hints = []
    for word in words:
        close = difflib.get_close_matches(word.split("=")[0], options, n=1) if word.startswith("-") else []
        hints.append(f"{word!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    parser.error(f"unrecognized arguments: {', '.join(hints)}")
