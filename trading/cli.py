"""The ``trading`` command line: migrate, run the demo, serve, manage users."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from trading.settings import Settings, load_settings

if TYPE_CHECKING:
    from trading.blobs.backup import CopyReport


def _ensure_dirs(settings: Settings) -> None:
    if settings.is_sqlite:
        path = settings.database_url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(settings.blob_dir).mkdir(parents=True, exist_ok=True)


async def _upgrade(settings: Settings) -> None:
    from trading.db import make_engine
    from trading.migrate import upgrade

    _ensure_dirs(settings)
    engine = make_engine(msgspec.structs.replace(settings, database_timeout=0))  # a migration takes its time
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    asyncio.run(_upgrade(settings))
    print(f"数据库已迁移到最新版本 / database migrated: {_safe_url(settings.database_url)}")
    return 0


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from trading.demo.seed import DEMO_NOTE, demo_logins, seed_demo

    # A local demo over plain HTTP: the session cookie cannot be Secure-only there; its log is for a person.
    settings = msgspec.structs.replace(
        settings, cookie_secure=False, base_url=f"http://{args.host}:{args.port}", log_format=args.log_format
    )
    if args.reset:
        _reset_sqlite(settings)
    key_path, witness_vkey = _demo_witness(settings, reset=args.reset)
    settings = msgspec.structs.replace(
        settings, witness_keys=",".join(k for k in (settings.witness_keys, witness_vkey) if k)
    )
    asyncio.run(_upgrade(settings))
    created = asyncio.run(seed_demo(settings))
    print(created)
    print(DEMO_NOTE.format(url=f"http://{args.host}:{args.port}", logins=demo_logins()))
    print(f"独立见证人 / an independent witness cosigns the log's checkpoints: {witness_vkey}")
    print(f"    trading verify http://{args.host}:{args.port} --witness {witness_vkey}\n")
    sys.stdout.flush()
    # The witness is a process of its own, with its own key and state, as a real one would be on another
    # machine; it cosigns each checkpoint that extends the one it cosigned last.
    witness = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [
            sys.executable,
            "-m",
            "trading.cli",
            "witness",
            "run",
            f"http://{args.host}:{args.port}",
            "--key",
            str(key_path),
            "--name",
            DEMO_WITNESS,
            "--interval",
            "5",
            # uvicorn re-raises the signal that stopped it, so a finally here may never run: the witness
            # watches for its parent's end itself.
            "--exit-with-parent",
            str(os.getpid()),
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        return _run_server(settings, args.host, args.port, workers=1)
    finally:
        witness.terminate()
        witness.wait(timeout=10)


DEMO_WITNESS = "witness.demo.hunan.example"


def _demo_witness(settings: Settings, *, reset: bool) -> tuple[Path, str]:
    """The demo witness's key (made once, beside the demo's data) and its vkey; a reset database also
    resets what the witness remembers, or it would rightly refuse the new, shorter log."""
    from trading.log.note import Cosigner

    folder = Path(settings.blob_dir).resolve().parent / "demo-witness"
    folder.mkdir(parents=True, exist_ok=True)
    key_path = folder / "witness.pem"
    if reset:
        key_path.with_suffix(".state.json").unlink(missing_ok=True)
    if not key_path.exists():
        _write_new_witness_key(key_path)
    return key_path, Cosigner(DEMO_WITNESS, _load_witness_key(str(key_path))).vkey


def _reset_sqlite(settings: Settings) -> None:
    if not settings.is_sqlite:
        raise SystemExit("--reset 只用于内置 SQLite 演示库 / --reset only works on the embedded SQLite demo database")
    path = Path(settings.database_url.split("///", 1)[-1])
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    if args.log_format:
        settings = msgspec.structs.replace(settings, log_format=args.log_format)
    _ensure_dirs(settings)
    problems = asyncio.run(_unsafe_to_serve(settings))
    if problems:
        print("拒绝启动 / refusing to start:", file=sys.stderr)
        for line in problems:
            print(f"  ✗ {line}", file=sys.stderr)
        return 2
    return _run_server(settings, args.host, args.port, workers=args.workers)


async def _unsafe_to_serve(settings: Settings) -> list[str]:
    """What makes this installation unsafe to serve: a schema behind the code (every route would fail
    while /healthz said ok), or openers' private keys in its data directory (the demo keeps them there;
    anyone who can read them can open the sealed bids before the opening)."""
    from trading.db import make_engine
    from trading.migrate import schema_revisions

    problems = []
    engine = make_engine(settings)
    try:
        current, head = await schema_revisions(engine)
    except Exception as exc:  # cannot reach the database at all
        problems.append(f"无法连接数据库 / cannot reach the database ({type(exc).__name__}): 检查 TRADING_DATABASE_URL")
    else:
        if current != head:
            problems.append(
                f"数据库结构版本为 {current or '（未迁移）'}，程序需要 {head}：请先运行 `trading db upgrade` / "
                f"the database schema is at {current or '(never migrated)'}, the code needs {head}: run "
                "`trading db upgrade` first"
            )
    finally:
        await engine.dispose()
    for path in _opener_keys_near(settings):
        problems.append(
            f"数据目录中有开标人私钥 {path}：私钥只能保存在开标人自己的电脑上，请移走后再启动 / an opener's private "
            f"key is in the data directory ({path}): keys belong on the openers' own machines; remove it"
        )
    return problems


def _opener_keys_near(settings: Settings) -> list[Path]:
    """Opener key files (magic TBIDKEY) in the data directory: the blob directory's parent, a few levels down
    (the blob store itself holds only ciphertexts and is not read)."""
    from bidding.envelope.suites import KEY_FILE_MAGIC

    blobs = Path(settings.blob_dir).resolve()
    data = blobs.parent
    found = []
    for folder, subfolders, files in os.walk(data):
        here = Path(folder)
        depth = len(here.relative_to(data).parts)
        subfolders[:] = [] if depth >= 3 else sorted(d for d in subfolders if here / d != blobs)
        for name in sorted(files):
            try:
                with (here / name).open("rb") as fh:
                    if fh.read(len(KEY_FILE_MAGIC)) == KEY_FILE_MAGIC:
                        found.append(here / name)
            except OSError:
                continue
    return found


#: Where the workers of one server keep their metrics (prometheus_client's multiprocess mode).
METRICS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
#: After the uploads have drained, how long the server waits for the other requests still running (an opening
#: hall's event stream never ends by itself) before it stops them.
REQUESTS_GRACE = 5


def _run_server(settings: Settings, host: str, port: int, *, workers: int) -> int:
    import uvicorn

    from trading.observability import logging_config
    from trading.workers import SUPERVISOR_ENV, SocketPerWorker

    # Workers re-read the settings from the environment: pass ours through it.
    for field in msgspec.structs.fields(Settings):
        os.environ["TRADING_" + field.name.upper()] = (
            str(getattr(settings, field.name)).lower()
            if isinstance(getattr(settings, field.name), bool)
            else str(getattr(settings, field.name))
        )
    made_metrics_dir = _metrics_dir(workers)
    try:
        options: dict[str, Any] = dict(
            factory=True,
            host=host,
            port=port,
            workers=workers,
            # X-Forwarded-For / -Proto are believed only from the proxies the settings name (none by default):
            # from anyone else they would let a client choose its own address (and so its sign-in limits).
            proxy_headers=bool(settings.trusted_proxies.strip()),
            forwarded_allow_ips=settings.trusted_proxies.strip() or None,
            log_config=logging_config(settings.log_format, settings.instance_name),
            log_level="info",
            # Each request is logged once, by the platform (trading.observability), with its route and request id.
            access_log=False,
            timeout_graceful_shutdown=REQUESTS_GRACE,
            server_header=False,  # no "server: uvicorn": what runs the site is nobody's business to be told
        )
        if workers > 1:  # each worker on a socket of its own: a burst of connections is spread over them
            os.environ[SUPERVISOR_ENV] = str(os.getpid())  # (its workers watch it: trading.workers)
            with contextlib.suppress(KeyboardInterrupt):
                SocketPerWorker(uvicorn.Config("trading.asgi:app_factory", **options)).run()
        else:
            uvicorn.run("trading.asgi:app_factory", **options)
    finally:
        if made_metrics_dir is not None:
            shutil.rmtree(made_metrics_dir, ignore_errors=True)
    return 0


def _metrics_dir(workers: int) -> Path | None:
    """Several workers share their metrics through files in a directory (PROMETHEUS_MULTIPROC_DIR): the one the
    environment names, or a fresh one made here (returned, to be removed at exit). It must start empty, or an
    earlier run's counts would be added in. Set before any worker imports prometheus_client, which reads it then."""
    given = os.environ.get(METRICS_DIR_ENV)
    if not given and workers <= 1:
        return None
    folder = Path(given) if given else Path(tempfile.mkdtemp(prefix="trading-metrics-"))
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()
    os.environ[METRICS_DIR_ENV] = str(folder)
    return None if given else folder


