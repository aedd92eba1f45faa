"""HTTP API for sealed bids: keys, a section's bidding parameters, submissions (resumable), receipts,
withdrawal, and the committee on a draft notice."""

from __future__ import annotations

import base64
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post, put
from litestar.datastructures import ResponseHeader
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody, Parameter
from litestar.response import Stream
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bidding import (
    committees,
    directory,
    hall,
    keys,
    opening,
    receipts,
    reserve,
    rulings,
    schemas,
    submission,
    withdrawal,
)
from bidding.models import Bid, BidderKey, OpenerKey
from trading import metrics
from trading.blobs import inline
from trading.errors import NotFound
from trading.web import DB, make_act, request_actor

#: Ciphertext chunks stream to disk; this is only the framework's ceiling per request.
UPLOAD_ROUTE_LIMIT = 8 * 1024**3
#: An opener's signed shares document holds about 300 bytes per bid: 64 MiB is two hundred thousand bids, where
#: the JSON default (settings.max_json_body) would stop a section with a few thousand.
SHARES_ROUTE_LIMIT = 64 * 1024**2


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def my_bid(bid: Bid) -> schemas.MyBid:
    return schemas.MyBid(
        bid_id=bid.id,
        section_id=bid.section_id,
        manifest_sha256=bid.manifest_sha256,
        state=bid.state,
        received_at=bid.received_at,
        ended_at=bid.ended_at,
        receipt=receipt_of(bid),
    )


def receipt_of(bid: Bid) -> schemas.Receipt | None:
    if bid.receipt is None or bid.receipt_signature is None:
        return None
    return schemas.Receipt(
        receipt=_b64(bid.receipt), signature=_b64(bid.receipt_signature), document=msgspec.json.decode(bid.receipt)
    )


class BidderKeyController(Controller):
    path = "/api/bidding/keys"
    tags = ["bidding"]

    @post("/", operation_id="registerBidderKey")
    async def register(self, request: Request, db: DB, data: JSONBody[schemas.BidderKeyIn]) -> schemas.BidderKeyRead:
        """Register an Ed25519 public key that signs my organisation's bids."""
        row = await keys.register_bidder_key(db, await make_act(request, db), data)
        return _bidder_key(row)

    @get("/", operation_id="listBidderKeys")
    async def list_keys(self, request: Request, db: DB) -> list[schemas.BidderKeyRead]:
        """My organisation's registered signing keys."""
        actor = request_actor(request)
        assert actor is not None
        rows = await db.scalars(select(BidderKey).where(BidderKey.organisation_id == actor.organisation_id))
        return [_bidder_key(r) for r in rows]

    @post("/{key_id:int}/revoke", operation_id="revokeBidderKey", status_code=200)
    async def revoke(self, request: Request, db: DB, key_id: FromPath[int]) -> schemas.BidderKeyRead:
        """Revoke one of my organisation's signing keys (logged; bids it signed before stay valid)."""
        row = await directory.revoke_bidder_key(db, await make_act(request, db), key_id)
        return _bidder_key(row)


class KeyDirectoryController(Controller):
    """The public key directory (docs/log.md §7): who signed what, checkable against the log."""

    path = "/api/key-directory"
    tags = ["bidding"]

    @get("/bidders", operation_id="listDirectoryBidderKeys")
    async def bidders(self, db: DB, public_key: FromQuery[str | None] = None) -> list[schemas.DirectoryKey]:
        """Bidders' signing keys that have signed a bid in an opened section, with their owners and the salt
        of the logged owner commitment; ``public_key`` (base64) narrows to one key."""
        raw = keys.decode_b64(public_key, "公钥", "public_key", size=32) if public_key is not None else None
        return await directory.bidder_keys(db, raw)

    @get("/centres", operation_id="listDirectoryCentreKeys")
    async def centres(self, db: DB) -> list[schemas.DirectoryCentreKey]:
        """Every trading centre's reserve-price signing keys."""
        return await directory.centre_keys(db)


