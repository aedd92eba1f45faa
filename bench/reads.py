"""Public read throughput against PostgreSQL, as a ratio to a bare endpoint of the same app in the same run.

    .venv/bin/python bench/reads.py --notices 1000000 --seconds 10

Loads N published notices (with versions, spread over Hunan's counties and kinds, with realistic Chinese
titles and bodies) into a fresh database with COPY, starts the real app under uvicorn, and drives it over
loopback with concurrent keep-alive clients: the bare endpoint (/healthz: no database), a list page, a
filtered list (city + kind), a deep keyset page, a notice detail, a two-character Chinese search and the
changes feed. It prints requests per second and latency for each, and each one's ratio to the bare
endpoint measured in the same run. No timing is asserted anywhere: these are measurements.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _app import serve_app  # noqa: E402

from notices.search import index_terms  # noqa: E402
from trading.canonical import canonical_bytes  # noqa: E402
from trading.migrate import upgrade  # noqa: E402
from trading.regions import COUNTIES, city_of  # noqa: E402

SUBJECTS = [
    "城区道路提质改造工程",
    "农村公路建设项目",
    "中学新建工程",
    "人民医院门诊楼改造",
    "污水处理厂提标改造",
    "河道综合治理工程",
    "保障性住房配套设施",
    "学校教学设备采购",
    "智慧城市信息化平台",
    "自来水厂扩建工程",
    "体育馆维修工程",
    "桥梁加固工程",
    "物业管理服务采购",
    "医疗设备采购项目",
    "国有建设用地使用权挂牌出让",
]
KINDS = ["tender", "procurement", "land_transfer", "result", "candidate_publicity", "contract", "amendment"]
TRADE = {
    "tender": "works",
    "procurement": "procurement",
    "land_transfer": "land",
    "result": "works",
    "candidate_publicity": "works",
    "contract": "procurement",
    "amendment": "works",
}


def _body(rng: random.Random, title: str) -> str:
    parts = [
        f"一、招标条件\n本招标项目{title}已由有关部门批准建设，项目业主为当地人民政府有关部门，建设资金来自财政资金及专项债券。",
        "二、项目概况与招标范围\n建设地点位于城区，主要内容包括路基、路面、排水、照明、交通安全设施及绿化等，计划工期"
        f"{rng.randint(90, 540)}日历天。",
        "三、投标人资格要求\n投标人须具备相应施工总承包资质，项目经理须具备注册建造师执业资格，且未担任其他在建工程项目经理。",
        "四、招标文件的获取\n凡有意参加投标者，请于获取期间登录湖南省公共资源交易平台下载电子招标文件。",
        "五、投标文件的递交\n投标文件递交截止时间及开标时间详见本公告时间安排，逾期送达的投标文件将被拒收。",
    ]
    return "\n".join(parts)


async def load(url: str, n: int, seed: int = 2026) -> None:
    engine = create_async_engine(url)
    await upgrade(engine)
    await engine.dispose()
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    rng = random.Random(seed)
    now = datetime.now(UTC)
    try:
        await conn.execute(
            "INSERT INTO trading_centres (id, code, name, region_code) VALUES (1, 'HN', '湖南省公共资源交易中心', '430000')"
        )
        await conn.execute(
            "INSERT INTO organisations (id, name, credit_code, kinds, region_code, address, contact_name, contact_phone,"
            " created_at) VALUES (1, '湖南省某某局', '11430000MB1C00110X', '[\"tenderer\"]', '430000', '', '', '', $1)",
            now,
        )
        counties = [c.code for c in COUNTIES]
        projects = [
            (
                i + 1,
                f"43{i:016d}",
                f"项目{i}",
                "works",
                "works_open_tender",
                counties[i % len(counties)],
                1,
                1,
                None,
                "",
                None,
                None,
                "public",
                now,
                None,
            )
            for i in range(len(counties))
        ]
        await conn.copy_records_to_table(
            "projects",
            records=projects,
            columns=[
                "id",
                "trade_code",
                "name",
                "trade_kind",
                "procedure",
                "region_code",
                "centre_id",
                "tenderer_id",
                "agent_id",
                "description",
                "budget_fen",
                "control_price_fen",
                "state",
                "created_at",
                "created_by",
            ],
        )
        batch = 20_000
        start = now - timedelta(days=3 * 365)
        step = (now - start) / max(n, 1)
        done = 0
        t0 = time.perf_counter()
        while done < n:
            notices, versions = [], []
            for i in range(done, min(n, done + batch)):
                project = i % len(counties)
                region = counties[project]
                kind = KINDS[i % len(KINDS)]
                place = next(c.name for c in COUNTIES if c.code == region)
                title = f"{place}{rng.choice(SUBJECTS)}（第{i % 9 + 1}批）{'招标公告' if kind == 'tender' else '公告'}"
                body = _body(rng, title)
                at = start + step * i
                deadline = at + timedelta(days=25) if kind in ("tender", "procurement", "land_transfer") else None
                doc = canonical_bytes({"notice_id": i + 1, "version": 1, "title": title, "body": body})
                notices.append(
                    (
                        i + 1,
                        kind,
                        "published",
                        project + 1,
                        [],
                        region,
                        city_of(region),
                        TRADE[kind],
                        None,
                        title,
                        body,
                        "{}",
                        "{}",
                        1,
                        at,
                        at,
                        deadline,
                        index_terms(title, body),
                        at,
                        None,
                        at,
                    )
                )
                versions.append(
                    (
                        i + 1,
                        i + 1,
                        1,
                        title,
                        body,
                        "{}",
                        doc,
                        hashlib.sha256(doc).hexdigest(),
                        at,
                        None,
                        i + 1,
                        None,
                        "",
                    )
                )
            await conn.copy_records_to_table(
                "notices",
                records=[(*r[:4], "[]", *r[5:]) for r in notices],
                columns=[
                    "id",
                    "kind",
                    "status",
                    "project_id",
                    "section_ids",
                    "region_code",
                    "city_code",
                    "trade_kind",
                    "target_notice_id",
                    "title",
                    "body",
                    "fields",
                    "timetable",
                    "current_version",
                    "first_published_at",
                    "last_published_at",
                    "deadline_at",
                    "search_terms",
                    "created_at",
                    "created_by",
                    "updated_at",
                ],
            )
            await conn.copy_records_to_table(
                "notice_versions",
                records=versions,
                columns=[
                    "id",
                    "notice_id",
                    "version",
                    "title",
                    "body",
                    "fields",
                    "document",
                    "content_hash",
                    "published_at",
                    "published_by",
                    "change_seq",
                    "amendment_notice_id",
                    "change_summary",
                ],
            )
            done += len(notices)
            rate = done / (time.perf_counter() - t0)
            print(f"\r  loaded {done:,}/{n:,} notices ({rate:,.0f}/s)", end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)
        await conn.execute("INSERT INTO counters (name, value) VALUES ('notice_changes', $1)", n)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def drive(base: str, paths: list[str], seconds: float, concurrency: int) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:

        async def worker(k: int) -> None:
            nonlocal errors
            i = k
            while time.perf_counter() < deadline:
                t = time.perf_counter()
                r = await client.get(paths[i % len(paths)])
                latencies.append(time.perf_counter() - t)
                if r.status_code != 200:
                    errors += 1
                i += concurrency

        t0 = time.perf_counter()
        await asyncio.gather(*[worker(k) for k in range(concurrency)])
        elapsed = time.perf_counter() - t0
    return len(latencies) / elapsed, latencies, errors


def _ms(text: str) -> float:
    for unit, factor in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * factor
    return float(text)


def drive_wrk(base: str, paths: list[str], seconds: float, concurrency: int) -> tuple[float, float, float, int]:
    """Drive with wrk (a C load generator) cycling through *paths*: the client costs far less than the server."""
    script = Path("/tmp/trading-bench.lua")
    quoted = ", ".join('"' + p.replace('"', '\\"') + '"' for p in paths)
    script.write_text(
        f"paths = {{{quoted}}}\ni = 0\n"
        "request = function()\n  i = i + 1\n  return wrk.format('GET', paths[(i % #paths) + 1])\nend\n"
    )
    out = subprocess.run(
        ["wrk", "-t2", f"-c{concurrency}", f"-d{seconds:.0f}s", "--latency", "-s", str(script), base],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = p50 = p99 = 0.0
    errors = 0
    for line in out.splitlines():
        parts = line.split()
        if line.startswith("Requests/sec:"):
            rps = float(parts[1])
        elif parts[:1] == ["50%"]:
            p50 = _ms(parts[1])
        elif parts[:1] == ["99%"]:
            p99 = _ms(parts[1])
        elif "Non-2xx" in line or line.strip().startswith("Socket errors"):
            errors += sum(int(x.rstrip(",")) for x in parts if x.rstrip(",").isdigit())
    return rps, p50, p99, errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notices", type=int, default=200_000)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers serving the app")
    parser.add_argument(
        "--server", default=os.environ.get("TRADING_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    parser.add_argument("--reuse", action="store_true", help="reuse the database loaded by a previous run")
    parser.add_argument("--port", type=int, default=8799)
    parser.add_argument(
        "--client",
        choices=["wrk", "httpx"],
        default="wrk" if shutil.which("wrk") else "httpx",
        help="load generator (wrk if installed: apt-get install wrk)",
    )
    args = parser.parse_args()

    name = f"trading_bench_{args.notices}"
    url = (
        make_url(args.server).set(drivername="postgresql+asyncpg", database=name).render_as_string(hide_password=False)
    )
    admin_dsn = make_url(args.server).set(drivername="postgresql").render_as_string(hide_password=False)

    async def prepare() -> None:
        conn = await asyncpg.connect(admin_dsn)
        try:
            exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
            if exists and args.reuse:
                engine = create_async_engine(url)
                await upgrade(engine)  # a database loaded by an older version gets the newer tables
                await engine.dispose()
                return
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        print(f"loading {args.notices:,} notices into {name} …", file=sys.stderr)
        await load(url, args.notices)

    asyncio.run(prepare())

    env = dict(
        os.environ,
        TRADING_DATABASE_URL=url,
        TRADING_POOL_SIZE="20",
        TRADING_BLOB_DIR="/tmp/trading-bench-blobs",
        TRADING_SIGNING_KEY_PATH="/tmp/trading-bench-key.pem",
    )
    with serve_app(env, args.port, workers=args.workers) as base:
        rng = random.Random(1)
        ids = [rng.randint(1, args.notices) for _ in range(500)]
        first = httpx.get(base + "/api/notices", params={"limit": 20}).json()
        deep = first
        for _ in range(20):
            deep = httpx.get(base + "/api/notices", params={"limit": 20, "cursor": deep["next"]}).json()
        cases = [
            ("bare endpoint /healthz", ["/healthz"]),
            ("list, newest 20", ["/api/notices?limit=20"]),
            ("list, city + kind", ["/api/notices?region=430700&kind=tender", "/api/notices?region=431200&kind=result"]),
            ("list, page 21 (keyset)", [f"/api/notices?limit=20&cursor={deep['next']}"]),
            ("detail with versions", [f"/api/notices/{i}" for i in ids]),
            ("search 道路 (2 chars)", ["/api/notices?q=%E9%81%93%E8%B7%AF"]),
            ("search 医院 + region", ["/api/notices?q=%E5%8C%BB%E9%99%A2&region=430700"]),
            ("changes feed", [f"/api/changes?after={i}" for i in ids]),
        ]
        rows = []
        for label, paths in cases:
            if args.client == "wrk":
                drive_wrk(base, paths, 1, args.concurrency)  # warm up
                rows.append((label, *drive_wrk(base, paths, args.seconds, args.concurrency)))
                continue
            asyncio.run(drive(base, paths, 1.0, args.concurrency))  # warm up
            rps, lat, errors = asyncio.run(drive(base, paths, args.seconds, args.concurrency))
            rows.append((label, rps, statistics.median(lat) * 1000, sorted(lat)[int(len(lat) * 0.99)] * 1000, errors))
        floor = rows[0][1]
        print(
            f"\npublic reads — {args.notices:,} notices, PostgreSQL, {args.workers} worker(s), "
            f"{args.concurrency} concurrent clients ({args.client}), {args.seconds:.0f} s each"
        )
        print(f"{'endpoint':28} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'vs bare':>8} {'errors':>7}")
        for label, rps, p50, p99, errors in rows:
            print(f"{label:28} {rps:9.0f} {p50:8.1f} {p99:8.1f} {rps / floor:8.2f} {errors:7d}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