def cmd_user_create(args: argparse.Namespace, settings: Settings) -> int:
    from trading.accounts.schemas import PersonCreate
    from trading.accounts.services import create_person
    from trading.clock import clock_from_setting
    from trading.context import Act
    from trading.db import make_engine, make_sessionmaker

    password = args.password or getpass.getpass("密码 / password: ")

    async def run() -> int:
        engine = make_engine(settings)
        try:
            async with make_sessionmaker(engine)() as session:
                data = PersonCreate(
                    username=args.username,
                    display_name=args.name or args.username,
                    password=password,
                    roles=args.roles.split(","),
                    centre_id=args.centre_id,
                    organisation_id=args.organisation_id,
                )
                at = await clock_from_setting(settings.clock).now(session)
                person = await create_person(session, Act(actor=None, address="cli", at=at), data, settings)
                await session.commit()
                print(f"已创建用户 {person.username}（{','.join(person.roles)}）")
        finally:
            await engine.dispose()
        return 0

    return asyncio.run(run())


def cmd_verify(args: argparse.Namespace, settings: Settings) -> int:
    import json as jsonlib

    import httpx

    from trading.verify import DEFAULT_STATE, verify_site

    url = args.url.rstrip("/")
    if args.receipt:
        # A bidder's receipt: the same check as `bidding verify-receipt` (signature, log entry, checkpoint,
        # and — online — inclusion in the latest checkpoint and consistency with the receipt's).
        from bidding.cli import main as bidding_main

        return bidding_main(["--server", url, "verify-receipt", args.receipt, *(["--offline"] if args.offline else [])])
    state = Path(args.state) if args.state else DEFAULT_STATE

    async def run() -> int:
        # The verifier's own clock, not the platform's: it decides how long a version may be pending.
        now = datetime.now(UTC)
        delay = timedelta(seconds=args.max_merge_delay) if args.max_merge_delay is not None else None
        async with httpx.AsyncClient(base_url=url, timeout=60, follow_redirects=False) as client:
            try:
                report, _ = await verify_site(
                    client,
                    url=url,
                    state_path=state,
                    now=now,
                    pinned_key=args.key,
                    max_merge_delay=delay,
                    witnesses=args.witness or [],
                    quiet=args.json or not sys.stderr.isatty(),
                )
            except httpx.HTTPError as exc:
                print(f"无法访问 / cannot reach {url}: {exc}", file=sys.stderr)
                return 2
        if args.json:
            print(jsonlib.dumps({"ok": report.ok, **report.__dict__}, ensure_ascii=False, indent=2))
        else:
            print(report.summary())
        return 0 if report.ok else 1

    return asyncio.run(run())


