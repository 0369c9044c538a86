"""Content keys: what a kept result or a drawn figure was made from, as one hash."""

from __future__ import annotations

import hashlib


def digest(*parts: bytes | str) -> str:
    """A hash of the parts, each one delimited so that no two lists of parts collide."""
    hashed = hashlib.sha256()
    for part in parts:
        hashed.update(part if isinstance(part, bytes) else part.encode())
        hashed.update(b"\0")
    return hashed.hexdigest()
