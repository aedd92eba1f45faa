"""Backup and restore as deploy/README.md §7 tells an operator to do it, with its own scripts: deploy/backup.sh
(pg_dump, then the blobs) while the service runs, deploy/restore.sh into a fresh database and a fresh bucket
prefix, a host started on it with deploy/serve.sh.

What must hold: the restored site verifies (`trading verify` with a fresh state); a verifier that kept its
state from after the backup reports the rollback, and — once the bidders whose bids were lost submit them
again and the log is as long as it was — a fork; the blobs copied after the dump that no restored row
references show as unreferenced to `trading blobs gc --dry-run`; a restored bucket that lost a blob is named
by `trading blobs check`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import msgspec
import pytest
from sqlalchemy import update

from tests.bidding.harness import ciphertexts, make_bidder, open_section, seal, submit
from tests.conftest import _create_pg_database, _drop_pg_database
from tests.deploy.test_topology import NAMES, REPO, _env_file, _host
from tests.factories import build_world
from trading.blobs import make_blob_store
from trading.projects.models import Section

pytestmark = pytest.mark.asyncio
BIN = Path(sys.executable).parent


def _run(*command: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(c) for c in command],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", **(env or {})},
    )


def _trading(env_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A `trading` command with a host's settings file loaded, as an operator runs it."""
    return _run("bash", "-c", 'set -a; . "$1"; set +a; shift; exec trading "$@"', "_", env_file, *args)


async def _verify(url: str, state: Path, home: Path) -> tuple[int, dict]:
    done = await asyncio.to_thread(_run, "trading", "verify", url, "--state", state, "--json", env={"HOME": str(home)})
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout)


async def _included(site: httpx.AsyncClient, receipts: list[dict], patience: float = 30) -> int:
    """The largest leaf index of the receipts' entries, once a signed checkpoint holds them all."""
    async with asyncio.timeout(patience):
        while True:
            size = await _tree_size(site)
            found = [
                await site.get("/log/proof/inclusion", params={"tree_size": size, "leaf_hash": r["leaf_hash"]})
                for r in receipts
            ]
            if size and all(f.status_code == 200 for f in found):
                return max(f.json()["index"] for f in found)
            await asyncio.sleep(0.1)


async def _tree_size(site: httpx.AsyncClient) -> int:
    return int((await site.get("/log/checkpoint")).text.split("\n")[1])


def _codes(report: dict) -> set[str]:
    return {p["code"] for p in report["problems"]}