def _load_witness_key(path: str):  # type: ignore[no-untyped-def]
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise SystemExit("见证人密钥须为 Ed25519 / the witness key must be an Ed25519 key (trading witness keygen)")
    return key


def cmd_witness_run(args: argparse.Namespace, settings: Settings) -> int:
    import time

    from trading.log.note import Cosigner
    from trading.witness import run

    cosigner = Cosigner(args.name, _load_witness_key(args.key))
    state = Path(args.state) if args.state else Path(args.key).with_suffix(".state.json")
    return asyncio.run(
        run(
            args.url.rstrip("/"),
            cosigner,
            state,
            interval=args.interval,
            once=args.once,
            # A cosignature's timestamp is the witness's own clock by design (C2SP tlog-cosignature).
            now=lambda: int(time.time()),
            log_vkey=args.log_key,
            say=lambda line: print(line, flush=True),
            parent=args.exit_with_parent,
        )
    )


def cmd_witness_keygen(args: argparse.Namespace, settings: Settings) -> int:
    from trading.log.note import Cosigner

    print(Cosigner(args.name, _write_new_witness_key(Path(args.out))).vkey)
    return 0


def _write_new_witness_key(out: Path):  # type: ignore[no-untyped-def]
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    return key


@asynccontextmanager
async def _blob_state(settings: Settings) -> AsyncIterator[Any]:
    """The database and the blob store the settings name, as the app's state holds them."""
    from litestar.datastructures import State

    from trading.blobs import make_blob_store
    from trading.db import make_engine, make_sessionmaker

    engine = make_engine(settings)
    state = State({"settings": settings, "engine": engine, "sessionmaker": make_sessionmaker(engine)})
    state.blobs = make_blob_store(settings, engine)
    try:
        yield state
    finally:
        await engine.dispose()


