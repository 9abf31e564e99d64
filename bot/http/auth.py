"""HTTP Basic authentication against an argon2 password hash.

argon2 is slow on purpose (tens of milliseconds). A verified Authorization header is
remembered for a few minutes under a keyed hash, so a busy client pays that once, not
per request; a wrong password always pays it in full.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import secrets
import time

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

REMEMBER_SECONDS = 300.0
REMEMBER_MAX = 1024

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


class BasicAuthenticator:
    def __init__(self, username: str, password_hash: str) -> None:
        self._username = username.encode()
        self._password_hash = password_hash
        self._key = secrets.token_bytes(32)
        self._verified: dict[bytes, float] = {}
        # Unknown users are checked against a real hash too, so timing reveals nothing.
        self._decoy_hash = _hasher.hash(secrets.token_urlsafe(16))

    async def verify(self, authorization: str | None) -> bool:
        if not authorization or not authorization.startswith("Basic "):
            return False
        fingerprint = hmac.new(self._key, authorization.encode(), hashlib.sha256).digest()
        expires = self._verified.get(fingerprint)
        if expires is not None and expires > time.monotonic():
            return True
        credentials = _decode(authorization[len("Basic ") :])
        if credentials is None:
            return False
        username, password = credentials
        known_user = hmac.compare_digest(username, self._username)
        checked_hash = self._password_hash if known_user else self._decoy_hash
        password_ok = await asyncio.to_thread(_matches, checked_hash, password)
        if not (known_user and password_ok):
            return False
        if len(self._verified) >= REMEMBER_MAX:
            self._verified.clear()
        self._verified[fingerprint] = time.monotonic() + REMEMBER_SECONDS
        return True


def _decode(encoded: str) -> tuple[bytes, bytes] | None:
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    username, separator, password = decoded.partition(b":")
    return (username, password) if separator else None


def _matches(password_hash: str, password: bytes) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
