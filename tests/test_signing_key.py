"""The platform key is created once, whole, even when every worker starts at the same instant."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from trading.keys import load_or_create_signing_key


def _public(key) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def test_workers_starting_together_all_read_one_whole_key(tmp_path: Path) -> None:
    # A bench run caught a worker reading the key while another was still writing it (MalformedFraming).
    for attempt in range(30):
        path = tmp_path / f"run{attempt}" / "key.pem"
        start = threading.Barrier(8)
        found: list[bytes] = []
        failures: list[BaseException] = []

        def worker() -> None:
            start.wait()
            try:
                found.append(_public(load_or_create_signing_key(path)))
            except BaseException as exc:  # collected and reported below
                failures.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert failures == []
        assert len(set(found)) == 1
        assert sorted(p.name for p in path.parent.iterdir()) == ["key.pem"]  # no drafts left behind
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_an_existing_key_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "key.pem"
    first = _public(load_or_create_signing_key(path))
    assert _public(load_or_create_signing_key(path)) == first
