"""The deployment of deploy/README.md, run on this machine: PostgreSQL, SeaweedFS (S3), three app hosts
started by deploy/serve.sh (each `trading serve` with its own data directory, no shared disk) and nginx in
front with deploy/nginx/trading-proxy.conf — all on 127.0.0.1 ports.

Through it: bidders submit through nginx; one bid is begun on the first host, continued on the second and
completed on the third, and receipted once; the deadline's close, its log cut and the opening record happen
exactly once although every host runs the scheduler; everything is in the log and `trading verify` passes.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, update

from tests.bidding.harness import (
    begun,
    bid_rows,
    ciphertexts,
    complete,
    make_bidder,
    open_all,
    open_section,
    opening_record,
    put,
    seal,
    start_opening,
    upload,
)
from tests.factories import build_world
from tests.processes import free_port, stop_group, wait_ready
from trading.projects.models import Section

pytestmark = pytest.mark.asyncio
REPO = Path(__file__).resolve().parents[2]
NAMES = ["湖南建工集团有限公司", "中建五局第三建设有限公司", "湖南省第六工程有限公司", "常德市政建设集团有限公司"]
#: Seconds from arranging the section to its deadline: time enough to submit through the proxy.
LEAD = 25


def _nginx() -> str | None:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)


def _env_file(settings, folder: Path, name: str) -> Path:
    """A host's deploy/trading.env: the shared database and bucket, its own data directory."""
    values = {
        "DATABASE_URL": settings.database_url,
        "BLOB_STORE": "s3",
        "S3_ENDPOINT": settings.s3_endpoint,
        "S3_BUCKET": settings.s3_bucket,
        "S3_PREFIX": settings.s3_prefix,
        "S3_ACCESS_KEY_ID": settings.s3_access_key_id,
        "S3_SECRET_ACCESS_KEY": settings.s3_secret_access_key,
        "BLOB_DIR": str(folder / "blobs"),
        "SIGNING_KEY_PATH": settings.signing_key_path,  # every host, one key (deploy/README.md §3)
        "BASE_URL": settings.base_url,
        "TRUSTED_PROXIES": "127.0.0.1",
        "COOKIE_SECURE": "false",
        "POOL_SIZE": "3",
        "LOG_INTERVAL": "0.2",
        "TOKEN_LIFETIMES": settings.token_lifetimes,
        "INSTANCE_NAME": name,
    }
    from trading.settings import Settings

    known = {f.upper() for f in Settings.__struct_fields__}
    path = folder / "trading.env"
    path.write_text("".join(f"TRADING_{k}='{v}'\n" for k, v in values.items() if k in known), encoding="utf-8")
    return path


@contextmanager
def _host(settings, folder: Path, name: str, port: int | None = None) -> Iterator[int]:
    """`deploy/serve.sh` on its own env file and data directory, on *port* (default: a free one)."""
    folder.mkdir(parents=True)
    port = port or free_port()
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "WORKERS": "1",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "SKIP_UPGRADE": "1",
    }
    log = (folder / "serve.log").open("wb")
    process = subprocess.Popen(
        ["bash", str(REPO / "deploy" / "serve.sh"), str(_env_file(settings, folder, name))],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}/readyz", process, _tail(folder / "serve.log"))
        yield port
    finally:
        stop_group(process, grace=15)


def _tail(log: Path):
    return lambda: log.read_text(errors="replace")[-3000:]


