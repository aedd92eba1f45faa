"""The supervisors' ruling on a bid the opening left disputed (bidding.rulings, docs/envelope.md §10.3): the
published record raises an alert for them; a supervisor of the trade's centre rules once — revoked or withdrawn,
with a reason — and the ruling is published as a notice the hall links to, while every wrong caller and every bid
that is not awaiting a ruling is refused and changes nothing; `trading verify` still passes."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from bidding import scheduler
from bidding.envelope.suites import encode_private_key
from bidding.models import BidRuling
from bidding.opening import SHARE_WINDOW
from tests.bidding.harness import b64, open_as, opening_record, post_shares, refused, signed_shares
from tests.bidding.test_share_window import _row, _section_with, _verified, decrypted_shares_except, redeal
from tests.notices.test_ocds import RELEASE_SCHEMA, errors
from trading.audit.models import AuditEntry
from trading.funds.models import SupervisionAlert

pytestmark = pytest.mark.asyncio


async def _disputed(app, client, clock, tmp_path):
    """A section opened with the first bidder's bid disputed (opener 1 shows the garbage sealed to it)."""

    def cheat(section, bidder, path):
        return redeal(section, bidder, path, "price", 1, None)

    world, section, bidders = await _section_with(app, client, clock, tmp_path, cheat)
    first, _, third = section.openers
    pack = (await client.get(f"/api/sections/{section.id}/opening/shares", headers=first.headers)).json()
    cheater = next(b for b in pack["bids"] if b["bidder_credit_code"] == bidders[0].credit_code)
    position, shares = await decrypted_shares_except(client, first, section, cheater["bid_id"])
    dispute = {
        "bid_id": cheater["bid_id"],
        "manifest_sha256": cheater["manifest_sha256"],
        "envelope": "price",
        "dispute_key": b64(encode_private_key(section.info["suite"], first.hpke)),
    }
    body = signed_shares(section.id, position, [*shares, dispute], first.signing)
    assert (await post_shares(client, first, section.id, body)).status_code == 200
    assert (await open_as(client, third, section)).status_code == 200
    clock.set(clock.at + SHARE_WINDOW)
    await scheduler.tick(app.state)
    record = await opening_record(client, section)
    return world, section, bidders, record, cheater["bid_id"]


async def _ocds_statuses(client, settings, record) -> dict[str, str]:
    """The bids' statuses in the project's compiled OCDS record, by bidder credit code."""
    package = (await client.get(f"/api/ocds/records/{settings.ocid_prefix}-{record['trade_code']}")).json()
    compiled = package["records"][0]["compiledRelease"]
    names = {p["id"]: p["identifier"]["id"] for p in compiled["parties"] if p.get("identifier")}
    return {names[d["tenderers"][0]["id"]]: d["status"] for d in compiled["bids"]["details"]}


