"""A small sealed bid in one request (``POST /api/sections/{id}/bids/file``): the sealed file as the body, the bid
and its receipt in the answer — with every check and refusal of the resumable path, and nothing stored when it
is refused."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import timedelta

import pytest
from sqlalchemy import event

from bidding.submission import ONE_REQUEST_LIMIT
from tests.bidding.harness import (
    begun,
    bid_rows,
    blob_files,
    ciphertexts,
    make_bidder,
    open_section,
    put,
    refused,
    seal,
    submit,
    submit_file,
    table_counts,
)
from tests.factories import build_world
from trading.blobs import inline

pytestmark = pytest.mark.asyncio


async def _market(app, client, clock, bidders: int = 1):
    world = await build_world(app, clock.at)
    section = await open_section(app, client, world, clock.at)
    return world, section, [await make_bidder(app, client, clock.at, n) for n in range(1, bidders + 1)]


async def test_a_sealed_file_in_one_request_is_a_bid_with_its_receipt_and_sending_it_again_changes_nothing(
    app, client, clock, tmp_path
):
    _world, section, (bidder,) = await _market(app, client, clock)
    path = seal(section, bidder, tmp_path)
    r = await submit_file(client, bidder, section, path)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["state"] == "active" and body["section_id"] == section.id
    document = json.loads(base64.b64decode(body["receipt"]["receipt"]))
    assert document == body["receipt"]["document"]
    assert document["format"] == "trading-receipt/v2" and document["manifest_sha256"] == body["manifest_sha256"]
    stored = await blob_files(app)
    counts = await table_counts(app)

    again = await submit_file(client, bidder, section, path)  # the answer was lost: the same file again
    assert again.status_code == 201, again.text
    assert again.json() == body
    assert await table_counts(app) == counts and await blob_files(app) == stored
    mine = await client.get(f"/api/sections/{section.id}/bids/mine", headers=bidder.headers)
    assert mine.json()["receipt"] == body["receipt"]


async def test_the_file_and_the_pieces_are_one_bid_path_a_later_file_replaces_a_bid_sent_in_pieces(
    app, client, clock, tmp_path
):
    _world, section, (bidder,) = await _market(app, client, clock)
    first = await submit(client, bidder, section, seal(section, bidder, tmp_path, price=4_600_000_000))
    assert first.status_code == 201, first.text
    clock.advance(minutes=1)
    second = await submit_file(client, bidder, section, seal(section, bidder, tmp_path, price=4_500_000_000))
    assert second.status_code == 201, second.text
    rows = {row.id: row.state for row in await bid_rows(app, section.id)}
    assert rows == {first.json()["bid_id"]: "replaced", second.json()["bid_id"]: "active"}
    event_ = json.loads(base64.b64decode(second.json()["receipt"]["receipt"]))["event"]
    assert event_["replaces"] == first.json()["manifest_sha256"]


async def test_a_file_whose_upload_in_pieces_was_begun_finishes_that_upload(app, client, clock, tmp_path):
    _world, section, (bidder,) = await _market(app, client, clock)
    path = seal(section, bidder, tmp_path)
    info = await begun(client, bidder, section, path)
    half = ciphertexts(path)["documents"][:100]
    assert (await put(client, bidder, info["upload_id"], "documents", half)).status_code == 200
    r = await submit_file(client, bidder, section, path)
    assert r.status_code == 201, r.text
    (row,) = await bid_rows(app, section.id)
    assert row.upload_id == info["upload_id"]
    status = await client.get(f"/api/uploads/{info['upload_id']}", headers=bidder.headers)
    assert status.json()["state"] == "complete"


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(lambda data: data[: len(data) // 2], id="truncated"),
        pytest.param(lambda data: b"%PDF-1.7\n" + data[9:], id="a-pdf"),
        pytest.param(lambda data: data[:-3000] + bytes(3000), id="ciphertext-changed"),
        pytest.param(lambda data: b"", id="empty"),
    ],
)
async def test_a_file_that_is_not_a_whole_sealed_bid_is_refused_and_nothing_is_stored(
    app, client, clock, tmp_path, spoil
):
    _world, section, (bidder,) = await _market(app, client, clock)
    path = seal(section, bidder, tmp_path, documents={"技术标.bin": bytes(range(256)) * 40})
    counts, stored = await table_counts(app), await blob_files(app)
    r = await client.post(
        f"/api/sections/{section.id}/bids/file",
        headers={**bidder.headers, "Content-Type": "application/octet-stream"},
        content=spoil(path.read_bytes()),
    )
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] in ("malformed_bid_file", "envelope.ciphertext_mismatch"), r.text
    assert error["message_zh"] and error["message_en"]
    assert await table_counts(app) == counts and await blob_files(app) == stored


async def test_a_late_file_is_refused_with_the_deadline_and_nothing_is_stored(app, client, clock, tmp_path):
    _world, section, (bidder,) = await _market(app, client, clock)
    path = seal(section, bidder, tmp_path)
    clock.set(section.deadline)
    counts, stored = await table_counts(app), await blob_files(app)
    refused(await submit_file(client, bidder, section, path), 422, "deadline_passed")
    assert await table_counts(app) == counts and await blob_files(app) == stored


async def test_a_file_over_the_one_request_limit_is_told_to_go_in_pieces(app, client, clock, tmp_path):
    _world, section, (bidder,) = await _market(app, client, clock)
    r = await client.post(
        f"/api/sections/{section.id}/bids/file",
        headers={**bidder.headers, "Content-Type": "application/octet-stream"},
        content=bytes(ONE_REQUEST_LIMIT + 1),
    )
    assert r.status_code == 413, r.text
    assert await bid_rows(app, section.id) == []


async def test_another_bidders_file_and_a_file_for_another_section_are_refused(app, client, clock, tmp_path):
    world, section, (owner, other) = await _market(app, client, clock, bidders=2)
    path = seal(section, owner, tmp_path)
    r = await submit_file(client, other, section, path)  # signed with the owner's key, for the owner
    assert r.status_code in (403, 422), r.text
    assert await bid_rows(app, section.id) == []
    r = await client.post(
        f"/api/sections/{section.id}/bids/file",
        headers={**world.headers("staff"), "Content-Type": "application/octet-stream"},
        content=path.read_bytes(),
    )
    refused(r, 403, "wrong_role")
    assert await bid_rows(app, section.id) == []


async def test_the_same_file_sent_twice_at_once_is_one_bid(app, client, clock, tmp_path):
    _world, section, (bidder,) = await _market(app, client, clock)
    path = seal(section, bidder, tmp_path)
    first, second = await asyncio.gather(*(submit_file(client, bidder, section, path) for _ in range(2)))
    assert first.status_code == second.status_code == 201, (first.text, second.text)
    assert first.json()["bid_id"] == second.json()["bid_id"]
    assert first.json()["receipt"] == second.json()["receipt"]
    assert len(await bid_rows(app, section.id)) == 1


async def test_many_bidders_files_at_once_are_all_receipted(app, client, clock, tmp_path):
    _world, section, bidders = await _market(app, client, clock, bidders=12)
    paths = [seal(section, b, tmp_path, price=4_500_000_000 + n) for n, b in enumerate(bidders)]
    answers = await asyncio.gather(*(submit_file(client, b, section, p) for b, p in zip(bidders, paths, strict=True)))
    assert [a.status_code for a in answers] == [201] * len(bidders), [a.text for a in answers if a.status_code != 201]
    assert {row.state for row in await bid_rows(app, section.id)} == {"active"}
    assert len(await bid_rows(app, section.id)) == len(bidders)


async def test_the_one_request_path_stays_within_its_statement_budget(app, client, clock, tmp_path):
    """The statements one small bid costs (the storm's floor is the database's round trips): counted, with a
    budget, so that a change that adds queries to the hot path is seen. Not a timing."""
    _world, section, (warm, bidder) = await _market(app, client, clock, bidders=2)
    assert (await submit_file(client, warm, section, seal(section, warm, tmp_path))).status_code == 201
    path = seal(section, bidder, tmp_path)
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        statements.append(" ".join(statement.split())[:120])

    transactions: list[str] = []

    def logged(query) -> None:  # type: ignore[no-untyped-def]  # asyncpg's own log: Lean's statements too
        if query.query.split(None, 1)[0].upper().rstrip(";") in ("BEGIN", "COMMIT", "ROLLBACK"):
            transactions.append(query.query)
        else:
            statements.append(" ".join(query.query.split())[:120])

    engine = app.state.engine.sync_engine
    postgresql = engine.dialect.name == "postgresql"

    def watch(dbapi_conn, _record, _proxy) -> None:  # type: ignore[no-untyped-def]
        dbapi_conn.driver_connection.add_query_logger(logged)

    if postgresql:  # every statement reaches asyncpg, whether SQLAlchemy or trading.db.Lean sent it
        event.listen(engine.pool, "checkout", watch)
    else:
        event.listen(engine, "before_cursor_execute", count)
    try:
        clock.advance(seconds=1)
        r = await submit_file(client, bidder, section, path)
    finally:
        if postgresql:
            event.remove(engine.pool, "checkout", watch)
        else:
            event.remove(engine, "before_cursor_execute", count)
    assert r.status_code == 201, r.text
    # PostgreSQL: the token (its use recorded in the same statement), the checks' one read (the bidder with its
    # key, active bid and uploads, and the section — no transaction around it) and the acceptance — the section's
    # lock, the key held, the replaced bid and the bid's rows — as one statement that commits on its own (the
    # section's tag key and committee are read once per worker); SQLite locks, reads the key, replaces and writes
    # the rows in four. BEGIN and COMMIT are not counted here: on PostgreSQL there are none.
    budget = {"postgresql": 3, "sqlite": 10}[app.state.engine.dialect.name]
    assert len(statements) <= budget, "\n".join(statements)
    if postgresql:
        assert transactions == [], transactions


#: The section's first bid and a later one: on PostgreSQL the first makes the section's tag key in a transaction
#: of its own, a later one is accepted by one statement (bidding.submission._accept_whole); both must refuse alike.
FIRST_OR_LATER = pytest.mark.parametrize("later", [False, True], ids=["first-bid-in-section", "later-bid"])


async def _bid_of_another(app, client, clock, section, tmp_path) -> None:  # type: ignore[no-untyped-def]
    other = await make_bidder(app, client, clock.at, 9)
    assert (await submit_file(client, other, section, seal(section, other, tmp_path))).status_code == 201


def _between_checks_and_acceptance(app, monkeypatch, step) -> None:  # type: ignore[no-untyped-def]
    """Run *step* once, after the next bid's checks and before its acceptance: after its ciphertexts are stored
    in the blob store, or — kept in the database by the acceptance itself — just before that statement."""
    from bidding import bid_rows as rows_module

    store = app.state.blobs
    real_put, real_write = store.put_bytes, rows_module.write_gated
    ran: list[bool] = []

    async def once() -> None:
        if not ran:  # (marked first: the step may send a bid of its own)
            ran.append(True)
            await step()

    async def put_then_step(data: bytes, *, expected_sha256: str):  # type: ignore[no-untyped-def]
        stored = await real_put(data, expected_sha256=expected_sha256)
        await once()
        return stored

    async def step_then_write(*args, **kwargs):  # type: ignore[no-untyped-def]
        await once()
        return await real_write(*args, **kwargs)

    monkeypatch.setattr(store, "put_bytes", put_then_step)
    monkeypatch.setattr(rows_module, "write_gated", step_then_write)


@FIRST_OR_LATER
async def test_a_key_revoked_while_the_bid_is_being_stored_signs_nothing(
    app, client, clock, tmp_path, monkeypatch, later
):
    """The checks read the key before the ciphertexts are stored; a revocation that lands meanwhile is seen
    under the section's lock (on PostgreSQL the live key is share-locked there, so a revocation after it waits
    for the bid): the bid is refused as signed by no registered key, and no bid row is stored."""
    from sqlalchemy import update

    from bidding.models import BidderKey

    _world, section, (bidder,) = await _market(app, client, clock)
    if later:
        await _bid_of_another(app, client, clock, section, tmp_path)
    path = seal(section, bidder, tmp_path)
    counts = await table_counts(app)

    async def revoke() -> None:
        async with app.state.sessionmaker() as s:
            await s.execute(
                update(BidderKey).where(BidderKey.organisation_id == bidder.organisation_id).values(revoked_at=clock.at)
            )
            await s.commit()

    _between_checks_and_acceptance(app, monkeypatch, revoke)
    r = await submit_file(client, bidder, section, path)
    refused(r, 403, "unregistered_key")
    assert [row for row in await bid_rows(app, section.id) if row.organisation_id == bidder.organisation_id] == []
    assert await table_counts(app) == counts


@FIRST_OR_LATER
async def test_a_section_closed_while_the_bid_is_being_stored_takes_nothing(
    app, client, clock, tmp_path, monkeypatch, later
):
    """The checks saw the section open; the close lands before the acceptance: the deadline is decided there
    (one conditional statement), the bid is refused with it and no row is written."""
    from sqlalchemy import update

    from trading.projects.models import Section

    _world, section, (bidder,) = await _market(app, client, clock)
    if later:
        await _bid_of_another(app, client, clock, section, tmp_path)
    path = seal(section, bidder, tmp_path)
    counts = await table_counts(app)

    async def close() -> None:
        async with app.state.sessionmaker() as s:
            await s.execute(update(Section).where(Section.id == section.id).values(state="closed"))
            await s.commit()

    _between_checks_and_acceptance(app, monkeypatch, close)
    r = await submit_file(client, bidder, section, path)
    refused(r, 422, "deadline_passed")
    assert await table_counts(app) == counts


@pytest.mark.parametrize("earlier", [False, True], ids=["first-bid", "replacing"])
async def test_another_bid_of_the_bidder_accepted_meanwhile_is_replaced_by_the_later(
    app, client, clock, tmp_path, monkeypatch, earlier
):
    """The checks read the bidder's active bid (none, or an earlier one); another of the bidder's bids is accepted
    before this one's acceptance. This one is then accepted replacing that one — its receipt's event names it —
    and the section holds one active bid of the bidder, never two and never none."""
    _world, section, (bidder,) = await _market(app, client, clock)
    if earlier:
        first = await submit_file(client, bidder, section, seal(section, bidder, tmp_path, price=4_700_000_000))
        assert first.status_code == 201, first.text
    meanwhile_path = seal(section, bidder, tmp_path, price=4_600_000_000)
    path = seal(section, bidder, tmp_path, price=4_500_000_000)
    answers: list = []

    async def another() -> None:
        answers.append(await submit_file(client, bidder, section, meanwhile_path))

    _between_checks_and_acceptance(app, monkeypatch, another)
    r = await submit_file(client, bidder, section, path)
    assert r.status_code == 201, r.text
    (meanwhile,) = answers
    assert meanwhile.status_code == 201, meanwhile.text
    states = {row.manifest_sha256: row.state for row in await bid_rows(app, section.id)}
    assert states[r.json()["manifest_sha256"]] == "active"
    assert states[meanwhile.json()["manifest_sha256"]] == "replaced"
    assert list(states.values()).count("active") == 1
    event_ = json.loads(base64.b64decode(r.json()["receipt"]["receipt"]))["event"]
    assert event_["replaces"] == meanwhile.json()["manifest_sha256"]


async def test_a_small_bid_sent_whole_is_kept_with_its_row_where_every_reader_finds_it(app, client, clock, tmp_path):
    """On PostgreSQL a bid sent whole after the section's first keeps its ciphertexts in the database, written by
    the statement that accepts it: nothing goes to the blob store, and the store's readers (the opening's, the
    documents', the public's download) and ``trading blobs check`` find them there. SQLite stores them."""
    from trading.blobs.backup import missing_blobs
    from trading.blobs.gc import collect_garbage
    from trading.blobs.inline import inline_blobs

    _world, section, (first, bidder) = await _market(app, client, clock, bidders=2)
    assert (await submit_file(client, first, section, seal(section, first, tmp_path))).status_code == 201
    stored = await blob_files(app)
    path = seal(section, bidder, tmp_path)
    r = await submit_file(client, bidder, section, path)
    assert r.status_code == 201, r.text
    (bid,) = [row for row in await bid_rows(app, section.id) if row.organisation_id == bidder.organisation_id]
    sent = ciphertexts(path)
    digests = {envelope: bid.blobs[envelope]["sha256"] for envelope in sent}
    async with app.state.engine.connect() as conn:
        kept = await inline_blobs(conn, digests.values())
    if app.state.engine.dialect.name == "postgresql":
        assert kept == {digests[envelope]: data for envelope, data in sent.items()}
        assert await blob_files(app) == stored  # not a byte more in the blob store
    else:
        assert kept == {} and len(await blob_files(app)) == len(stored) + len(sent)
    store = app.state.blobs
    for envelope, data in sent.items():
        assert await store.exists(digests[envelope])
        assert await store.read_bytes(digests[envelope], len(data)) == data
        assert b"".join([chunk async for chunk in store.open_stream(digests[envelope])]) == data
        with (await inline.opener(store, digests[envelope]))(digests[envelope]) as fh:
            assert fh.read() == data
    wanted = [(digests[e], len(sent[e])) for e in ("documents", "price")]
    assert await store.read_many(wanted) == [sent["documents"], sent["price"]]
    assert await missing_blobs(app.state) == {}
    # The blob store's garbage collection neither misses them (it counted them as lost, and warned of it each
    # round) nor touches them.
    report = await collect_garbage(app.state, grace=timedelta(0))
    assert report.blobs_missing == 0 and report.blobs_deleted == 0
    assert await store.read_many(wanted) == [sent["documents"], sent["price"]]


async def test_the_scheduler_makes_a_sections_tag_key_so_its_first_bid_too_is_one_statement(
    app, client, clock, tmp_path
):
    """A section taking bids gets its tag key at the scheduler's next tick (once, however often it ticks), so
    that in a deadline storm on a section nobody has bid in yet every bid is accepted by one statement, with its
    ciphertexts kept in the database on PostgreSQL."""
    from sqlalchemy import select

    from bidding import scheduler
    from bidding.models import SectionKey
    from trading.blobs.inline import inline_blobs

    _world, section, (bidder,) = await _market(app, client, clock)

    async def keys() -> list[bytes]:
        async with app.state.sessionmaker() as s:
            return list(await s.scalars(select(SectionKey.key).where(SectionKey.section_id == section.id)))

    assert await keys() == []
    await scheduler.tick(app.state)
    (key,) = await keys()
    await scheduler.tick(app.state)
    assert await keys() == [key]  # made once
    stored = await blob_files(app)
    r = await submit_file(client, bidder, section, seal(section, bidder, tmp_path))
    assert r.status_code == 201, r.text
    (bid,) = await bid_rows(app, section.id)
    async with app.state.engine.connect() as conn:
        kept = await inline_blobs(conn, [blob["sha256"] for blob in bid.blobs.values()])
    if app.state.engine.dialect.name == "postgresql":
        assert len(kept) == 2 and await blob_files(app) == stored
    else:
        assert kept == {}


@pytest.mark.parametrize("kib", [0, 1])
async def test_ciphertexts_over_inline_blob_max_kib_go_to_the_blob_store(app, client, clock, tmp_path, kib):
    """``inline_blob_max_kib`` bounds what the database keeps: 0 keeps nothing, and with 1 KiB the documents'
    ciphertext (tens of KiB) is over it — the bid's ciphertexts then go to the blob store, both of them."""
    import msgspec

    from trading.blobs.inline import inline_blobs

    app.state.settings = msgspec.structs.replace(app.state.settings, inline_blob_max_kib=kib)
    _world, section, (first, bidder) = await _market(app, client, clock, bidders=2)
    assert (await submit_file(client, first, section, seal(section, first, tmp_path))).status_code == 201
    stored = await blob_files(app)
    r = await submit_file(client, bidder, section, seal(section, bidder, tmp_path))
    assert r.status_code == 201, r.text
    (bid,) = [row for row in await bid_rows(app, section.id) if row.organisation_id == bidder.organisation_id]
    async with app.state.engine.connect() as conn:
        assert await inline_blobs(conn, [blob["sha256"] for blob in bid.blobs.values()]) == {}
    assert len(await blob_files(app)) == len(stored) + 2


async def test_inline_blob_max_kib_is_bounded_by_the_one_request_limit() -> None:
    from trading.settings import Settings

    for wrong in (-1, 16 * 1024 + 1):
        with pytest.raises(ValueError, match="inline_blob_max_kib"):
            Settings(inline_blob_max_kib=wrong)