@contextmanager
def _nginx_in_front(folder: Path, ports: list[int]) -> Iterator[int]:
    """nginx with the deploy proxy settings, an upstream of the app hosts, on a free loopback port."""
    nginx = _nginx()
    assert nginx is not None
    folder.mkdir(parents=True)
    os.chmod(folder, 0o755)
    port = free_port()
    upstream = "".join(f"        server 127.0.0.1:{p} max_fails=3 fail_timeout=10s;\n" for p in ports)
    temp = "".join(
        f"    {kind}_temp_path {folder / kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (folder / "nginx.conf").write_text(
        f"""daemon off;
worker_processes 1;
pid {folder / "nginx.pid"};
error_log {folder / "error.log"} info;
events {{ worker_connections 256; }}
http {{
    access_log {folder / "access.log"};
{temp}
    map $http_upgrade $trading_connection {{
        default upgrade;
        ''      '';
    }}
    upstream trading_app {{
{upstream}        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{port};
        include {REPO / "deploy" / "nginx" / "trading-proxy.conf"};
    }}
}}
""",
        encoding="utf-8",
    )
    check = subprocess.run([nginx, "-t", "-p", str(folder), "-c", str(folder / "nginx.conf")], capture_output=True)
    assert check.returncode == 0, check.stderr.decode()
    process = subprocess.Popen(
        [nginx, "-p", str(folder), "-c", str(folder / "nginx.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}/readyz", process, _tail(folder / "error.log"))
        yield port
    finally:
        process.send_signal(signal.SIGQUIT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


async def test_three_app_hosts_behind_nginx_share_the_database_and_the_bucket(
    app, client, clock, settings, tmp_path, backend
):
    if backend != "postgresql" or settings.blob_store != "s3":
        pytest.skip("the deployment runs on PostgreSQL and S3")
    if _nginx() is None:
        if os.environ.get("TRADING_TEST_REQUIRE_POSTGRES") == "1":
            pytest.fail("nginx is not installed (apt-get install nginx); .ci/run installs it")
        pytest.skip("nginx is not installed (apt-get install nginx)")
    # Arranged through the app in-process (at a past moment, so the tender's periods hold), then the section's
    # deadline moved to a few seconds from now: the hosts run on the database's own clock.
    clock.set(datetime.now(UTC) - timedelta(days=30))
    world = await build_world(app, clock.at)
    section = await open_section(app, client, world, clock.at, k=2)
    bidders = [await make_bidder(app, client, clock.at, i + 1, NAMES[i]) for i in range(4)]
    paths = [
        seal(section, b, tmp_path, price=4_500_000_000 + i * 10_000_000, documents={"技术标.bin": os.urandom(300_000)})
        for i, b in enumerate(bidders)
    ]
    deadline = datetime.now(UTC) + timedelta(seconds=LEAD)
    async with app.state.sessionmaker() as s:
        await s.execute(update(Section).where(Section.id == section.id).values(deadline_at=deadline))
        await s.commit()
    await app.state.engine.dispose()  # the test's own app steps aside: only the hosts run from here

    with ExitStack() as stack:
        ports = [stack.enter_context(_host(settings, tmp_path / f"host{n}", f"host{n}")) for n in (1, 2, 3)]
        proxy = stack.enter_context(_nginx_in_front(tmp_path / "nginx", ports))
        hosts = [httpx.AsyncClient(base_url=f"http://127.0.0.1:{p}", timeout=30) for p in ports]
        front = httpx.AsyncClient(base_url=f"http://127.0.0.1:{proxy}", timeout=30)
        try:
            # Three bidders through nginx, at once.
            async def through_nginx(i: int) -> dict:
                info = await begun(front, bidders[i], section, paths[i])
                await upload(front, bidders[i], paths[i], info)
                r = await complete(front, bidders[i], info["upload_id"])
                assert r.status_code == 201, r.text
                return r.json()["receipt"]

            receipts = await asyncio.gather(*(through_nginx(i) for i in range(3)))
            # The fourth: begun on host 1, continued on host 2, completed on host 3, retried on host 1.
            data = ciphertexts(paths[3])
            info = await begun(hosts[0], bidders[3], section, paths[3])
            uid, half = info["upload_id"], len(data["documents"]) // 2
            assert (await put(hosts[0], bidders[3], uid, "documents", data["documents"][:half])).status_code == 200
            r = await hosts[1].put(
                f"/api/uploads/{uid}/documents",
                params={"offset": half},
                content=data["documents"][half:],
                headers=bidders[3].headers,
            )
            assert r.status_code == 200, r.text
            assert (await put(hosts[1], bidders[3], uid, "price", data["price"])).status_code == 200
            done = await complete(hosts[2], bidders[3], uid)
            assert done.status_code == 201, done.text
            again = await complete(hosts[0], bidders[3], uid)
            assert again.status_code == 201 and again.json()["receipt"] == done.json()["receipt"]
            receipts.append(done.json()["receipt"])
            assert datetime.now(UTC) < deadline, "the submissions took longer than LEAD: raise it"

            # The deadline passes; every host's scheduler tries to close the section; one does.
            while (await front.get(f"/api/sections/{section.id}/bidding")).json().get("accepts_bids", True):
                await asyncio.sleep(0.3)
            await asyncio.sleep(1.5)  # every host has had its rounds since
            r = await start_opening(front, world, section)
            assert r.status_code == 200, r.text
            await open_all(front, section)  # all three: the opening is due at once, and its job publishes the record
            record = await opening_record(front, section)
            assert sorted(b["manifest_sha256"] for b in record["fields"]["bids"]) == sorted(
                rc["document"]["manifest_sha256"] for rc in receipts
            )
            verify = await asyncio.to_thread(
                subprocess.run,
                [str(Path(sys.executable).parent / "trading"), "verify", f"http://127.0.0.1:{proxy}", "--json"],
                capture_output=True,
                env={**os.environ, "HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path / "state")},
                timeout=120,
            )
            assert verify.returncode == 0, verify.stdout.decode()[-3000:] + verify.stderr.decode()[-2000:]
        finally:
            for c in (*hosts, front):
                await c.aclose()

    # Exactly once across the hosts: one bid per bidder, one close, one deadline cut, one opening record.
    from bidding.models import Opening
    from notices.models import Notice
    from trading.audit.models import AuditEntry
    from trading.db import make_engine, make_sessionmaker
    from trading.log.models import LogEntry

    engine = make_engine(settings)
    try:
        async with make_sessionmaker(engine)() as s:
            rows = await bid_rows_in(s, section.id)
            assert len(rows) == 4 and len({r.organisation_id for r in rows}) == 4
            closes = await s.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.subject_type == "section", AuditEntry.subject_id == str(section.id))
                .where(AuditEntry.action == "section.close")
            )
            assert closes == 1
            cuts = await s.scalar(select(func.count()).select_from(LogEntry).where(LogEntry.kind == "deadline_cut"))
            assert cuts == 1
            records = await s.scalar(
                select(func.count())
                .select_from(Notice)
                .where(Notice.kind == "opening_record", Notice.project_id == section.notice["project_id"])
            )
            assert records == 1
            assert (await s.get(Opening, section.id)).state == "opened"
    finally:
        await engine.dispose()


async def bid_rows_in(session, section_id: int) -> list:
    from bidding.models import Bid

    return list(await session.scalars(select(Bid).where(Bid.section_id == section_id)))


_ = bid_rows  # the in-process helper, for reading while the test's app is still up