async def test_a_disputed_bid_is_ruled_once_by_its_centres_supervisors_and_the_ruling_published(
    app, client, clock, tmp_path, settings
):
    world, section, bidders, record, bid_id = await _disputed(app, client, clock, tmp_path)
    assert _row(record, bidders[0])["treated_as"] == "pending_ruling"
    # The public's open data: the disputed bid awaits its ruling (OCDS "pending"), the others opened ("valid").
    statuses = await _ocds_statuses(client, settings, record)
    assert statuses == {bidders[0].credit_code: "pending", **{b.credit_code: "valid" for b in bidders[1:]}}
    honest = next(b["bid_id"] for b in (await client.get(f"/api/sections/{section.id}/opening")).json()["results"]
                  if b["outcome"] == "opened")  # fmt: skip
    supervisor = world.headers("supervisor")

    # The record asked the supervisors for a ruling.
    alerts = (await client.get("/api/supervision/alerts", headers=supervisor)).json()
    [alert] = [a for a in alerts if a["kind"] == "bid_disputed"]
    assert alert["subject_type"] == "bid" and alert["subject_id"] == bid_id
    assert "待监督人员裁定" in alert["message_zh"] and alert["details"]["record_notice_id"] == record["id"]
    # Only the ruling answers it, not a click.
    r = await client.post(f"/api/supervision/alerts/{alert['id']}/acknowledge", headers=supervisor)
    refused(r, 422, "answered_by_an_act")

    url = f"/api/sections/{section.id}/opening/rulings"
    ruling = {
        "treated_as": "revoked",
        "reason": "开标人提出的分片异议经核验成立，投标人密封的分片无法解密，责任在投标人。",
    }
    async with app.state.sessionmaker() as s:
        audit_before = await s.scalar(select(func.count()).select_from(AuditEntry))
    # Refused, each changing nothing: the wrong role, another centre, a bid that opened, no such bid, bad input.
    refused(await client.post(f"{url}/{bid_id}", json=ruling), 401, "not_authenticated")
    refused(await client.post(f"{url}/{bid_id}", headers=world.headers("staff"), json=ruling), 403, "wrong_role")
    refused(await client.post(f"{url}/{bid_id}", headers=bidders[0].headers, json=ruling), 403, "wrong_role")
    other = world.headers("other_supervisor")
    refused(await client.post(f"{url}/{bid_id}", headers=other, json=ruling), 403, "other_centre")
    refused(await client.post(f"{url}/{honest}", headers=supervisor, json=ruling), 422, "not_disputed")
    refused(await client.post(f"{url}/{10**9}", headers=supervisor, json=ruling), 404, "bid_not_found")
    for bad in ({**ruling, "treated_as": "forgiven"}, {**ruling, "reason": ""}, {**ruling, "extra": 1}, {}):
        r = await client.post(f"{url}/{bid_id}", headers=supervisor, json=bad)
        assert r.status_code == 400, (bad, r.text)
    for blank in ("  a  ", "      "):  # long enough only with its spaces
        refused(
            await client.post(f"{url}/{bid_id}", headers=supervisor, json={**ruling, "reason": blank}),
            400,
            "bad_ruling",
        )
    async with app.state.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(BidRuling)) == 0
        assert await s.scalar(select(func.count()).select_from(AuditEntry)) == audit_before

    r = await client.post(f"{url}/{bid_id}", headers=supervisor, json=ruling)
    assert r.status_code == 201, r.text
    ruled = r.json()
    assert ruled["treated_as"] == "revoked" and ruled["notice_id"]
    refused(await client.post(f"{url}/{bid_id}", headers=supervisor, json=ruling), 409, "already_ruled")

    # Published for everyone, naming the bid and the record it completes.
    notice = (await client.get(f"/api/notices/{ruled['notice_id']}")).json()
    assert notice["kind"] == "dispute_ruling" and notice["status"] == "published"
    fields = notice["fields"]
    assert fields["bidder"] == bidders[0].name and fields["treated_as"] == "revoked"
    assert fields["manifest_sha256"] == _row(record, bidders[0])["manifest_sha256"]
    assert fields["opening_record_notice_id"] == record["id"] and fields["disputed_by"] == [1]
    assert "视为撤销投标" in notice["body"] and "第1号开标人" in notice["body"]
    releases = (await client.get("/api/ocds/releases", params={"limit": 100})).json()["releases"]
    [release] = [r for r in releases if f"notice-{ruled['notice_id']}-v1" in r["id"]]
    assert release["tag"] == ["tenderUpdate"] and errors(RELEASE_SCHEMA, release) == []
    # Its release updates the bid in the opening record's (the same detail id): revoked, so void — disqualified.
    [opening_release] = [r for r in releases if f"notice-{record['id']}-v1" in r["id"]]
    [ruled_detail] = release["bids"]["details"]
    assert ruled_detail["status"] == "disqualified"
    assert ruled_detail["id"] in {d["id"] for d in opening_release["bids"]["details"]}
    statuses = await _ocds_statuses(client, settings, record)
    assert statuses == {bidders[0].credit_code: "disqualified", **{b.credit_code: "valid" for b in bidders[1:]}}
    page = await client.get(f"/notices/{ruled['notice_id']}")
    assert page.status_code == 200 and "开标分片异议裁定" in page.text
    # The hall shows it; the alert is answered; the audit trail says who.
    [result] = [b for b in (await client.get(f"/api/sections/{section.id}/opening")).json()["results"]
                if b["bid_id"] == bid_id]  # fmt: skip
    assert result["ruling"] == {"treated_as": "revoked", "notice_id": ruled["notice_id"]}
    hall = await client.get(f"/sections/{section.id}/opening")
    assert "视为撤销投标" in hall.text and f'href="/notices/{ruled["notice_id"]}"' in hall.text
    async with app.state.sessionmaker() as s:
        seen = await s.scalar(select(SupervisionAlert).where(SupervisionAlert.kind == "bid_disputed"))
        assert seen.acknowledged_at is not None
        assert await s.scalar(select(func.count()).where(AuditEntry.action == "bid.rule")) == 1
        assert await s.scalar(select(func.count()).where(AuditEntry.action == "bid.disputed")) == 1
    # A hand-made ruling notice is refused: the platform writes it.
    draft = await client.post(
        "/api/staff/notices",
        headers=world.headers("staff"),
        json={"project_id": notice["project_id"], "kind": "dispute_ruling", "title": "手工裁定", "fields": fields,
              "section_ids": [section.id]},
    )  # fmt: skip
    assert draft.status_code == 201, draft.text
    published = await client.post(f"/api/staff/notices/{draft.json()['id']}/publish", headers=world.headers("staff"))
    refused(published, 422, "produced_by_platform")
    await _verified(app, client, clock, tmp_path)


