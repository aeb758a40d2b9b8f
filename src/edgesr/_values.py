"""What a whole number is, for every check of a value a user, a file or a call hands in; and strict
JSON, for every file edgesr writes."""

from __future__ import annotations

import json
import math
import numbers
from typing import Any


def is_whole(value: Any) -> bool:
    """An integer, Python's or numpy's (both are ``numbers.Integral``), and not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def finite(value: Any) -> Any:
    """``value`` with every infinite or NaN float (in dicts, lists and tuples) replaced by None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def strict_json(value: Any) -> str:
    """``value`` as indented JSON that a browser's ``JSON.parse`` reads: a non-finite number is null."""
    return json.dumps(finite(value), indent=2, allow_nan=False) + "\n"