async def test_a_restored_backup_verifies_and_a_verifier_that_saw_more_reports_the_rollback(
    app, client, clock, settings, tmp_path, backend
):
    if backend != "postgresql" or settings.blob_store != "s3":
        pytest.skip("backup and restore are of PostgreSQL and the bucket")
    clock.set(datetime.now(UTC) - timedelta(days=30))
    world = await build_world(app, clock.at)
    section = await open_section(app, client, world, clock.at, k=2)
    bidders = [await make_bidder(app, client, clock.at, i + 1, NAMES[i]) for i in range(4)]
    paths = [
        seal(section, b, tmp_path, price=4_500_000_000 + i * 10_000_000, documents={"技术标.bin": os.urandom(50_000)})
        for i, b in enumerate(bidders)
    ]
    async with app.state.sessionmaker() as s:  # bidding stays open through the test
        await s.execute(
            update(Section).where(Section.id == section.id).values(deadline_at=datetime.now(UTC) + timedelta(hours=2))
        )
        await s.commit()
    await app.state.engine.dispose()  # from here only the hosts run

    backup, saved = tmp_path / "backup", tmp_path / "verifier-state.json"

    async def bid(site: httpx.AsyncClient, i: int) -> dict:
        r = await submit(site, bidders[i], section, paths[i])
        assert r.status_code == 201, r.text
        return r.json()["receipt"]["document"]

    with _host(settings, tmp_path / "host1", "host1") as port:
        url = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=url, timeout=30) as site:
            before = [await bid(site, i) for i in (0, 1)]
            # A receipt promises its entry within the merge delay: wait until the checkpoint covers the bids.
            last = await _included(site, before)
            assert await _tree_size(site) > last
            rc, report = await _verify(url, saved, tmp_path)
            assert rc == 0, report
            backed_up = report["tree_size"]

            done = await asyncio.to_thread(
                _run, REPO / "deploy" / "backup.sh", tmp_path / "host1" / "trading.env", backup
            )
            assert done.returncode == 0, done.stdout + done.stderr
            assert (backup / "trading.dump").stat().st_size > 0

            # After the backup: two more bids, seen by the verifier.
            after = [await bid(site, i) for i in (2, 3)]
            last = await _included(site, after)
            assert await _tree_size(site) > last
            rc, report = await _verify(url, saved, tmp_path)
            assert rc == 0, report
            seen = report["tree_size"]
            assert seen >= backed_up + 2
        # The blobs copied again later into the same folder (a nightly copy reusing it): it then holds more
        # than the dump references, never less.
        done = await asyncio.to_thread(
            _trading, tmp_path / "host1" / "trading.env", "blobs", "export", str(backup / "blobs")
        )
        assert done.returncode == 0 and "exported 已导出 4 blobs" in done.stdout, done.stdout + done.stderr
        # One file of the backup rots in place (same size): only a verifying export finds it, and mends it from
        # the store while the store still has it.
        rotten = next(p for p in (backup / "blobs").glob("??/??/*") if len(p.name) == 64)
        whole = rotten.read_bytes()
        rotten.write_bytes(bytes([whole[0] ^ 1]) + whole[1:])
        done = await asyncio.to_thread(
            _trading, tmp_path / "host1" / "trading.env", "blobs", "export", "--verify", str(backup / "blobs")
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "repaired: 1 damaged copies" in done.stderr and rotten.name in done.stderr, done.stderr
        assert rotten.read_bytes() == whole

    # Disaster: restored from the backup into a fresh database and a fresh prefix of the bucket.
    fresh_url = await _create_pg_database()
    try:
        restored = msgspec.structs.replace(settings, database_url=fresh_url, s3_prefix=f"{settings.s3_prefix}-restored")
        (tmp_path / "restore").mkdir()
        env = _env_file(restored, tmp_path / "restore", "host2")
        done = await asyncio.to_thread(_run, REPO / "deploy" / "restore.sh", env, backup)
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"最新检查点 {backed_up} 条" in done.stdout, done.stdout
        # restore.sh refuses a database that is not empty.
        again = await asyncio.to_thread(_run, REPO / "deploy" / "restore.sh", env, backup)
        assert again.returncode != 0 and "not empty" in again.stderr, again.stdout + again.stderr

        # The blobs of the two lost bids were copied after the dump: nothing restored references them.
        lost = {hashlib.sha256(data).hexdigest() for i in (2, 3) for data in ciphertexts(paths[i]).values()}
        gc = await asyncio.to_thread(_trading, env, "blobs", "gc", "--dry-run", "--grace-hours", "0")
        assert gc.returncode == 0, gc.stdout + gc.stderr
        assert f"would delete: {len(lost)} unreferenced blobs" in gc.stdout, gc.stdout

        with _host(restored, tmp_path / "host2", "host2", port=port) as same_port:
            assert same_port == port  # the same public address the verifier knows
            async with httpx.AsyncClient(base_url=url, timeout=30) as site:
                assert await _tree_size(site) == backed_up
                rc, report = await _verify(url, tmp_path / "newcomer.json", tmp_path)
                assert rc == 0, report
                assert report["tree_size"] == backed_up

                rc, report = await _verify(url, saved, tmp_path)
                assert rc == 1 and _codes(report) == {"rollback"}, report
                [problem] = report["problems"]
                assert "日志被回滚" in problem["what"] and "the log was rolled back" in problem["what"]
                assert f"has {seen} entries, the one served now {backed_up}" in problem["what"], problem

                # The two bidders whose receipts the restore lost submit again: the log grows back to the size
                # the verifier saw, but it is not the log the verifier saw.
                await _included(site, [await bid(site, i) for i in (2, 3)])
                assert await _tree_size(site) == seen
                rc, report = await _verify(url, saved, tmp_path)
                assert rc == 1 and _codes(report) == {"split_view"}, report
                assert "the log forked" in report["problems"][0]["what"]
                # The saved state is not moved on by a failed check: it reports the fork every time.
                assert json.loads(saved.read_text())[url]["size"] == seen

        # A restored bucket that lost a blob: named, with the bid that references it.
        gone = sorted(lost)[0]
        await make_blob_store(restored).delete(gone)
        check = await asyncio.to_thread(_trading, env, "blobs", "check")
        assert check.returncode == 1 and gone in check.stderr and "bid " in check.stderr, check.stdout + check.stderr
        gc = await asyncio.to_thread(_trading, env, "blobs", "gc", "--dry-run")
        assert gc.returncode == 1 and "missing: 1 blobs" in gc.stderr, gc.stdout + gc.stderr
    finally:
        await _drop_pg_database(fresh_url)
