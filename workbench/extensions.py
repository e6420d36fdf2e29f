"""Flask extensions, created unbound and initialised in ``create_app``."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from flask_sqlalchemy import SQLAlchemy

from workbench.models.base import Base

if TYPE_CHECKING:
    from flask_sqlalchemy.session import Session

    class ScopedSession(Session):
        """``db.session`` as the type checker sees it: a ``scoped_session`` proxies every
        method of the Session of the current scope (app context), and adds ``remove``."""

        def remove(self) -> None: ...

    class _SQLAlchemy(SQLAlchemy):
        # Flask-SQLAlchemy types it scoped_session[Session], which is no Session to
        # functions taking one; at run time it is passed for one everywhere.
        session: ScopedSession  # type: ignore[assignment]  # a proxy of Session, see above

# The cast changes nothing at run time: db is the SQLAlchemy instance, db.session its
# scoped_session.
db = cast("_SQLAlchemy", SQLAlchemy(model_class=Base))