def cmd_blobs_gc(args: argparse.Namespace, settings: Settings) -> int:
    """Delete what no row references in the blob store (after the grace period), move the ciphertexts the
    database has kept long enough into it; print what was done."""
    from trading.blobs.gc import collect_garbage, move_kept

    grace = timedelta(hours=settings.blob_gc_grace_hours if args.grace_hours is None else args.grace_hours)

    async def run() -> int:
        async with _blob_state(settings) as state:
            report = await collect_garbage(state, grace=grace, dry_run=args.dry_run)
            moved = await move_kept(state, dry_run=args.dry_run)
        verb = "would delete" if args.dry_run else "deleted"
        print(
            f"{verb}: {report.blobs_deleted} unreferenced blobs, {report.uploads_deleted} dead uploads, "
            f"{report.debris_deleted} temporary files; kept {report.blobs_kept} referenced blobs older than "
            f"{grace.total_seconds() / 3600:g} h"
        )
        if moved:
            print(
                f"{'would move' if args.dry_run else 'moved'}: {moved} ciphertexts the database kept for "
                f"{settings.inline_blob_keep_days:g} days, into the blob store"
            )
        if report.blobs_missing:
            print(
                f"缺失 {report.blobs_missing} 个被引用的文件 / missing: {report.blobs_missing} blobs the database "
                "references are not in the store (trading blobs check names them)",
                file=sys.stderr,
            )
            return 1
        return 0

    return asyncio.run(run())


def cmd_blobs_check(args: argparse.Namespace, settings: Settings) -> int:
    """Every blob the database references is in the store: after a restore, nothing the bucket lost."""
    from trading.blobs.backup import missing_blobs

    async def run() -> int:
        async with _blob_state(settings) as state:
            missing = await missing_blobs(state)
        if not missing:
            print("OK: every blob the database references is in the store. 文件齐全。")
            return 0
        print(
            f"缺失 {len(missing)} 个被引用的文件 / missing: {len(missing)} blobs the database references are not "
            "in the store:",
            file=sys.stderr,
        )
        for sha256, rows in missing.items():
            print(f"  ✗ {sha256}: {', '.join(rows)}", file=sys.stderr)
        return 1

    return asyncio.run(run())


def _copy_outcome(report: CopyReport) -> int:
    """Name the copies found damaged in the target and mended, and the blobs a copy left out because their bytes
    no longer hash to their address; 1 if any blob was left out."""
    if report.verified:
        print(f"re-hashed 已校验 {report.verified} copies already there: whole")
    if report.repaired:
        print(
            f"修复 {len(report.repaired)} 个已损坏的副本 / repaired: {len(report.repaired)} damaged copies replaced "
            "from the source",
            file=sys.stderr,
        )
        for sha256 in report.repaired:
            print(f"  ↻ {sha256}", file=sys.stderr)
    if not report.damaged:
        return 0
    print(
        f"损坏 {len(report.damaged)} 个文件，未复制 / damaged, not copied: {len(report.damaged)} blobs",
        file=sys.stderr,
    )
    for sha256 in report.damaged:
        print(f"  ✗ {sha256}", file=sys.stderr)
    return 1


