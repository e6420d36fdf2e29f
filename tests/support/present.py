"""``present(value)``: a value the test expects to be there, typed without its None."""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")


def present(value: T | None) -> T:
    """``value``, failing the test where it is None.

    For inside an expression (a comprehension, a chain of calls), where an
    ``assert value is not None`` cannot go.
    """
    assert value is not None, "expected a value, found None"
    return value
