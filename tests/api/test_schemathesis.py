"""Schemathesis over /schema/openapi.json against `trading serve` on PostgreSQL with the demo world: every
operation, as the public, as the 常德 centre's staff and as a bidder. No answer may be a server error, and
every answer must match what the document says (its status, content type, headers and body schema — the
refusals in the platform's one error shape, trading.api_docs).

Bounded: a few generated cases per operation and role (the whole run takes a minute or two), all sent to
127.0.0.1; the seed is fixed so that a failure reproduces. A deeper attack run, by hand:
``TRADING_FUZZ_EXAMPLES=100 TRADING_FUZZ_ROLES=all TRADING_FUZZ_RANDOM=1 pytest tests/api/test_schemathesis.py``
(every role of the demo, a hundred cases each, a new seed each run: each failure is printed with its case);
``TRADING_FUZZ_ONLY=/evaluation/reads`` runs only the operations whose path holds it, and
``TRADING_FUZZ_ENGINE=sqlite`` serves the demo from SQLite instead.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import PG_ADMIN_URL, PG_REQUIRED, _create_pg_database, _drop_pg_database
from tests.processes import free_port

TRADING = str(Path(sys.executable).parent / "trading")
TODAY = datetime(2026, 11, 21, 3, tzinfo=UTC)
#: How many cases per operation; which roles (``all``: each role of the demo); a new seed each run (by hand).
EXAMPLES = int(os.environ.get("TRADING_FUZZ_EXAMPLES", "8"))
ALL_ROLES = os.environ.get("TRADING_FUZZ_ROLES") == "all"
RANDOM = os.environ.get("TRADING_FUZZ_RANDOM") == "1"
#: The embedded engine instead of PostgreSQL (by hand: TRADING_FUZZ_ENGINE=sqlite).
ON_SQLITE = os.environ.get("TRADING_FUZZ_ENGINE") == "sqlite"
#: Only the operations whose path holds this (to replay one that failed).
ONLY = os.environ.get("TRADING_FUZZ_ONLY", "")
#: role -> the demo account that plays it (the default run: the public, a centre's staff and a bidder).
ACCOUNTS = {
    "staff": "cd_staff1",
    "bidder": "bidder_xiangzhong_luqiao",
    **(
        {
            "supervisor": "cd_supervisor",
            "admin": "admin",
            "opener": "opener1",
            "evaluator": "expert1",
            "expert_keeper": "expert_keeper",
        }
        if ALL_ROLES
        else {}
    ),
}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


async def _seeded_database(tmp: Path) -> tuple[str, dict[str, str]]:
    from trading.clock import FixedClock
    from trading.db import make_engine
    from trading.demo.seed import seed_demo
    from trading.migrate import upgrade
    from trading.settings import Settings

    url = f"sqlite+aiosqlite:///{tmp / 'fuzz.db'}" if ON_SQLITE else await _create_pg_database()
    settings = Settings(
        database_url=url,
        blob_dir=str(tmp / "blobs"),
        signing_key_path=str(tmp / "key.pem"),
        password_memory_cost=1024,
        password_iterations=1,
        cookie_secure=False,
    )
    engine = make_engine(settings)
    await upgrade(engine)
    await engine.dispose()
    await seed_demo(settings, clock=FixedClock(TODAY))
    # The demo leaves its openers' keys beside the data; trading serve (rightly) refuses to start with them there.
    shutil.rmtree(tmp / "demo-openers")
    return url, {
        "TRADING_DATABASE_URL": url,
        "TRADING_BLOB_DIR": settings.blob_dir,
        "TRADING_SIGNING_KEY_PATH": settings.signing_key_path,
        "TRADING_CLOCK": TODAY.isoformat(),
        "TRADING_PASSWORD_MEMORY_COST": "1024",
        "TRADING_PASSWORD_ITERATIONS": "1",
        "TRADING_COOKIE_SECURE": "false",
    }


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, dict[str, str]]]]:
    """The demo world on PostgreSQL, served by `trading serve`; its base URL and the roles' headers."""
    try:
        import asyncpg  # noqa: F401  (the PostgreSQL half of the suite: skip with it when there is no server)

        tmp = tmp_path_factory.mktemp("schemathesis") / "platform"
        tmp.mkdir()
        with ThreadPoolExecutor(max_workers=1) as pool:
            url, env = pool.submit(asyncio.run, _seeded_database(tmp)).result()
    except pytest.skip.Exception:
        raise
    except OSError as exc:
        if PG_REQUIRED:
            raise
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc}")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [TRADING, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        env={**os.environ, **env, "TRADING_BASE_URL": base},
        stdout=(tmp_path_factory.getbasetemp() / "schemathesis-serve.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        for _ in range(300):
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            server.terminate()
            pytest.fail(
                "trading serve did not start: "
                + (tmp_path_factory.getbasetemp() / "schemathesis-serve.log").read_text()
            )
        from trading.demo.data import PASSWORDS

        roles = {"public": {}}
        for role, username in ACCOUNTS.items():
            r = httpx.post(base + "/api/tokens", json={"username": username, "password": PASSWORDS[role]}, timeout=10)
            assert r.status_code == 201, r.text
            roles[role] = {"Authorization": f"Bearer {r.json()['token']}"}
        yield base, roles
    finally:
        server.terminate()
        server.wait(timeout=30)
        with ThreadPoolExecutor(max_workers=1) as pool:
            if not ON_SQLITE:
                pool.submit(asyncio.run, _drop_pg_database(url)).result()


def _described(exc: BaseException) -> str:
    """The failure and, for a group (hypothesis's "unreliable" or several at once), each one in it."""
    parts = [str(exc)]
    for sub in getattr(exc, "exceptions", ()):
        cause = sub.__cause__ or sub.__context__
        parts.append(f"  - {type(sub).__name__}: {sub}" + (f" (from {type(cause).__name__}: {cause})" if cause else ""))
    return "\n".join(parts)


# A deeper run by hand takes longer than the suite's timeout, which would otherwise strike mid-case (hypothesis
# then reports that case as "unreliable").
@pytest.mark.timeout(300 if EXAMPLES <= 8 else 6 * 3600)
def test_no_operation_errs_or_answers_otherwise_than_documented(served):
    base, roles = served
    api = schemathesis.openapi.from_url(base + "/schema/openapi.json")
    failures: list[str] = []
    operations = 0
    for result in api.get_all_operations():
        operation = result.ok()
        if operation.path.endswith("/opening/events"):
            continue  # a stream that stays open until its ceremony ends (tests/bidding checks it)
        if ONLY not in operation.path:
            continue
        operations += 1

        # Valid requests, and invalid ones (wrong types, out-of-range numbers, missing fields): neither may
        # meet a server error, and both must be answered as documented.
        strategy = operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(GenerationMode.NEGATIVE)

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=not RANDOM,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def check(case) -> None:
            for headers in roles.values():
                response = case.call(headers=headers, timeout=30)
                case.validate_response(response, checks=CHECKS, headers=headers)

        try:
            check()
        except Exception as exc:  # one line per operation that failed, then all of them at once
            failures.append(f"{operation.method.upper()} {operation.path}: {_described(exc)}"[:4000])
    assert operations > 100 or ONLY
    assert failures == [], "\n\n".join(failures)
