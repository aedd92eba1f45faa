"""The ``trading`` command line: migrate, run the demo, serve, manage users."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from datetime import datetime
from pathlib import Path

import msgspec

from trading.settings import Settings, load_settings


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
    engine = make_engine(settings)
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
    from trading.demo.data import build_world
    from trading.demo.seed import DEMO_NOTE, SHANGHAI, demo_logins, seed_demo

    # A local demo over plain HTTP: the session cookie cannot be Secure-only there.
    settings = msgspec.structs.replace(settings, cookie_secure=False, base_url=f"http://{args.host}:{args.port}")
    if args.reset:
        _reset_sqlite(settings)
    asyncio.run(_upgrade(settings))
    created = asyncio.run(seed_demo(settings))
    print(created)
    world = build_world(datetime.now(SHANGHAI).date())
    print(DEMO_NOTE.format(url=f"http://{args.host}:{args.port}", logins=demo_logins(world)))
    sys.stdout.flush()
    return _run_server(settings, args.host, args.port, workers=1)


def _reset_sqlite(settings: Settings) -> None:
    if not settings.is_sqlite:
        raise SystemExit("--reset 只用于内置 SQLite 演示库 / --reset only works on the embedded SQLite demo database")
    path = Path(settings.database_url.split("///", 1)[-1])
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    return _run_server(settings, args.host, args.port, workers=args.workers)


def _run_server(settings: Settings, host: str, port: int, *, workers: int) -> int:
    import uvicorn

    # Workers re-read the settings from the environment: pass ours through it.
    for field in msgspec.structs.fields(Settings):
        os.environ["TRADING_" + field.name.upper()] = (
            str(getattr(settings, field.name)).lower()
            if isinstance(getattr(settings, field.name), bool)
            else str(getattr(settings, field.name))
        )
    uvicorn.run(
        "trading.asgi:app_factory",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        log_level="info",
        access_log=False,
    )
    return 0


def cmd_user_create(args: argparse.Namespace, settings: Settings) -> int:
    from trading.accounts.schemas import PersonCreate
    from trading.accounts.services import create_person
    from trading.context import Act
    from trading.db import make_engine, make_sessionmaker

    password = args.password or getpass.getpass("密码 / password: ")

    async def run() -> int:
        engine = make_engine(settings)
        try:
            async with make_sessionmaker(engine)() as session:
                from datetime import UTC, datetime

                data = PersonCreate(
                    username=args.username,
                    display_name=args.name or args.username,
                    password=password,
                    roles=args.roles.split(","),
                    centre_id=args.centre_id,
                    organisation_id=args.organisation_id,
                )
                person = await create_person(
                    session, Act(actor=None, address="cli", at=datetime.now(UTC)), data, settings
                )
                await session.commit()
                print(f"已创建用户 {person.username}（{','.join(person.roles)}）")
        finally:
            await engine.dispose()
        return 0

    return asyncio.run(run())


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
    demo.set_defaults(func=cmd_demo)

    serve = sub.add_parser("serve", help="run the service with production settings")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=max(2, os.cpu_count() or 2))
    serve.set_defaults(func=cmd_serve)

    user = sub.add_parser("user", help="accounts")
    usersub = user.add_subparsers(dest="user_command", required=True)
    create = usersub.add_parser("create", help="create a person (e.g. the first admin)")
    create.add_argument("--username", required=True)
    create.add_argument("--name")
    create.add_argument(
        "--roles", required=True, help="comma-separated: admin,staff,opener,evaluator,supervisor,bidder"
    )
    create.add_argument("--password", help="(prompted if omitted)")
    create.add_argument("--centre-id", type=int)
    create.add_argument("--organisation-id", type=int)
    create.set_defaults(func=cmd_user_create)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(toml_path=args.config)
    except (msgspec.ValidationError, OSError, ValueError) as exc:
        print(f"设置有误 / bad settings: {exc}", file=sys.stderr)
        return 2
    return int(args.func(args, settings) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
