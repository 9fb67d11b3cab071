"""Numbers read from JSON files (info records, prediction files) must be JSON numbers: a string such
as ``"1.5"`` is not converted.

``numpy.asarray(["1.5"], dtype=float)`` and ``float("1.5")`` would accept it; a file that holds
strings where numbers belong was written wrong, and reading it anyway would hide that.
"""

from __future__ import annotations

import numpy as np


def is_number(value: object) -> bool:
    """An int or float (not a bool, a string or null)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def as_numbers(value: object) -> np.ndarray:
    """Nested lists of JSON numbers → float64 array; ``TypeError`` when an element is not a number, ``ValueError``
    when the lists are ragged."""
    array = np.asarray(value)
    if array.dtype.kind not in "iuf":
        raise TypeError(f"expected numbers, got elements of type {array.dtype.name!r}")
    return array.astype(np.float64)
