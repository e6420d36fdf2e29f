"""Encryption at rest for platform secrets, keyed from the workbench's secret key."""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

# Changing this label makes every stored platform secret unreadable.
_HKDF_INFO = b"workbench platform secrets v1"


def _fernet(secret_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt_secret(secret_key: str, plaintext: str) -> bytes:
    """Encrypt a platform secret for storage."""
    return _fernet(secret_key).encrypt(plaintext.encode())


def decrypt_secret(secret_key: str, token: bytes) -> str:
    """Decrypt a stored platform secret.

    Raises:
        ValueError: the token was made with another secret key or was altered.
    """
    try:
        return _fernet(secret_key).decrypt(token).decode()
    except InvalidToken:
        raise ValueError("platform secret cannot be decrypted with this secret key") from None