def cmd_blobs_export(args: argparse.Namespace, settings: Settings) -> int:
    """Copy the store's blobs into a folder (a backup); what the folder holds whole already is left as it is."""
    from trading.blobs.backup import copy_blobs
    from trading.blobs.local import LocalBlobStore

    async def run() -> int:
        async with _blob_state(settings) as state:
            report = await copy_blobs(state.blobs, LocalBlobStore(args.folder), verify=args.verify)
        print(
            f"exported 已导出 {report.copied} blobs ({report.copied_bytes} bytes) to {args.folder}; "
            f"{report.already_there} were there already"
        )
        return _copy_outcome(report)

    return asyncio.run(run())


def cmd_blobs_import(args: argparse.Namespace, settings: Settings) -> int:
    """Copy a folder's blobs (an export) into the store, each checked against its SHA-256 address."""
    from trading.blobs.backup import copy_blobs
    from trading.blobs.local import LocalBlobStore

    if not Path(args.folder).is_dir():
        print(f"没有这个目录 / no such folder: {args.folder}", file=sys.stderr)
        return 2

    async def run() -> int:
        async with _blob_state(settings) as state:
            report = await copy_blobs(LocalBlobStore(args.folder), state.blobs, verify=args.verify)
        print(
            f"imported 已导入 {report.copied} blobs ({report.copied_bytes} bytes) from {args.folder}; "
            f"{report.already_there} were in the store already"
        )
        return _copy_outcome(report)

    return asyncio.run(run())


