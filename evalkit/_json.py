"""Strict JSON for everything evalkit prints or writes: no NaN or Infinity tokens.

Python's ``json`` writes ``NaN`` and ``Infinity``, which JavaScript's
``JSON.parse`` and strict parsers reject. Non-finite numbers become ``null``;
where a number's absence needs a reason (a metric), the producer records it.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np


def finite(value: Any) -> Any:
    """``value`` with every non-finite float (Python or numpy) replaced by ``None``,
    numpy scalars and arrays made plain, through dicts, lists and tuples."""
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(item) for item in value]
    if isinstance(value, np.ndarray):
        return finite(value.tolist())
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def dumps(value: Any, **options: Any) -> str:
    """:func:`json.dumps` of :func:`finite` ``(value)``, refusing any NaN left."""
    return json.dumps(finite(value), allow_nan=False, **options)
