"""What a whole number is, for every check of a value a user, a file or a call hands in."""

from __future__ import annotations

import numbers
from typing import Any


def is_whole(value: Any) -> bool:
    """An integer, Python's or numpy's (both are ``numbers.Integral``), and not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)