async def test_two_supervisors_ruling_at_once_make_one_ruling(app, client, clock, tmp_path):
    world, section, _, _, bid_id = await _disputed(app, client, clock, tmp_path)
    url = f"/api/sections/{section.id}/opening/rulings/{bid_id}"
    answers = await asyncio.gather(
        *(
            client.post(
                url, headers=world.headers("supervisor"), json={"treated_as": how, "reason": "经核验，依法裁定。"}
            )
            for how in ("revoked", "withdrawn")
        )
    )
    assert sorted(r.status_code for r in answers) == [201, 409], [r.text for r in answers]
    winner = next(r.json() for r in answers if r.status_code == 201)
    async with app.state.sessionmaker() as s:
        [ruling] = list(await s.scalars(select(BidRuling)))
        assert (ruling.treated_as, ruling.notice_id) == (winner["treated_as"], winner["notice_id"])
    notices = (await client.get("/api/notices", params={"kind": "dispute_ruling"})).json()
    assert [n["id"] for n in notices["items"]] == [winner["notice_id"]]


async def test_trading_verify_reports_a_ruling_on_a_bid_that_was_not_disputed_and_a_second_ruling(
    app, client, clock, tmp_path, settings
):
    """A platform that published a ruling on an opened bid (turning it into a revoked one), or a second ruling on
    the same bid, is caught by anyone's `trading verify` from the published notices alone."""
    from notices import services as notice_services
    from notices.schemas import NoticeDraftCreate
    from trading.accounts.auth import actor_of
    from trading.accounts.models import Person
    from trading.context import Act

    world, section, bidders, record, bid_id = await _disputed(app, client, clock, tmp_path)
    supervisor = world.headers("supervisor")
    url = f"/api/sections/{section.id}/opening/rulings/{bid_id}"
    r = await client.post(url, headers=supervisor, json={"treated_as": "withdrawn", "reason": "非投标人原因。"})
    assert r.status_code == 201, r.text
    assert "1 rulings on disputed bids checked" in (await _verified(app, client, clock, tmp_path)).summary()
    # Not the bidder's fault: in the open data the bid counts as withdrawn (视为撤回), not void.
    statuses = await _ocds_statuses(client, settings, record)
    assert statuses[bidders[0].credit_code] == "withdrawn" and statuses[bidders[1].credit_code] == "valid"

    honest = _row(record, bidders[1])
    assert honest["outcome"] == "opened"
    async with app.state.sessionmaker() as s:
        person = await s.scalar(select(Person).where(Person.username == "supervisor"))
        act = Act(actor=actor_of(person), address="127.0.0.1", at=clock.at)
        for row in (honest, _row(record, bidders[0])):  # bypassing the service's checks, as a forger would
            await notice_services.draft_and_publish(
                s,
                act,
                NoticeDraftCreate(
                    project_id=record["project_id"],
                    kind="dispute_ruling",
                    title="伪造的裁定",
                    body="……",
                    fields={
                        "bidder": row["bidder"],
                        "manifest_sha256": row["manifest_sha256"],
                        "opening_record_notice_id": record["id"],
                        "treated_as": "revoked",
                        "reason": "……",
                        "ruled_at": clock.at.isoformat(),
                    },
                    section_ids=[section.id],
                ),
                tz=clock.at.tzinfo,
                by_platform=True,
            )
        await s.commit()
    from trading.log.integrator import integrate_once
    from trading.verify import verify_site

    await integrate_once(app.state)
    report, _ = await verify_site(client, url="http://site", state_path=tmp_path / "verify.json", now=clock.at)
    assert sorted(p["code"] for p in report.problems) == ["duplicate_ruling", "ruling_without_dispute"], report.problems
    assert any("并非有异议待裁定" in p["what"] and "does not leave disputed" in p["what"] for p in report.problems)
    # The clean-room verifier, written from the documents alone, finds the same.
    from tests.cleanroom.verifier import verify

    independent = await verify(client, now=clock.at)
    assert sorted(independent.codes()) == ["duplicate_ruling", "ruling_without_dispute"], independent.summary()
    assert independent.rulings == 3