class OpenerKeyController(Controller):
    path = "/api/openers/keys"
    tags = ["bidding"]

    @post("/", operation_id="registerOpenerKey")
    async def register(self, request: Request, db: DB, data: JSONBody[schemas.OpenerKeyIn]) -> schemas.OpenerKeyRead:
        """Register my HPKE public key (for one suite) and my share-signing key; the private keys stay with me."""
        row = await keys.register_opener_key(db, await make_act(request, db), data)
        return schemas.OpenerKeyRead(
            id=row.id,
            person_id=row.person_id,
            suite=row.suite,
            public_key=_b64(row.public_key),
            signing_key=_b64(row.signing_key),
            created_at=row.created_at,
        )

    @get("/", operation_id="listOpenerKeys")
    async def list_keys(self, db: DB) -> list[schemas.OpenerKeyRead]:
        """Openers' active public keys (staff choose committees from them)."""
        rows = await db.scalars(select(OpenerKey).where(OpenerKey.revoked_at.is_(None)).order_by(OpenerKey.id))
        return [
            schemas.OpenerKeyRead(
                id=r.id,
                person_id=r.person_id,
                suite=r.suite,
                public_key=_b64(r.public_key),
                signing_key=_b64(r.signing_key),
                created_at=r.created_at,
            )
            for r in rows
        ]


class CentreKeyController(Controller):
    path = "/api/centre-keys"
    tags = ["bidding"]

    @post("/", operation_id="registerCentreKey")
    async def register(self, request: Request, db: DB, data: JSONBody[schemas.CentreKeyIn]) -> schemas.CentreKeyRead:
        """Register an Ed25519 public key of my trading centre: it signs the reserve prices staff seal."""
        return _centre_key(await reserve.register_centre_key(db, await make_act(request, db), data))

    @get("/", operation_id="listCentreKeys")
    async def list_keys(self, request: Request, db: DB) -> list[schemas.CentreKeyRead]:
        """My centre's registered signing keys."""
        return [_centre_key(r) for r in await reserve.centre_keys(db, await make_act(request, db))]

    @post("/{key_id:int}/revoke", operation_id="revokeCentreKey", status_code=200)
    async def revoke(self, request: Request, db: DB, key_id: FromPath[int]) -> schemas.CentreKeyRead:
        """Revoke one of the centre's reserve-price keys (logged; prices it sealed before stay valid)."""
        return _centre_key(await directory.revoke_centre_key(db, await make_act(request, db), key_id))


