"""Console users: creating them and checking their passwords (Argon2id)."""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from zxcvbn import zxcvbn

from workbench.enums import Role
from workbench.models import Moderator
from workbench.models.audit import record

# One hasher per process, its cost set from the settings by ``set_hash_cost`` when the app
# starts (argon2-cffi's defaults until then).
_hasher = PasswordHasher()
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
#: zxcvbn's score (0 to 4) a password needs; administrators need the top score.
MIN_PASSWORD_SCORE = 3
MIN_ADMIN_PASSWORD_SCORE = 4
# zxcvbn's time grows with the square of the length (3.6 s for 1,024 characters), so it
# reads the first 72: a password is as weak as a guessable start of it.
_SCORED_LENGTH = 72


class StaffError(ValueError):
    """A console user cannot be created as asked."""


def set_hash_cost(time_cost: int, memory_kib: int, parallelism: int) -> None:
    """Hash new passwords with this Argon2id cost (checked against a floor in settings)."""
    global _hasher
    if (_hasher.time_cost, _hasher.memory_cost, _hasher.parallelism) != (
            time_cost, memory_kib, parallelism):
        _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib,
                                 parallelism=parallelism)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


_DUMMY_PASSWORD = "not-a-real-password-0"
_dummy_hashes: dict[tuple[int, int, int], str] = {}


def dummy_hash() -> str:
    """A hash of no one's password at the current cost, checked when an email is unknown
    so that a wrong address costs as long as a wrong password."""
    cost = (_hasher.time_cost, _hasher.memory_cost, _hasher.parallelism)
    if cost not in _dummy_hashes:
        _dummy_hashes[cost] = _hasher.hash(_DUMMY_PASSWORD)
    return _dummy_hashes[cost]


def needs_rehash(password_hash: str) -> bool:
    """Whether a stored hash was made with another cost than the one set now."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def password_problem(password: str, role: str, email: str = "") -> str | None:
    """Why ``password`` may not be used by a ``role`` user, or None if it may.

    12 to 1,024 characters, not blank, and hard to guess: zxcvbn (offline) scores it 3 of
    4 or more, 4 for administrators. The email's parts count as guessable words.
    """
    if not password.strip():
        return "The password cannot be only spaces."
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"The password needs at least {MIN_PASSWORD_LENGTH} characters."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"The password can have at most {MAX_PASSWORD_LENGTH:,} characters."
    needed = MIN_ADMIN_PASSWORD_SCORE if role == Role.ADMIN.value else MIN_PASSWORD_SCORE
    words = [w for w in re.split(r"[@._+-]", email.lower()) if w]
    result = zxcvbn(password[:_SCORED_LENGTH], user_inputs=words, max_length=_SCORED_LENGTH)
    if result["score"] >= needed:
        return None
    hint = (result.get("feedback") or {}).get("warning") or ""
    who = "an administrator's" if role == Role.ADMIN.value else "a console"
    return (f"This password is too easy to guess (strength {result['score']} of 4; "
            f"{who} password needs {needed}). "
            + (f"{hint.rstrip('.')}. " if hint else "")
            + "Use a longer phrase of unrelated words.")


def create_moderator(
    session: Session,
    email: str,
    password: str,
    role: str,
    *,
    display_name: str | None = None,
    languages: list[str] | None = None,
) -> Moderator:
    """Create a console user with a hashed password."""
    email = email.strip().lower()
    if not EMAIL_PATTERN.match(email):
        raise StaffError(f"{email!r} is not an email address")
    if role not in {r.value for r in Role}:
        raise StaffError(f"role {role!r}: choose one of {', '.join(r.value for r in Role)}")
    problem = password_problem(password, role, email)
    if problem is not None:
        raise StaffError(problem)
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
