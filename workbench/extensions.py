"""Flask extensions, created unbound and initialised in ``create_app``."""

from __future__ import annotations

from flask_sqlalchemy import SQLAlchemy

from workbench.models.base import Base

db = SQLAlchemy(model_class=Base)