def cmd_keys_init(args: argparse.Namespace, settings: Settings) -> int:
    from trading.keys import load_or_create_signing_key
    from trading.log.note import NoteSigner

    key = load_or_create_signing_key(settings.signing_key_path)
    print(NoteSigner(settings.log_origin, key).vkey)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="trading", description="湖南省公共资源交易平台 — the platform's command line")
    parser.add_argument("--config", help="a TOML settings file (else TRADING_CONFIG / TRADING_* variables)")
    sub = parser.add_subparsers(dest="command", required=True)

    db = sub.add_parser("db", help="database migrations")
    dbsub = db.add_subparsers(dest="db_command", required=True)
    dbsub.add_parser("upgrade", help="apply every migration").set_defaults(func=cmd_db_upgrade)

    demo = sub.add_parser("demo", help="migrate, seed realistic Hunan trades and serve the portal")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--reset", action="store_true", help="delete the demo database first")
    demo.add_argument("--log-format", choices=["text", "json"], default="text", help="log lines (default: text)")
    demo.set_defaults(func=cmd_demo)

    serve = sub.add_parser("serve", help="run the service with production settings")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=max(2, os.cpu_count() or 2))
    serve.add_argument(
        "--log-format", choices=["json", "text"], help="log lines: JSON (the default, log_format) or text for people"
    )
    serve.set_defaults(func=cmd_serve)

    verify = sub.add_parser("verify", help="check a platform's public record against its transparency log")
    verify.add_argument("url", help="the platform's base URL, e.g. http://127.0.0.1:8000")
    verify.add_argument("--json", action="store_true", help="machine-readable output")
    verify.add_argument("--state", help="where the last checkpoint seen is kept (default ~/.local/state/…)")
    verify.add_argument("--key", help="the log's verifier key (vkey) to pin, instead of trust on first use")
    verify.add_argument(
        "--max-merge-delay",
        type=float,
        metavar="SECONDS",
        help="how long a published version may be missing from the log before it is a problem "
        "(default: what the site states at /log/info, at most one hour)",
    )
    verify.add_argument("--receipt", metavar="FILE", help="check a bidder's receipt (as bidding verify-receipt)")
    verify.add_argument("--offline", action="store_true", help="with --receipt: check without contacting the server")
    verify.add_argument(
        "--witness",
        metavar="VKEY",
        action="append",
        help="a witness whose cosignature you require (its vkey, name+id+key); repeat for several",
    )
    verify.set_defaults(func=cmd_verify)

    witness = sub.add_parser("witness", help="an independent witness: cosign checkpoints it has checked")
    witsub = witness.add_subparsers(dest="witness_command", required=True)
    wrun = witsub.add_parser("run", help="check each new checkpoint against the last one cosigned, and cosign it")
    wrun.add_argument("url", help="the platform's base URL")
    wrun.add_argument("--key", required=True, help="the witness's key file (trading witness keygen)")
    wrun.add_argument("--name", required=True, help="the witness's key name, as registered")
    wrun.add_argument("--log-key", help="the log's vkey to pin (else trusted on first use and remembered)")
    wrun.add_argument("--state", help="where the last cosigned checkpoint is kept (default: beside the key)")
    wrun.add_argument("--interval", type=float, default=10.0, help="seconds between rounds")
    wrun.add_argument("--once", action="store_true", help="one round, then exit (0 when cosigned)")
    wrun.add_argument("--exit-with-parent", type=int, metavar="PID", help=argparse.SUPPRESS)
    wrun.set_defaults(func=cmd_witness_run)
    keygen = witsub.add_parser("keygen", help="make a witness key; prints the vkey to register on the platform")
    keygen.add_argument("--name", required=True)
    keygen.add_argument("--out", required=True)
    keygen.set_defaults(func=cmd_witness_keygen)

    blobs = sub.add_parser("blobs", help="the blob store (attachments and bid ciphertexts)")
    blobsub = blobs.add_subparsers(dest="blobs_command", required=True)
    gc = blobsub.add_parser("gc", help="delete what no row references, once older than the grace period")
    gc.add_argument("--grace-hours", type=float, help="default: the blob_gc_grace_hours setting (24)")
    gc.add_argument("--dry-run", action="store_true", help="only count what would be deleted")
    gc.set_defaults(func=cmd_blobs_gc)
    blobsub.add_parser(
        "check", help="every blob the database references is in the store (after a restore); else exit 1, naming them"
    ).set_defaults(func=cmd_blobs_check)
    export = blobsub.add_parser("export", help="copy the store's blobs into a folder (a backup; adds what is new)")
    export.add_argument("folder")
    export.set_defaults(func=cmd_blobs_export)
    restore = blobsub.add_parser("import", help="copy a folder's blobs (an export) into the store, hash-checked")
    restore.add_argument("folder")
    for copy in (export, restore):
        copy.add_argument(
            "--verify",
            action="store_true",
            help="also re-hash every copy the target holds already and replace a damaged one from the source",
        )
    restore.set_defaults(func=cmd_blobs_import)

    keys = sub.add_parser("keys", help="the platform's signing key")
    keyssub = keys.add_subparsers(dest="keys_command", required=True)
    keyssub.add_parser("init", help="create the signing key if missing; prints the log's vkey").set_defaults(
        func=cmd_keys_init
    )

    user = sub.add_parser("user", help="accounts")
    usersub = user.add_subparsers(dest="user_command", required=True)
    create = usersub.add_parser("create", help="create a person (e.g. the first admin)")
    create.add_argument("--username", required=True)
    create.add_argument("--name")
    create.add_argument(
        "--roles", required=True, help="comma-separated: admin,staff,opener,evaluator,supervisor,bidder,expert_keeper"
    )
    create.add_argument("--password", help="(prompted if omitted)")
    create.add_argument("--centre-id", type=int)
    create.add_argument("--organisation-id", type=int)
    create.set_defaults(func=cmd_user_create)
    return parser


def main(argv: list[str] | None = None) -> int:
    # Everything the platform writes — the SQLite database, blobs, keys, the verifier's state — is the
    # service user's alone.
    os.umask(0o077)
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(toml_path=args.config)
    except (msgspec.ValidationError, OSError, ValueError) as exc:
        print(f"设置有误 / bad settings: {exc}", file=sys.stderr)
        return 2
    code = int(args.func(args, settings) or 0)
    if argv is None and settings.blob_store == "s3":
        _leave(code)
    return code


def _leave(code: int) -> None:
    """End the process (the command line's, not a caller's: main() given no *argv*) without the interpreter's
    finalization, once what it wrote is flushed. A command that used the S3 store may leave obstore's runtime
    threads (Rust) about to hand a last reference back to Python; one doing so while the interpreter finalizes
    aborts the process — SIGABRT, exit 134, after the command's work was done and reported (seen once, after
    `trading blobs import` in the backup-and-restore test; pyo3 on Python before 3.14)."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    raise SystemExit(main())
