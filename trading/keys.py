"""The platform's Ed25519 signing key: it signs log checkpoints and bid receipts.

Created once (``trading keys init``, or on first start). Several workers start together, so the key is
written whole to a private temporary file first and then linked into place, which fails if another worker
linked theirs first: nobody ever reads a half-written key, and all end up with the same one. Readable by its
owner only.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def load_or_create_signing_key(path: str | os.PathLike[str]) -> Ed25519PrivateKey:
    target = Path(path)
    if not target.exists():
        _create(target)
    key = serialization.load_pem_private_key(target.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{target} does not hold an Ed25519 private key")
    return key


def _create(target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    draft = target.with_name(f".{target.name}.{os.getpid()}.{os.urandom(4).hex()}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(draft, target)  # atomic, and refuses to replace a key another worker linked first
        except FileExistsError:
            return  # theirs is whole: use it
        directory = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    finally:
        draft.unlink(missing_ok=True)
