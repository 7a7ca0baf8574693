"""Secrets (API keys, access tokens) are configured only as hashes, never as themselves.

Settings files and environment dumps then hold nothing a reader could present; a service
hashes what a caller presents and compares hashes.
"""

from __future__ import annotations

import hashlib
import re
import secrets

SECRET_HASH = re.compile(r"sha256:[0-9a-f]{64}")
"""The configured form of a secret: ``sha256:`` and 64 lower-case hex digits."""


def hash_secret(secret: str) -> str:
    """The form a secret is configured in: ``sha256:<hex>`` of its UTF-8 bytes."""
    return "sha256:" + hashlib.sha256(secret.encode()).hexdigest()


def is_secret_hash(value: str) -> bool:
    """Whether ``value`` is a hash as configured, rather than (by mistake) a secret itself."""
    return SECRET_HASH.fullmatch(value) is not None


def new_secret(size: int = 24) -> str:
    """A random URL-safe secret of ``size`` bytes that never starts with ``-``, so it can be
    passed as an argument (``initiatives api-key-hash <key>``) without reading as an option."""
    secret = secrets.token_urlsafe(size)
    while secret.startswith("-"):
        secret = secrets.token_urlsafe(size)
    return secret
