"""The one way a console form's work ends: committed, or rolled back with the reason shown."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import flash

from workbench.extensions import db


@dataclass
class Attempt:
    """Whether the work in a ``form_work`` block was committed."""

    ok: bool = False


@contextmanager
def form_work(*refusals: type[Exception]) -> Iterator[Attempt]:
    """Commit the block's work; on one of ``refusals``, roll it back and flash why.

    Any other exception propagates (and the request's session is rolled back as usual).
    The caller reads ``attempt.ok`` to choose its next page.
    """
    attempt = Attempt()
    try:
        yield attempt
    except refusals as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return
    db.session.commit()
    attempt.ok = True
