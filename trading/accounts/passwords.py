"""Password hashing with Argon2id (memory-hard, from ``cryptography``), in a self-describing string.

Format: ``argon2id$m=<KiB>,t=<iterations>,p=<lanes>$<salt b64>$<hash b64>`` so that the cost can be raised
later without invalidating stored hashes.
"""

from __future__ import annotations

import base64
import hmac
import os

import anyio
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

#: One lane: OpenSSL's multi-lane Argon2 fails (MemoryError) or stalls when several threads derive at
#: once, which concurrent sign-ins do. Parallelism comes from the limiter below instead.
LANES = 1
#: At most this many derivations at once per worker, so memory stays bounded (4 × 64 MiB by default).
_KDF_LIMITER = anyio.CapacityLimiter(4)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str, *, memory_cost: int = 65536, iterations: int = 3) -> str:
    salt = os.urandom(16)
    digest = Argon2id(salt=salt, length=32, iterations=iterations, lanes=LANES, memory_cost=memory_cost).derive(
        password.encode()
    )
    return f"argon2id$m={memory_cost},t={iterations},p={LANES}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, params, salt_b64, digest_b64 = stored.split("$")
        if scheme != "argon2id":
            return False
        p = dict(item.split("=") for item in params.split(","))
        digest = Argon2id(
            salt=_unb64(salt_b64),
            length=32,
            iterations=int(p["t"]),
            lanes=int(p["p"]),
            memory_cost=int(p["m"]),
        ).derive(password.encode())
    except (ValueError, KeyError):
        return False
    return hmac.compare_digest(digest, _unb64(digest_b64))


#: A hash to verify against when the account does not exist, so that timing does not reveal usernames.
_DUMMY = None


async def verify_password_async(password: str, stored: str | None, *, memory_cost: int, iterations: int) -> bool:
    """Verify off the event loop; with no stored hash, spend the same effort and fail."""
    global _DUMMY
    if stored is None:
        if _DUMMY is None:
            _DUMMY = hash_password("x", memory_cost=memory_cost, iterations=iterations)
        await anyio.to_thread.run_sync(verify_password, password, _DUMMY, limiter=_KDF_LIMITER)
        return False
    return await anyio.to_thread.run_sync(verify_password, password, stored, limiter=_KDF_LIMITER)
