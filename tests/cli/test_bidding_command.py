"""The `bidding` command line through its real entry point, against a real server over HTTP.

One journey from start to finish: openers make and register their keys, staff put them on a notice and
publish it, four bidders sign in, make and register signing keys, fetch the section (checked against the
published notice), seal offline and submit — one upload interrupted and resumed — check their receipts
offline and online, and one withdraws. The server is then restarted with its clock past the deadline: a late
bid is refused, staff start the opening, two of the three openers open their shares with the command line,
and the opening record is published with the three prices.

The people and the draft notice are seeded through the services into the SQLite file before the server
starts; the server runs in its own process with a fixed clock (``TRADING_CLOCK``).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import stat
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from bidding.client import BiddingClient
from bidding.envelope import read_sealed_bid
from tests.conftest import DEFAULT_NOW
from tests.factories import PASSWORD, build_world, create_project, draft_tender
from tests.inprocess import in_process, sqlite_settings
from tests.processes import free_port
from trading.accounts import schemas as acc
from trading.accounts.credit_code import make_credit_code
from trading.accounts.services import create_organisation, create_person
from trading.clock import FixedClock
from trading.context import Act
from trading.settings import Settings

BIN = Path(sys.executable).parent
BIDDING = str(BIN / "bidding")
TRADING = str(BIN / "trading")
SUITE = "hpke-x25519-sha256-aes256gcm"
PRICES = {1: 4_512_345_600, 2: 4_498_000_000, 3: 4_630_120_000, 4: 4_700_000_000}
PASSPHRASE = "春眠不觉晓 处处闻啼鸟"

pytestmark = pytest.mark.slow


@dataclass
class Seeded:
    staff_token: str
    draft_id: int
    openers: list[tuple[str, int]]  # (username, person id)
    bidders: list[tuple[str, str]]  # (username, credit code)


async def _seed(settings: Settings) -> Seeded:
    """Centres, staff, three openers and four bidder organisations with passwords, and a draft tender."""
    async with in_process(settings, FixedClock(DEFAULT_NOW)) as (app, client):
        world = await build_world(app, DEFAULT_NOW)
        act = Act(actor=None, address="127.0.0.1", at=DEFAULT_NOW)
        openers, bidders = [], []
        async with app.state.sessionmaker() as s:
            for i, name in enumerate(["李开明", "周启航", "吴封平"], start=1):
                person = await create_person(
                    s,
                    act,
                    acc.PersonCreate(username=f"kaibiao{i}", display_name=name, password=PASSWORD, roles=["opener"]),
                    settings,
                )
                openers.append((person.username, person.id))
            for n in range(1, 5):
                code = make_credit_code("9", "1", "430700", f"MA4R{n:04d}")
                org = await create_organisation(
                    s,
                    act,
                    acc.OrganisationCreate(
                        name=f"湖南第{n}路桥建设有限公司", credit_code=code, kinds=["bidder"], region_code="430700"
                    ),
                )
                await create_person(
                    s,
                    act,
                    acc.PersonCreate(
                        username=f"toubiao{n}",
                        display_name=f"投标员{n}",
                        password=PASSWORD,
                        roles=["bidder"],
                        organisation_id=org.id,
                    ),
                    settings,
                )
                bidders.append((f"toubiao{n}", code))
            await s.commit()
        project = await create_project(client, world)
        draft = await draft_tender(client, world, project, DEFAULT_NOW)
    return Seeded(world.tokens["staff"], draft["id"], openers, bidders)


class Platform:
    """The server in its own process (restartable with another clock) and the `bidding` runner."""

    def __init__(self, tmp: Path, settings: Settings):
        self.tmp = tmp
        self.settings = settings
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[str] | None = None
        home = tmp / "home"
        home.mkdir()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("BIDDING_", "TRADING_"))}
        self.env["HOME"] = str(home)

    @contextmanager
    def serving(self, clock: datetime):
        env = dict(
            self.env,
            TRADING_DATABASE_URL=self.settings.database_url,
            TRADING_BLOB_DIR=self.settings.blob_dir,
            TRADING_SIGNING_KEY_PATH=self.settings.signing_key_path,
            TRADING_CLOCK=clock.isoformat(),
            TRADING_PASSWORD_MEMORY_COST=str(self.settings.password_memory_cost),
            TRADING_PASSWORD_ITERATIONS=str(self.settings.password_iterations),
            TRADING_COOKIE_SECURE="false",
            TRADING_BASE_URL=self.url,
        )
        self.process = subprocess.Popen(
            [TRADING, "serve", "--port", str(self.port), "--workers", "1"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            for _ in range(300):
                try:
                    if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.05)
            else:
                pytest.fail("the server did not start")
            yield
        finally:
            self.process.terminate()
            output = self.process.communicate(timeout=30)[0]
            assert "Traceback" not in output, output

    def bidding(self, who: str, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        config = self.tmp / "config" / who
        out = subprocess.run(
            [BIDDING, "--server", self.url, "--config", str(config), *args],
            cwd=self.tmp,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        with (self.tmp / "transcript.txt").open("a", encoding="utf-8") as fh:  # for reading a failure
            fh.write(f"$ bidding {' '.join(args)}  [{who}] → {out.returncode}\n{out.stdout}{out.stderr}\n")
        if ok:
            assert out.returncode == 0, f"bidding {' '.join(args)}\n{out.stdout}\n{out.stderr}"
        return out

    def token(self, who: str) -> str:
        return json.loads((self.tmp / "config" / who / "config.json").read_text())["token"]


def _documents(folder: Path, n: int, *, large: bool = False) -> Path:
    (folder / "技术标").mkdir(parents=True)
    (folder / "技术标" / "施工组织设计.txt").write_text(f"第{n}投标人：施工组织设计、质量保证措施。\n" * 50)
    (folder / "商务标.txt").write_text(f"第{n}投标人商务文件：资质证书、业绩、财务报表。\n")
    if large:
        (folder / "技术标" / "图纸.bin").write_bytes(os.urandom(6 * 1024 * 1024 + 321))
    return folder


def _price(tmp: Path, n: int) -> Path:
    if n == 1:
        path = tmp / "price-1.toml"
        path.write_text(
            f'total_price_fen = {PRICES[n]}\nduration_days = 240\nquality = "合格"\nproject_manager = "张建国"\n',
            encoding="utf-8",
        )
    else:
        path = tmp / f"price-{n}.json"
        form = {"total_price_fen": PRICES[n], "duration_days": 230 + n, "quality": "合格", "project_manager": "李强"}
        path.write_text(json.dumps(form, ensure_ascii=False), encoding="utf-8")
    return path


def test_bidders_and_openers_take_part_from_start_to_finish_with_the_command_line(tmp_path):
    # The platform's data in a directory of its own: the openers' key files are on "their machines" (the
    # rest of tmp_path), and trading serve refuses to start with one in its data directory.
    settings = sqlite_settings(tmp_path / "platform")
    seeded = asyncio.run(_seed(settings))
    platform = Platform(tmp_path, settings)
    passphrase = tmp_path / "passphrase.txt"
    passphrase.write_text(PASSPHRASE + "\n", encoding="utf-8")
    pp = ("--passphrase-file", str(passphrase))
    staff = {"Authorization": f"Bearer {seeded.staff_token}"}

    with platform.serving(DEFAULT_NOW):
        # --- openers: keys made here, only the public halves registered ---------------------------------
        def opener_setup(username: str) -> subprocess.CompletedProcess[str]:
            platform.bidding(username, "login", "--username", username, "--password", PASSWORD)
            made = platform.bidding(username, "opener", "keygen", "--suite", SUITE, "--out", f"{username}.key", *pp)
            platform.bidding(username, "opener", "register", "--key", f"{username}.key", *pp)
            return made

        with ThreadPoolExecutor(3) as pool:
            made = list(pool.map(opener_setup, [u for u, _ in seeded.openers]))
        for (username, _), out in zip(seeded.openers, made, strict=True):
            key_file = tmp_path / f"{username}.key"
            assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
            assert stat.S_IMODE((tmp_path / f"{username}.key.signing.pem").stat().st_mode) == 0o600
            assert key_file.read_bytes().startswith(b"TBIDKEY\0")
            assert PASSPHRASE not in out.stdout + out.stderr
            config = tmp_path / "config" / username / "config.json"
            assert stat.S_IMODE(config.stat().st_mode) == 0o600

        # --- staff put the openers on the notice and publish it --------------------------------------------
        with httpx.Client(base_url=platform.url, headers=staff) as http:
            r = http.post(
                f"/api/staff/notices/{seeded.draft_id}/committee",
                json={"suite": SUITE, "k": 2, "opener_ids": [pid for _, pid in seeded.openers]},
            )
            assert r.status_code == 200, r.text
            r = http.post(f"/api/staff/notices/{seeded.draft_id}/publish")
            assert r.status_code == 200, r.text
            section_id = r.json()["section_ids"][0]

        # --- four bidders: sign in, keys, fetch, seal offline -------------------------------------------------
        def bidder_setup(n: int) -> dict[str, str]:
            username, code = seeded.bidders[n - 1]
            platform.bidding(username, "login", "--username", username, "--password", PASSWORD)
            keygen = platform.bidding(username, "keygen", "--out", f"{username}.pem", *pp)
            platform.bidding(
                username, "register", "--key", f"{username}.pem", "--label", "投标专用", "--credit-code", code, *pp
            )
            fetched = platform.bidding(username, "fetch", str(section_id), "--out", f"section-{n}.json")
            docs = _documents(tmp_path / f"docs-{n}", n, large=n == 3)
            sealed = platform.bidding(
                username,
                "seal",
                "--section", f"section-{n}.json",
                "--key", f"{username}.pem",
                "--price", str(_price(tmp_path, n)),
                "--documents", str(docs / "技术标"), str(docs / "商务标.txt"),
                "--out", f"bid-{n}.bid",
                *pp,
            )  # fmt: skip
            return {"keygen": keygen.stdout, "fetch": fetched.stdout, "seal": sealed.stdout + sealed.stderr}

        with ThreadPoolExecutor(4) as pool:
            setups = dict(zip(range(1, 5), pool.map(bidder_setup, range(1, 5)), strict=True))
        assert "已核对" in setups[1]["fetch"] and "已记入透明日志" in setups[1]["fetch"]
        assert "45,123,456.00 元" in setups[1]["seal"]
        assert PASSPHRASE not in json.dumps(setups, ensure_ascii=False)
        assert stat.S_IMODE((tmp_path / "toubiao1.pem").stat().st_mode) == 0o600
        assert b"ENCRYPTED PRIVATE KEY" in (tmp_path / "toubiao1.pem").read_bytes()
        section = json.loads((tmp_path / "section-1.json").read_text())["section"]
        assert section["section_id"] == section_id and len(section["members"]) == 3
        members = sorted(read_sealed_bid(tmp_path / "bid-3.bid").manifest.envelopes)
        assert members == ["documents", "price"]

        # --- staff seal a control price (最高投标限价) on their own machine, with the same command line ---------
        platform.bidding("staff", "login", "--username", "staff", "--password", PASSWORD)
        platform.bidding("staff", "keygen", "--out", "centre.pem", *pp)
        platform.bidding("staff", "reserve", "register", "--key", "centre.pem", "--label", "标底密封", *pp)
        platform.bidding("staff", "fetch", str(section_id), "--out", "section-staff.json")
        ceiling = platform.bidding(
            "staff",
            "reserve", "seal",
            "--section", "section-staff.json",
            "--key", "centre.pem",
            "--price-fen", "4800000000",
            "--out", "ceiling.bid",
            *pp,
        )  # fmt: skip
        assert "48,000,000.00 元" in ceiling.stdout
        handed_in = platform.bidding("staff", "reserve", "submit", "ceiling.bid", str(section_id))
        assert "最高投标限价已密封递交" in handed_in.stdout
        refused_bidder = platform.bidding("toubiao1", "reserve", "submit", "ceiling.bid", str(section_id), ok=False)
        assert refused_bidder.returncode == 1 and "wrong_role" in refused_bidder.stderr

        # --- submit: three straight through, one interrupted and resumed --------------------------------------
        def submit(n: int) -> subprocess.CompletedProcess[str]:
            # (small bids go in one request; the interrupted one resumes its upload in pieces)
            pieces = ["--in-pieces"] if n == 3 else []
            return platform.bidding(seeded.bidders[n - 1][0], "submit", f"bid-{n}.bid", str(section_id), *pieces)

        bid3 = read_sealed_bid(tmp_path / "bid-3.bid")
        with BiddingClient(platform.url, platform.token("toubiao3")) as client:
            upload = client.begin_submission(
                section_id,
                base64.b64encode(bid3.manifest_bytes).decode(),
                base64.b64encode(bid3.signature).decode(),
                {e: [base64.b64encode(s).decode() for s in shares] for e, shares in bid3.sealed_shares.items()},
            )
            first = next(bid3.iter_ciphertext("documents", block_size=1024 * 1024 + 123))
            assert client.put_ciphertext(upload["upload_id"], "documents", 0, first) == len(first)
        with ThreadPoolExecutor(4) as pool:
            submitted = dict(zip(range(1, 5), pool.map(submit, range(1, 5)), strict=True))
        assert f"documents 信封从第 {len(first):,} 字节继续" in submitted[3].stdout
        for n, out in submitted.items():
            assert "投标文件已递交" in out.stdout and "回执已保存并核验" in out.stdout, out.stdout
            assert (tmp_path / f"bid-{n}.bid.receipt.json").exists()
            assert not (tmp_path / f"bid-{n}.bid.upload.json").exists()
        receipt1 = json.loads((tmp_path / "bid-1.bid.receipt.json").read_text())
        manifest1 = read_sealed_bid(tmp_path / "bid-1.bid").manifest_bytes
        assert receipt1["document"]["manifest_sha256"] == hashlib.sha256(manifest1).hexdigest()

        status = platform.bidding("toubiao1", "status", str(section_id))
        assert "有效 / active" in status.stdout

        # --- receipts: offline, online, and a tampered one ---------------------------------------------------
        offline = platform.bidding("toubiao1", "verify-receipt", "bid-1.bid.receipt.json", "--offline")
        assert "结果：通过" in offline.stdout and "FAILED" not in offline.stdout
        online = platform.bidding("toubiao1", "verify-receipt", "bid-1.bid.receipt.json")
        assert "结果：通过" in online.stdout and "包含证明有效" in online.stdout, online.stdout
        forged = dict(receipt1)
        document = json.loads(base64.b64decode(receipt1["receipt"]))
        document["received_at"] = (datetime.fromisoformat(document["received_at"]) - timedelta(days=1)).isoformat()
        forged["receipt"] = base64.b64encode(
            json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
        ).decode()
        (tmp_path / "forged.json").write_text(json.dumps(forged))
        refused = platform.bidding("toubiao1", "verify-receipt", "forged.json", "--offline", ok=False)
        assert refused.returncode == 1 and "FAILED" in refused.stdout and "结果：未通过" in refused.stdout

        # --- the fourth bidder withdraws -------------------------------------------------------------------
        withdrawn = platform.bidding("toubiao4", "withdraw", str(section_id), "--key", "toubiao4.pem", "--yes", *pp)
        assert "投标已撤回" in withdrawn.stdout
        assert "已撤回 / withdrawn" in platform.bidding("toubiao4", "status", str(section_id)).stdout
        # Sending the withdrawn bid's file again gives the same (withdrawn) bid: said so, not "submitted".
        again = platform.bidding("toubiao4", "submit", "bid-4.bid", str(section_id), ok=False)
        assert again.returncode == 1 and "bid_not_active" in again.stderr, again.stdout + again.stderr
        assert "撤回，不会开标" in again.stderr and "投标文件已递交" not in again.stdout
        assert "已撤回 / withdrawn" in platform.bidding("toubiao4", "status", str(section_id)).stdout

        # --- an opener cannot open before the deadline ----------------------------------------------------
        early = platform.bidding("kaibiao1", "opener", "open", str(section_id), "--key", "kaibiao1.key", *pp, ok=False)
        assert early.returncode == 1 and "opening_not_waiting" in early.stderr

    # --- after the deadline ---------------------------------------------------------------------------------
    deadline = datetime.fromisoformat(section["deadline_at"])
    with platform.serving(deadline + timedelta(minutes=1)):
        platform.bidding(
            "toubiao4",
            "seal",
            "--section", "section-4.json",
            "--key", "toubiao4.pem",
            "--price", str(_price(tmp_path, 4)),
            "--documents", str(tmp_path / "docs-4"),
            "--out", "late.bid",
            *pp,
        )  # fmt: skip
        late = platform.bidding("toubiao4", "submit", "late.bid", str(section_id), ok=False)
        assert late.returncode == 1 and "deadline_passed" in late.stderr and "投标截止时间" in late.stderr

        with httpx.Client(base_url=platform.url, headers=staff) as http:
            r = http.post(f"/api/sections/{section_id}/opening")
            assert r.status_code == 200, r.text
            assert r.json()["state"] == "waiting"
        # The openers signed in three weeks ago: their tokens (7 days) have expired, and the tool says so.
        stale = platform.bidding("kaibiao1", "opener", "open", str(section_id), "--key", "kaibiao1.key", *pp, ok=False)
        assert stale.returncode == 1 and "token_expired" in stale.stderr and "重新登录" in stale.stderr
        for username in ("kaibiao1", "kaibiao2", "kaibiao3"):
            platform.bidding(username, "login", "--username", username, "--password", PASSWORD)
        first_opener = platform.bidding("kaibiao1", "opener", "open", str(section_id), "--key", "kaibiao1.key", *pp)
        assert "已上传 4 份签名的密钥分片" in first_opener.stdout  # three bids and the control price
        assert "等待开标人上传分片" in first_opener.stdout
        wrong_key = platform.bidding(
            "kaibiao2", "opener", "open", str(section_id), "--key", "kaibiao3.key", *pp, ok=False
        )
        assert wrong_key.returncode == 1 and "wrong_opener_key" in wrong_key.stderr
        third = platform.bidding("kaibiao3", "opener", "open", str(section_id), "--key", "kaibiao3.key", *pp)
        assert "等待开标人上传分片" in third.stdout  # k in, but the share window runs until all n or its end
        last_opener = platform.bidding("kaibiao2", "opener", "open", str(section_id), "--key", "kaibiao2.key", *pp)
        assert "已开标 / opened" in last_opener.stdout and "开标记录已发布：成功解密 3 份" in last_opener.stdout
        assert f"{platform.url}/notices/" in last_opener.stdout

        opening = httpx.get(f"{platform.url}/api/sections/{section_id}/opening").json()
        assert opening["state"] == "opened"
        record = httpx.get(f"{platform.url}/api/notices/{opening['record_notice_id']}").json()
        assert record["kind"] == "opening_record"
        bids = record["fields"]["bids"]
        opened = sorted(b["form"]["total_price_fen"] for b in bids if b["outcome"] == "opened")
        assert opened == sorted(PRICES[n] for n in (1, 2, 3))
        assert [b["outcome"] for b in bids if b["bidder_credit_code"] == seeded.bidders[3][1]] == ["withdrawn"]
        (ceiling_row,) = record["fields"]["reserve_prices"]
        assert ceiling_row["outcome"] == "opened" and ceiling_row["form"]["total_price_fen"] == 4_800_000_000
        assert "最高投标限价：48,000,000.00 元" in record["body"]

        # A receipt from before the deadline still verifies against the log as it is now.
        later = platform.bidding("toubiao1", "verify-receipt", "bid-1.bid.receipt.json")
        assert "结果：通过" in later.stdout and "一致性证明有效" in later.stdout, later.stdout
        # The log is the public's: a token that no longer works (the server refuses it, even there) is not sent.
        assert httpx.get(f"{platform.url}/log/key", headers={"Authorization": "Bearer stale"}).status_code == 401
        stale = platform.bidding("toubiao1", "--token", "stale", "verify-receipt", "bid-1.bid.receipt.json")
        assert "结果：通过" in stale.stdout, stale.stdout


def _x25519_key() -> str:
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    raw = X25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def test_a_section_whose_committee_differs_from_the_notice_is_refused():
    """`bidding fetch` refuses a committee that is not the one in the published notice's bytes."""
    from bidding.cli import Failure, verify_section
    from trading.canonical import canonical_bytes

    published = [
        {"position": i, "name": f"开标人{i}", "public_key": _x25519_key(), "signing_key": _x25519_key()} for i in (1, 2)
    ]
    document = canonical_bytes(
        {
            "notice_id": 7,
            "version": 1,
            "kind": "tender",
            "fields": {"committee": {"suite": SUITE, "k": 2, "n": 2, "members": published}},
            "project": {"trade_code": "T1"},
            "section_ids": [3],
            "published_at": "2026-03-02T01:00:00+00:00",
        }
    )
    info: dict[str, Any] = {
        "section_id": 3,
        "trade_code": "T1",
        "notice_id": 7,
        "notice_version": 1,
        "notice_content_sha256": hashlib.sha256(document).hexdigest(),
        "suite": SUITE,
        "k": 2,
        "n": 2,
        "members": [published[0], dict(published[1], public_key=_x25519_key())],  # a key swapped by the server
    }

    def notice_server(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/notices/7/versions/1/document"
        return httpx.Response(200, content=document)

    client = BiddingClient("http://platform.test", transport=httpx.MockTransport(notice_server))
    with pytest.raises(Failure) as refused:
        verify_section(client, info, 3)
    assert refused.value.code == "section_mismatch" and "开标人公钥与公告不同" in refused.value.message_zh
    info["notice_content_sha256"] = "0" * 64  # a document other than the one published
    with pytest.raises(Failure) as refused:
        verify_section(client, info, 3)
    assert "SHA-256" in refused.value.message_zh


def test_an_upload_cut_off_mid_request_goes_on_from_what_the_server_holds(tmp_path, monkeypatch):
    """A connection lost in the middle of a PUT: the server kept part of it; the client asks how much and
    sends only the rest."""
    from bidding import cli

    data = os.urandom(3 * 1024 * 1024 + 17)
    bid = tmp_path / "bid.bid"
    bid.write_bytes(b"H" * 512 + data)
    held = bytearray()
    calls = {"put": 0}

    def server(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json={"envelopes": {"documents": {"received": len(held)}}})
        offset = int(request.url.params["offset"])
        if offset != len(held):
            body = {
                "error": {
                    "code": "upload_conflict",
                    "message_zh": "断点位置不符",
                    "message_en": "Resume elsewhere",
                    "details": {"received": len(held)},
                }
            }
            return httpx.Response(409, json=body)
        calls["put"] += 1
        if calls["put"] == 2:
            held.extend(request.content[:1000])  # the connection drops after the first 1000 bytes
            raise httpx.ReadError("connection reset by peer", request=request)
        held.extend(request.content)
        return httpx.Response(200, json={"received": len(held)})

    monkeypatch.setattr(cli.time, "sleep", lambda seconds: None)
    with BiddingClient("http://platform.test", "t", transport=httpx.MockTransport(server)) as client:
        cli._upload_envelope(client, bid, "u1", "documents", (512, len(data)), 0, 1024 * 1024)
    assert bytes(held) == data
    assert calls["put"] == 4  # 1 MiB, the broken one, then the remaining 2 MiB - 983 bytes in two


async def _committed_without_receipt(settings: Settings, tmp: Path) -> tuple[int, str, Path, datetime]:
    """A bid committed a second before the deadline whose receipt was lost in a crash (the row is there, the
    receipt never signed); returns the section, the bidder's token, the sealed bid and the deadline."""
    from sqlalchemy import update

    from bidding.models import Bid
    from tests.bidding import harness

    clock = FixedClock(DEFAULT_NOW)
    async with in_process(settings, clock) as (app, client):
        world = await build_world(app, DEFAULT_NOW)
        section = await harness.open_section(app, client, world, DEFAULT_NOW)
        bidder = await harness.make_bidder(app, client, DEFAULT_NOW, 1, "湖南第一路桥建设有限公司")
        bid = harness.seal(section, bidder, tmp)
        clock.set(section.deadline - timedelta(seconds=1))
        r = await harness.submit(client, bidder, section, bid)
        assert r.status_code == 201, r.text
        async with app.state.sessionmaker() as s:
            await s.execute(update(Bid).values(receipt=None, receipt_signature=None))
            await s.commit()
    return section.id, bidder.token, bid, section.deadline


def test_a_submission_resumed_after_the_deadline_fetches_the_receipt_of_its_committed_bid(tmp_path):
    """The bid committed just before the deadline and the receipt was lost in a crash: `bidding submit` run
    again after the deadline finds the bid (it is active and will be opened) and saves its receipt, checked."""
    settings = sqlite_settings(tmp_path / "platform")
    section_id, token, bid, deadline = asyncio.run(_committed_without_receipt(settings, tmp_path))
    platform = Platform(tmp_path, settings)
    with platform.serving(deadline + timedelta(minutes=10)):
        resumed = platform.bidding("toubiao1", "--token", token, "submit", bid.name, str(section_id))
        assert "回执已保存并核验" in resumed.stdout, resumed.stdout
        receipt = json.loads((tmp_path / f"{bid.name}.receipt.json").read_text())
        assert receipt["document"]["manifest_sha256"] == hashlib.sha256(read_sealed_bid(bid).manifest_bytes).hexdigest()
        assert receipt["document"]["received_at"] == (deadline - timedelta(seconds=1)).isoformat()
        status = platform.bidding("toubiao1", "--token", token, "status", str(section_id))
        assert "有效 / active" in status.stdout and "尚未给出回执" not in status.stderr


async def _receipted_then_dropped_from_the_log(settings: Settings, tmp: Path, now: datetime) -> list[Path]:
    """Two bids receipted — one two days ago, one now — whose log entries the platform then drops instead of
    integrating them (the cheat a receipt's promise is there to expose); returns their receipt files."""
    from sqlalchemy import delete

    from tests.bidding import harness
    from trading.log.models import LogEntry

    clock = FixedClock(now - timedelta(days=2))
    receipts = []
    async with in_process(settings, clock) as (app, client):
        world = await build_world(app, clock.at)
        section = await harness.open_section(app, client, world, clock.at)
        for n, at in ((1, clock.at), (2, now)):
            clock.set(at)
            bidder = await harness.make_bidder(app, client, clock.at - timedelta(minutes=5), n)
            r = await harness.submit_file(client, bidder, section, harness.seal(section, bidder, tmp))
            assert r.status_code == 201, r.text
            receipts.append(tmp / f"receipt-{n}.json")
            receipts[-1].write_text(json.dumps(r.json()["receipt"]))
        async with app.state.sessionmaker() as s:
            await s.execute(delete(LogEntry).where(LogEntry.kind == "bid_event", LogEntry.leaf_index.is_(None)))
            await s.commit()
    return receipts


def test_verify_receipt_calls_an_entry_missing_after_merge_by_a_broken_promise_and_before_it_pending(tmp_path):
    settings = sqlite_settings(tmp_path / "platform")
    now = datetime.now(UTC).replace(microsecond=0)
    old, fresh = asyncio.run(_receipted_then_dropped_from_the_log(settings, tmp_path, now))
    platform = Platform(tmp_path, settings)
    with platform.serving(now + timedelta(seconds=5)):
        broken = platform.bidding("anyone", "verify-receipt", str(old), ok=False)
        assert broken.returncode == 1, broken.stdout
        assert "FAILED  平台未兑现承诺" in broken.stdout and "结果：未通过" in broken.stdout, broken.stdout
        pending = platform.bidding("anyone", "verify-receipt", str(fresh))
        assert "SKIPPED 尚未记入日志" in pending.stdout and "FAILED" not in pending.stdout, pending.stdout


async def _a_first_format_receipt(settings: Settings, tmp: Path, now: datetime) -> Path:
    """A bid receipted, its entry integrated, and its receipt re-signed in the first format (docs/log.md §11,
    `trading-receipt/v1`: leaf_index, the signed checkpoint and the audit path in hex, no promise) with the
    platform's own key, as a site before v2 handed them out; returns the receipt file."""
    from bidding.receipts import sign_receipt
    from tests.bidding import harness
    from trading.log.integrator import integrate_once

    clock = FixedClock(now)
    async with in_process(settings, clock) as (app, client):
        world = await build_world(app, clock.at)
        section = await harness.open_section(app, client, world, clock.at)
        bidder = await harness.make_bidder(app, client, clock.at - timedelta(minutes=5), 1)
        r = await harness.submit_file(client, bidder, section, harness.seal(section, bidder, tmp))
        assert r.status_code == 201, r.text
        await integrate_once(app.state)
        doc = dict(r.json()["receipt"]["document"])
        checkpoint = (await client.get("/log/checkpoint")).text
        size = int(checkpoint.split("\n")[1])
        proof = (await client.get(f"/log/proof/inclusion?tree_size={size}&leaf_hash={doc['leaf_hash']}")).json()
        for promised in ("max_merge_delay_seconds", "merge_by"):
            del doc[promised]
        doc |= {
            "format": "trading-receipt/v1",
            "leaf_index": proof["index"],
            "checkpoint": checkpoint,
            "inclusion_proof": [base64.b64decode(node).hex() for node in proof["proof"]],
        }
        data, signature = sign_receipt(doc, app.state.platform_key)
    receipt = tmp / "receipt-v1.json"
    receipt.write_text(
        json.dumps({"receipt": base64.b64encode(data).decode(), "signature": base64.b64encode(signature).decode()})
    )
    return receipt


def test_verify_receipt_checks_a_first_format_receipt_and_its_own_inclusion_proof(tmp_path):
    settings = sqlite_settings(tmp_path / "platform")
    now = DEFAULT_NOW  # (a v1 receipt makes no promise: nothing in its check reads the verifier's clock)
    receipt = asyncio.run(_a_first_format_receipt(settings, tmp_path, now))
    platform = Platform(tmp_path, settings)
    offline = platform.bidding("anyone", "verify-receipt", str(receipt), "--offline")
    assert "OK      回执所附包含证明有效" in offline.stdout and "FAILED" not in offline.stdout, offline.stdout
    with platform.serving(now + timedelta(seconds=5)):
        online = platform.bidding("anyone", "verify-receipt", str(receipt))
        assert "FAILED" not in online.stdout and "包含证明有效：条目" in online.stdout, online.stdout

    # The same receipt with one hash of its audit path changed, signed again: the signature holds, the proof not.
    from bidding.receipts import sign_receipt
    from trading.keys import load_or_create_signing_key

    wrapper = json.loads(receipt.read_text())
    doc = json.loads(base64.b64decode(wrapper["receipt"]))
    assert doc["inclusion_proof"], "a one-leaf tree has no audit path to tamper with"
    doc["inclusion_proof"][0] = "00" * 32
    data, signature = sign_receipt(doc, load_or_create_signing_key(settings.signing_key_path))
    bent = tmp_path / "receipt-v1-bent.json"
    bent.write_text(
        json.dumps({"receipt": base64.b64encode(data).decode(), "signature": base64.b64encode(signature).decode()})
    )
    refused = platform.bidding("anyone", "verify-receipt", str(bent), "--offline", ok=False)
    assert "FAILED  回执所附包含证明有效" in refused.stdout, refused.stdout
    assert "OK      平台对回执的签名有效" in refused.stdout, refused.stdout

    # The path in upper-case hex, or an index without its checkpoint: not the documented form (docs/log.md §11).
    for change in ({"inclusion_proof": ["AB" * 32]}, {"checkpoint": None}):
        data, signature = sign_receipt(doc | change, load_or_create_signing_key(settings.signing_key_path))
        bent.write_text(
            json.dumps({"receipt": base64.b64encode(data).decode(), "signature": base64.b64encode(signature).decode()})
        )
        refused = platform.bidding("anyone", "verify-receipt", str(bent), "--offline", ok=False)
        assert "FAILED  v1 回执的 leaf_index、checkpoint、inclusion_proof 格式正确" in refused.stdout, refused.stdout