def _bidder_key(row: Any) -> schemas.BidderKeyRead:
    return schemas.BidderKeyRead(
        id=row.id,
        organisation_id=row.organisation_id,
        public_key=_b64(row.public_key),
        label=row.label,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


def _centre_key(row: Any) -> schemas.CentreKeyRead:
    return schemas.CentreKeyRead(
        id=row.id,
        centre_id=row.centre_id,
        public_key=_b64(row.public_key),
        label=row.label,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


class BiddingController(Controller):
    path = "/api"
    tags = ["bidding"]

    @post(
        "/sections/{section_id:int}/reserve-price",
        operation_id="submitReservePrice",
    )
    async def submit_reserve(
        self, request: Request, db: DB, section_id: FromPath[int], data: JSONBody[schemas.ReserveIn]
    ) -> schemas.ReserveRead:
        """Seal a reserve (标底) or control price (最高投标限价) before the deadline; it opens with the bids."""
        act = await make_act(request, db)
        return reserve.read(await reserve.submit(db, act, section_id, data, request.app.state.blobs))

    @get(
        "/sections/{section_id:int}/reserve-price",
        operation_id="listReservePrices",
    )
    async def reserve_prices(self, request: Request, db: DB, section_id: FromPath[int]) -> list[schemas.ReserveRead]:
        """What has been sealed for the section (kind, hash, time) — never the figure before the opening."""
        return [reserve.read(r) for r in await reserve.for_section(db, await make_act(request, db), section_id)]

    @post(
        "/staff/notices/{notice_id:int}/committee",
        operation_id="setCommittee",
        status_code=200,
    )
    async def set_committee(
        self, request: Request, db: DB, notice_id: FromPath[int], data: JSONBody[schemas.CommitteeIn]
    ) -> dict[str, Any]:
        """Choose the opening committee on a draft notice; publishing the notice fixes it and its keys."""
        return await committees.set_committee(db, await make_act(request, db), notice_id, data)

    @get("/sections/{section_id:int}/bidding", operation_id="getSectionBidding")
    async def section_bidding(self, db: DB, section_id: FromPath[int]) -> schemas.SectionBidding:
        """What a bidder needs to seal for this section: the committee's keys, k, suite and deadline (public)."""
        sc = await committees.section_committee(db, section_id)
        return committees.bidding_view(sc, await reserve.tenderer_credit_code(db, sc))

    @post("/sections/{section_id:int}/bids", operation_id="beginBidSubmission")
    async def begin(
        self, request: Request, db: DB, section_id: FromPath[int], data: JSONBody[schemas.SubmissionIn]
    ) -> schemas.UploadRead:
        """Send the signed manifest and sealed shares; then upload the ciphertexts and complete."""
        upload = await submission.begin(db, await make_act(request, db), section_id, data)
        return await submission.upload_read(upload, request.app.state.blobs.uploads)

    @post(
        "/sections/{section_id:int}/bids/file",
        operation_id="submitSealedBidFile",
        status_code=201,
        request_max_body_size=submission.ONE_REQUEST_LIMIT,
    )
    async def submit_file(self, request: Request, db: DB, section_id: FromPath[int]) -> schemas.MyBid:
        """A whole sealed bid file (``bidding seal``'s ``*.bid``, at most 16 MiB) as the raw body, in one
        request: checked, stored and accepted before the deadline, answered with the signed receipt. The
        same file again gives the same bid; a bigger file goes in resumable pieces (``beginBidSubmission``)."""
        state = request.app.state
        act = await make_act(request, db)
        body = await request.body()
        try:
            bid, fresh = await submission.submit_file(
                db,
                act,
                section_id,
                body,
                blobs=state.blobs,
                signer=receipts.ReceiptSigner.of(state),
                inline_max=state.settings.inline_blob_max_kib * 1024,
            )
            await db.commit()  # durable before the receipt is handed out
        except IntegrityError:  # the same file sent twice at once: the other request's bid is this one
            await db.rollback()
            bid = await submission.replayed_bid(db, act, section_id, body)
            fresh = False
        if fresh:
            metrics.BIDS_RECEIPTED.inc()
        if bid.receipt is None:  # a bid stored before receipts were signed with it
            bid = await receipts.issue(state, bid.id)
        return my_bid(bid)

    @get("/sections/{section_id:int}/bids/mine", operation_id="getMyBid")
    async def my_bid(self, request: Request, db: DB, section_id: FromPath[int]) -> schemas.MyBid:
        """My organisation's latest bid in this section, with its receipt (signed now if a crash or an outage
        came between the bid's commit and its receipt)."""
        actor = request_actor(request)
        assert actor is not None
        bid = await db.scalar(
            select(Bid)
            .where(Bid.section_id == section_id, Bid.organisation_id == actor.organisation_id)
            .order_by(Bid.id.desc())
            .limit(1)
        )
        if bid is None:
            raise NotFound("贵单位在此标段没有投标", "Your organisation has no bid in this section", code="no_bid")
        if bid.receipt is None:  # the row was read from the database: the bid has committed
            bid_id = bid.id
            await db.rollback()
            bid = await receipts.issue(request.app.state, bid_id)
        return my_bid(bid)

    @post(
        "/sections/{section_id:int}/bids/mine/withdraw",
        operation_id="withdrawMyBid",
        status_code=200,
    )
    async def withdraw(
        self, request: Request, db: DB, section_id: FromPath[int], data: JSONBody[schemas.WithdrawalIn]
    ) -> schemas.MyBid:
        """Withdraw my bid before the deadline, with a withdrawal signed by the key that signed the bid."""
        bid = await withdrawal.withdraw(db, await make_act(request, db), section_id, data)
        return my_bid(bid)


class UploadController(Controller):
    path = "/api/uploads"
    tags = ["bidding"]

    @get("/{upload_id:str}", operation_id="getUpload")
    async def status(self, request: Request, db: DB, upload_id: FromPath[str]) -> schemas.UploadRead:
        """How much of each ciphertext the server holds (resume from there)."""
        actor = request_actor(request)
        assert actor is not None
        upload = await submission.own_upload(db, actor, upload_id)
        return await submission.upload_read(upload, request.app.state.blobs.uploads)

    @put("/{upload_id:str}/{envelope:str}", operation_id="uploadCiphertext", request_max_body_size=UPLOAD_ROUTE_LIMIT)
    async def append(
        self,
        request: Request,
        db: DB,
        upload_id: FromPath[str],
        envelope: FromPath[str],
        offset: int = Parameter(ge=0),
    ) -> dict[str, int]:
        """Append ciphertext bytes at ``offset`` (the raw body, streamed to disk)."""
        received = await submission.append(
            db,
            await make_act(request, db),
            upload_id,
            envelope,
            offset,
            request.stream(),
            request.app.state.blobs.uploads,
        )
        return {"received": received}

    @post("/{upload_id:str}/complete", operation_id="completeUpload")
    async def complete(self, request: Request, db: DB, upload_id: FromPath[str]) -> schemas.MyBid:
        """Check the ciphertexts against the manifest and accept the bid if the deadline has not passed;
        the receipt is signed once the bid is committed."""
        state = request.app.state
        bid, fresh = await submission.complete(
            db, await make_act(request, db), upload_id, blobs=state.blobs, signer=receipts.ReceiptSigner.of(state)
        )
        await db.commit()  # durable before the receipt is handed out
        if fresh:
            metrics.BIDS_RECEIPTED.inc()
        if bid.receipt is None:  # a bid stored before receipts were signed with it
            bid = await receipts.issue(state, bid.id)
        return my_bid(bid)


class OpeningController(Controller):
    path = "/api/sections/{section_id:int}/opening"
    tags = ["opening"]

    @post("/", operation_id="startOpening", status_code=200)
    async def start(self, request: Request, db: DB, section_id: FromPath[int]) -> dict[str, Any]:
        """Start the opening ceremony after the deadline (staff of the section's centre)."""
        act = await make_act(request, db)
        await db.rollback()
        await opening.start(request.app.state, act, section_id)
        async with request.app.state.sessionmaker() as session:
            return await opening.status(session, section_id)

    @post("/rulings/{bid_id:int}", operation_id="ruleOnDisputedBid", status_code=201)
    async def rule(
        self,
        request: Request,
        db: DB,
        section_id: FromPath[int],
        bid_id: FromPath[int],
        data: JSONBody[schemas.BidRulingIn],
    ) -> dict[str, Any]:
        """The supervisors rule, once, on a bid the opening left disputed (an opener's founded dispute of its
        sealed share): it counts as revoked or as withdrawn (20号令 §31), for the reason given; the ruling is
        published as a notice."""
        ruling = await rulings.rule(db, await make_act(request, db), section_id, bid_id, data)
        return {
            "bid_id": ruling.bid_id,
            "treated_as": ruling.treated_as,
            "reason": ruling.reason,
            "ruled_at": ruling.ruled_at.isoformat(),
            "notice_id": ruling.notice_id,
        }

    @get("/", operation_id="getOpening")
    async def status(self, db: DB, section_id: FromPath[int]) -> dict[str, Any]:
        """The ceremony as the public sees it: who has uploaded shares, and the results once opened."""
        return await opening.status(db, section_id)

    @get("/events", operation_id="openingEvents", media_type="text/event-stream")
    async def events(self, request: Request, section_id: FromPath[int]) -> Stream:
        """Server-sent events: the ceremony's status each time it changes, until the record is published."""
        state = request.app.state
        first = await hall.first_snapshot(state, section_id)  # no such section: a 404 now, not a broken stream
        return Stream(
            hall.follow(state, section_id, first),
            media_type="text/event-stream",
            # nginx would otherwise buffer the stream (deploy/nginx/trading-proxy.conf buffers answers).
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @get("/shares", operation_id="getMySealedShares")
    async def my_shares(self, request: Request, db: DB, section_id: FromPath[int]) -> dict[str, Any]:
        """The key shares sealed to me for every bid to open (decrypt them on my own machine)."""
        actor = request_actor(request)
        assert actor is not None
        return await opening.my_sealed_shares(db, actor, section_id)

    @post(
        "/shares",
        operation_id="uploadShares",
        status_code=200,
        request_max_body_size=SHARES_ROUTE_LIMIT,
        responses={
            202: ResponseSpec(
                data_container=dict[str, Any],
                description="Accepted, and the opening is now due (all n openers in, or the share window over): a "
                "background job opens the bids and publishes the record. Follow its progress at `status_url` "
                "(also in Location) or in the opening hall (`hall_url`).",
            )
        },
    )
    async def upload_shares(
        self, request: Request, db: DB, section_id: FromPath[int], data: JSONBody[schemas.SharesIn]
    ) -> Response[dict[str, Any]]:
        """Upload my decrypted shares, signed; the upload that makes the opening due answers 202, and the bids are
        opened and the record published by a background job."""
        act = await make_act(request, db)
        await db.rollback()
        body = await opening.upload_shares(request.app.state, act, section_id, data)
        if body["state"] == "opening":
            return Response(body, status_code=202, headers={"Location": body["status_url"]})
        return Response(body, status_code=200)

    @get(
        "/bids/{manifest_sha256:str}/manifest",
        operation_id="getOpenedBidManifest",
        media_type="application/json",
        response_headers=[
            ResponseHeader(
                name="X-Signature",
                description="The bidder's Ed25519 signature over these exact bytes, base64 (docs/envelope.md §7); "
                "the opening record carries the same value as `signature`",
                documentation_only=True,
            )
        ],
    )
    async def opened_manifest(
        self, db: DB, section_id: FromPath[int], manifest_sha256: FromPath[str]
    ) -> Response[bytes]:
        """After the opening: a bid's (or a reserve price's) signed manifest, as the exact bytes that were signed
        and hashed. Hash and verify the body as received; do not parse and re-serialise it first."""
        bid = await opening.opened_bid(db, section_id, manifest_sha256)
        return Response(
            content=bid.manifest,
            media_type="application/json",
            headers={"X-Signature": _b64(bid.signature), "Cache-Control": "public, max-age=31536000, immutable"},
        )

    @get(
        "/bids/{manifest_sha256:str}/price",
        operation_id="getOpenedBidPriceCiphertext",
        media_type="application/octet-stream",
        response_headers=[
            ResponseHeader(
                name="X-Content-SHA256",
                description="SHA-256 of the ciphertext, hex: the manifest's `envelopes.price.ciphertext_sha256`",
                documentation_only=True,
            )
        ],
    )
    async def opened_price(
        self, request: Request, db: DB, section_id: FromPath[int], manifest_sha256: FromPath[str]
    ) -> Stream:
        """After the opening: a bid's price ciphertext, to decrypt with the key in the opening record."""
        bid = await opening.opened_bid(db, section_id, manifest_sha256)
        blob = bid.blobs["price"]
        return Stream(
            await inline.stream(request.app.state.blobs, db, blob["sha256"]),
            media_type="application/octet-stream",
            headers={
                "Content-Length": str(blob["size"]),
                "X-Content-SHA256": blob["sha256"],
                "Cache-Control": "public, max-age=31536000, immutable",
            },
        )