async def test_a_supervisor_rules_from_the_opening_hall_with_a_form(app, client, clock, tmp_path):
    from tests.portal.test_pages import csrf_in, sign_in

    _, section, _, _, bid_id = await _disputed(app, client, clock, tmp_path)
    hall = f"/sections/{section.id}/opening"
    action = f'action="{hall}/rulings/{bid_id}"'
    assert action not in (await client.get(hall)).text  # the public sees the bid awaiting a ruling, no form
    assert "待监督人员裁定" in (await client.get(hall)).text

    # Another centre's supervisor gets no form, and its post is refused.
    csrf = await sign_in(client, "other_supervisor")
    assert action not in (await client.get(hall)).text
    r = await client.post(
        f"{hall}/rulings/{bid_id}", data={"csrf_token": csrf, "treated_as": "revoked", "reason": "越权裁定"}
    )
    assert r.status_code == 403 and "other_centre" in r.text

    client.cookies.clear()
    csrf = await sign_in(client, "supervisor")
    page = await client.get("/supervision")
    assert f'href="{hall}#bid-{bid_id}"' in page.text  # the alert leads to the hall
    assert "/acknowledge" not in page.text and "作出裁定后自动标记" in page.text  # only a ruling answers it
    page = await client.get(hall)
    assert action in page.text and csrf_in(page.text) == csrf
    assert page.headers["cache-control"] == "private, no-cache"  # its forms carry this session's token
    # Without a choice, or without the form's token: refused, nothing ruled.
    r = await client.post(f"{hall}/rulings/{bid_id}", data={"csrf_token": csrf, "reason": "投标人密封的分片无法解密。"})
    assert r.status_code == 400 and "请选择裁定结果" in r.text
    r = await client.post(
        f"{hall}/rulings/{bid_id}", data={"csrf_token": "x", "treated_as": "revoked", "reason": "理由充分。"}
    )
    assert r.status_code == 403
    async with app.state.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(BidRuling)) == 0

    r = await client.post(
        f"{hall}/rulings/{bid_id}",
        data={"csrf_token": csrf, "treated_as": "revoked", "reason": "投标人密封的分片无法解密，责任在投标人。"},
    )
    assert r.status_code == 303 and r.headers["location"] == f"{hall}#bid-{bid_id}"
    page = await client.get(hall)
    assert "监督人员已裁定：视为撤销投标" in page.text and action not in page.text
    assert "没有待处理的预警" in (await client.get("/supervision")).text  # the ruling answered the alert


