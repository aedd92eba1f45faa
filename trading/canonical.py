"""The one canonical encoding for hashed and signed documents: UTF-8 JSON, keys sorted, no spaces.

It is the RFC 8785 (JCS) shape for the values the platform stores — strings, integers, booleans, null,
lists and objects. Money is integer fen, so floats are rare (areas, ratios) and Python writes them in
their shortest round-trip form. A document is hashed as these exact bytes and stored as them.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def document_hash(value: Any) -> str:
    return sha256_hex(canonical_bytes(value))
