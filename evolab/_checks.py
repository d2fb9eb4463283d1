"""Argument checks shared by evolab's modules: one message shape, "Expected ...; received ...".

Every public function checks what a user passes and says what it expected
and what it received, never ``assert``.
"""

from __future__ import annotations

import numpy as np


def check_choice(name, value, choices):
    if value not in choices:
        raise ValueError(f"Expected {name} to be one of {list(choices)}, received {value!r}.")
    return value


def is_real(value):
    """True for an int or float (NumPy's too), False for a bool, a string, an array."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def check_positive(name, value, allow_zero=False):
    if not is_real(value) or not np.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"Expected {name} to be a finite number {bound}, received {value!r}.")
    return float(value)


def check_fraction(name, value):
    if not is_real(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"Expected {name} to be a number in [0, 1], received {value!r}.")
    return float(value)


def check_int(name, value, minimum, maximum=None):
    if (isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum
            or (maximum is not None and value >= maximum)):
        bound = f"in [{minimum}, {maximum})" if maximum is not None else f">= {minimum}"
        raise ValueError(f"Expected {name} to be an int {bound}, received {value!r}.")
    return int(value)