async def test_the_scheduler_alerts_to_a_disputed_bid_without_its_alert_until_it_is_ruled(
    app, client, clock, tmp_path, monkeypatch
):
    """An opening published before rulings existed (here: its alert removed) gets its alert from the scheduler's
    next tick, once; a ruled bid gets none."""
    from sqlalchemy import delete

    world, section, _, _, bid_id = await _disputed(app, client, clock, tmp_path)

    async def alerts() -> list[int]:
        async with app.state.sessionmaker() as s:
            return list(
                await s.scalars(select(SupervisionAlert.subject_id).where(SupervisionAlert.kind == "bid_disputed"))
            )

    async def forget() -> None:
        async with app.state.sessionmaker() as s:
            await s.execute(delete(SupervisionAlert).where(SupervisionAlert.kind == "bid_disputed"))
            await s.commit()

    assert await alerts() == [bid_id]
    await forget()
    await scheduler.tick(app.state)
    await scheduler.tick(app.state)
    assert await alerts() == [bid_id]

    # A worker's own ticks look for alerts on the first, then not again for ALERTS_EVERY seconds (the close and
    # the share windows are looked at on every tick).
    monkeypatch.setattr(scheduler, "ALERTS_EVERY", 3600.0)
    ticker = scheduler.Ticker(app.state)
    await forget()
    await ticker()
    assert await alerts() == [bid_id]
    await forget()
    await ticker()
    assert await alerts() == []
    monkeypatch.setattr(ticker, "_alerts_due", 0.0)  # the hour has passed
    await ticker()
    assert await alerts() == [bid_id]

    url = f"/api/sections/{section.id}/opening/rulings/{bid_id}"
    r = await client.post(
        url, headers=world.headers("supervisor"), json={"treated_as": "withdrawn", "reason": "非投标人原因。"}
    )
    assert r.status_code == 201, r.text
    await forget()
    await scheduler.tick(app.state)
    assert await alerts() == []


async def test_the_hall_stays_live_until_the_disputed_bid_is_ruled_and_shows_the_ruling(app, client, clock, tmp_path):
    """After the opening, a hall with a bid awaiting its ruling is still live: its stream stays open (its page says
    so to the script) and carries the ruling when it is given, then ends; a hall with nothing awaited is over."""
    from tests.bidding.test_hall_live import PATIENCE, Viewer, listening

    world, section, _bidders, _record, bid_id = await _disputed(app, client, clock, tmp_path)
    assert 'data-live="yes"' in (await client.get(f"/sections/{section.id}/opening")).text
    await listening(app)
    viewer = Viewer(app, section.id)
    first = await viewer.next()
    [disputed] = [r for r in first["results"] if r["bid_id"] == bid_id]
    assert first["state"] == "opened" and disputed["outcome"] == "disputed" and disputed["ruling"] is None
    assert not viewer.ended.is_set()

    r = await client.post(
        f"/api/sections/{section.id}/opening/rulings/{bid_id}",
        headers=world.headers("supervisor"),
        json={"treated_as": "withdrawn", "reason": "非投标人原因。"},
    )
    assert r.status_code == 201, r.text
    event = await viewer.until(lambda e: any(x["bid_id"] == bid_id and x["ruling"] for x in e["results"]))
    [ruled] = [x for x in event["results"] if x["bid_id"] == bid_id]
    assert ruled["ruling"] == {"treated_as": "withdrawn", "notice_id": r.json()["notice_id"]}
    await asyncio.wait_for(viewer.ended.wait(), PATIENCE)  # nothing more awaited: the stream ends
    await viewer.close()
    assert 'data-live="no"' in (await client.get(f"/sections/{section.id}/opening")).text
