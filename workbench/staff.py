"""Console users: creating them and checking their passwords (Argon2id)."""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workbench.enums import Role
from workbench.models import Moderator
from workbench.models.audit import record

_hasher = PasswordHasher()
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 10


class StaffError(ValueError):
    """A console user cannot be created as asked."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def create_moderator(
    session: Session,
    email: str,
    password: str,
    role: str,
    *,
    display_name: str | None = None,
    languages: list[str] | None = None,
    min_password_length: int = MIN_PASSWORD_LENGTH,
) -> Moderator:
    """Create a console user with a hashed password."""
    email = email.strip().lower()
    if not EMAIL_PATTERN.match(email):
        raise StaffError(f"{email!r} is not an email address")
    if role not in {r.value for r in Role}:
        raise StaffError(f"role {role!r}: choose one of {', '.join(r.value for r in Role)}")
    if len(password) < min_password_length:
        raise StaffError(f"password: at least {min_password_length} characters")
    exists = session.execute(
        select(Moderator.id).where(func.lower(Moderator.email) == email)
    ).first()
    if exists:
        raise StaffError(f"{email} already exists")
    moderator = Moderator(
        email=email,
        password_hash=hash_password(password),
        role=role,
        display_name=display_name or email.split("@")[0],
        languages=languages or ["en"],
        settings={},
    )
    session.add(moderator)
    session.flush()
    record(session, "moderator.created", "moderator", moderator.id, data={"role": role})
    return moderator
