"""`trading verify`'s checks of one opening record (docs/log.md §5–§8), from public data only.

The record must account for exactly the bid events logged for its section before its signed deadline cut,
each row's event naming that row's bid; each opened bid's manifest must name this section, its bidder and the
tender notice's committee, and be signed by a key the key directory shows was the sealer's and was logged
before the cut; the published price keys must open the logged ciphertexts to the published figures; a bid that
did not open must fail for the reason and fault its published shares give; a withdrawal must be the bidder's
own signed act.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx

from trading.log import merkle
from trading.log.cuts import CutError, parse_cut
from trading.log.note import Checkpoint, NoteError, NoteVerifier, parse_checkpoint, verify_note

if TYPE_CHECKING:
    from trading.verify import Report


def logged_cuts(report: Report, raw_entries: list[bytes], verifier: NoteVerifier) -> dict[int, tuple[int, str]]:
    """Every deadline cut in the log, by section: (entry index, note). Two different cuts for one section
    are a problem whatever else is true: the platform signed two versions of when bidding closed."""
    cuts: dict[int, tuple[int, str]] = {}
    for index, data in enumerate(raw_entries):
        if b'"deadline_cut"' not in data:
            continue
        doc = json.loads(data)
        if doc.get("kind") != "deadline_cut":
            continue
        try:
            cut = parse_cut(verify_note(doc.get("note") or "", [verifier]))
        except (NoteError, CutError) as exc:
            report.problem("bad_deadline_cut", f"log entry {index}", f"a logged deadline cut does not verify: {exc}")
            continue
        if cut.section_id in cuts and cuts[cut.section_id][1] != doc["note"]:
            report.problem(
                "conflicting_cuts",
                f"log entry {index}",
                f"section {cut.section_id} has two different deadline cuts (entries {cuts[cut.section_id][0]} "
                f"and {index})",
            )
            continue
        cuts.setdefault(cut.section_id, (index, doc["note"]))
    return cuts


def _check_cut(
    report: Report,
    where: str,
    fields: dict[str, Any],
    checkpoint: Checkpoint,
    verifier: NoteVerifier,
    cuts: dict[int, tuple[int, str]],
    delay: timedelta,
) -> None:
    """The record's deadline cut: signed by the log, about this section and deadline, naming the deadline
    checkpoint, and the one cut the log holds for the section."""
    note = (fields.get("deadline_cut") or {}).get("note")
    if not note:
        report.problem("no_deadline_cut", where, "the record carries no signed deadline cut")
        return
    try:
        cut = parse_cut(verify_note(note, [verifier]))
    except (NoteError, CutError) as exc:
        report.problem("bad_deadline_cut", where, f"the deadline cut does not verify: {exc}")
        return
    deadline = datetime.fromisoformat(fields["deadline"]) if fields.get("deadline") else None
    if cut.section_id != fields.get("section_id") or cut.deadline != deadline:
        report.problem("deadline_cut_mismatch", where, "the deadline cut names another section or deadline")
    if (cut.tree_size, cut.root_hash) != (checkpoint.size, checkpoint.root_hash):
        report.problem("deadline_cut_mismatch", where, "the deadline cut names another checkpoint than the record")
    logged = cuts.get(cut.section_id)
    if logged is None or logged[1] != note:
        report.problem("deadline_cut_not_logged", where, "the record's deadline cut is not the one in the log")
    elif logged[0] < cut.tree_size:
        report.problem("deadline_cut_mismatch", where, "the cut is logged inside the tree it says closed bidding")
    if cut.cut_at - cut.deadline > delay:
        report.notes.append(
            f"{where}: the deadline cut was made {cut.cut_at - cut.deadline} after the deadline "
            "(entries created after the deadline are still excluded)"
        )


async def check_opening(
    client: httpx.AsyncClient,
    report: Report,
    notice_id: int,
    fields: dict[str, Any],
    verifier: NoteVerifier,
    leaves: list[bytes],
    raw_entries: list[bytes],
    *,
    cuts: dict[int, tuple[int, str]] | None = None,
    keys: KeyLog | None = None,
    delay: timedelta = timedelta(seconds=60),
) -> None:
    """One opening record against the log: both directions, and every figure re-decrypted."""
    from bidding.events import commitment, section_tag

    where = f"/notices/{notice_id} (开标记录)"
    if fields.get("source") == "offline" and "deadline_checkpoint" not in fields:
        report.offline_openings += 1  # a paper/offline ceremony: no sealed bids to check
        return
    report.openings += 1
    keys = keys or KeyLog.read(raw_entries)
    cut = fields.get("deadline_checkpoint") or {}
    try:
        checkpoint = parse_checkpoint(verify_note(cut.get("note") or "", [verifier]))
    except NoteError as exc:
        report.problem("bad_deadline_checkpoint", where, f"the deadline checkpoint does not verify: {exc}")
        return
    size = checkpoint.size
    if size > len(leaves) or merkle.root_from_leaf_hashes(leaves[:size]) != checkpoint.root_hash:
        report.problem(
            "deadline_checkpoint_mismatch",
            where,
            f"the deadline checkpoint (size {size}) is not a prefix of the log served today",
        )
        return
    if cuts is not None:
        _check_cut(report, where, fields, checkpoint, verifier, cuts, delay)
    key = base64.b64decode(fields.get("section_tag_key") or "")
    section_before: dict[str, int] = {}
    section_after: dict[str, int] = {}
    for index, data in enumerate(raw_entries):
        try:
            doc = json.loads(data)
        except ValueError:
            continue
        if doc.get("kind") != "bid_event" or not key:
            continue
        if section_tag(key, doc["commitment"]) == doc.get("section_tag"):
            (section_before if index < size else section_after)[doc["commitment"]] = index
    claimed: set[str] = set()
    tenders: dict[tuple[Any, ...], dict[str, Any] | None] = {}  # the tender notice's committee, read once
    # Bids, and any reserve or control price staff sealed (logged and opened the same way).
    sealed = [(bid, bid.get("bidder", "?")) for bid in fields.get("bids") or []]
    sealed += [(r, r.get("kind_zh", "标底")) for r in fields.get("reserve_prices") or []]
    for bid, name in sealed:
        report.bids += 1 if "bidder" in bid else 0
        bwhere = f"{where} {name}"
        for label in ("event", "withdrawal_event"):
            event = bid.get(label)
            if not event:
                continue
            _check_event_names_its_bid(report, bwhere, label, fields, bid, event["details"])
            c = commitment(event["details"], base64.b64decode(event["salt"]))
            claimed.add(c)
            if c in section_after:
                report.problem(
                    "logged_after_deadline",
                    bwhere,
                    f"its {label.replace('_', ' ')} was logged (entry {section_after[c]}) after the deadline",
                )
            elif c not in section_before:
                report.problem(
                    "bid_not_in_log",
                    bwhere,
                    f"its {label.replace('_', ' ')} is not in the log before the deadline checkpoint",
                )
        if bid.get("withdrawal_event"):
            await _check_withdrawal(client, report, bwhere, fields, bid)
        if bid.get("outcome") in ("failed", "disputed") and "bidder" in bid:
            await recheck_failure(client, report, bwhere, fields, bid, tenders=tenders)
        if bid.get("outcome") == "opened":
            c = commitment(bid["event"]["details"], base64.b64decode(bid["event"]["salt"]))
            await _recheck_bid(
                client,
                report,
                bwhere,
                fields,
                bid,
                keys,
                cut_size=size,
                event_index=section_before.get(c),
                tenders=tenders,
            )
    _check_each_bid_ends_once(report, where, [bid for bid, _ in sealed])
    for c, index in sorted(section_before.items(), key=lambda kv: kv[1]):
        if c not in claimed:
            report.problem(
                "bid_dropped",
                where,
                f"log entry {index} is a bid event of this section, logged before the deadline, "
                "but the opening record does not account for it",
            )


#: The events a record's rows carry: which event each label may be, and which field names the sealer.
_EVENTS = {
    ("bidder", "event"): ("submission", "bidder_credit_code"),
    ("bidder", "withdrawal_event"): ("withdrawal", "bidder_credit_code"),
    ("reserve", "event"): ("reserve_submission", "sealer_credit_code"),
}


def _check_event_names_its_bid(
    report: Report, where: str, label: str, fields: dict[str, Any], bid: dict[str, Any], details: dict[str, Any]
) -> None:
    """A row's event is about that row's bid (log.md §5): its section, manifest and sealer — else one bid's
    logged event could be shown as another's, and the bid it was really about go unaccounted for unseen."""
    event, sealer = _EVENTS[("bidder" if "bidder" in bid else "reserve", label)]
    named = (details.get("event"), details.get("section_id"), details.get("manifest_sha256"), details.get(sealer))
    if named != (event, fields.get("section_id"), bid.get("manifest_sha256"), bid.get(sealer)):
        report.problem(
            "event_details_mismatch",
            where,
            f"记录所附的 {label} 不是这份投标的 / the {label.replace('_', ' ')} attached names another event, "
            f"section, bid or sealer than its row",
        )


async def _recheck_bid(
    client: httpx.AsyncClient,
    report: Report,
    where: str,
    fields: dict[str, Any],
    bid: dict[str, Any],
    keys: KeyLog,
    *,
    cut_size: int,
    event_index: int | None,
    tenders: dict[tuple[Any, ...], dict[str, Any] | None] | None = None,
) -> None:
    """One opened bid or reserve price: the manifest and its signature, the signer in the key directory and
    the log, and the published key opening the logged ciphertext to the published figures."""
    from bidding.envelope import EnvelopeError, manifest_hash, parse_manifest, recheck_price

    base = f"/api/sections/{fields['section_id']}/opening/bids/{bid['manifest_sha256']}"
    m = await client.get(base + "/manifest")
    c = await client.get(base + "/price")
    if m.status_code != 200 or c.status_code != 200:
        report.problem("ciphertext_missing", where, "the manifest or the price ciphertext is not served")
        return
    if manifest_hash(m.content) != bid["manifest_sha256"]:
        report.problem("manifest_altered", where, "the manifest served does not hash to the manifest hash recorded")
        return
    try:
        manifest = parse_manifest(m.content)
        form = recheck_price(manifest, base64.b64decode(bid.get("price_key") or ""), [c.content])
    except (EnvelopeError, ValueError) as exc:
        report.problem("price_recheck_failed", where, f"the published key does not open the logged ciphertext: {exc}")
        return
    if form != bid.get("form"):
        report.problem(
            "price_mismatch",
            where,
            f"the ciphertext opens to {form.get('total_price_fen')} fen, the record says "
            f"{(bid.get('form') or {}).get('total_price_fen')}",
        )
    await check_sealed_for(client, report, where, fields, bid, manifest, tenders=tenders)
    await _check_signer(client, report, where, bid, m.content, manifest, keys, cut_size, event_index)


async def check_sealed_for(
    client: httpx.AsyncClient,
    report: Report,
    where: str,
    fields: dict[str, Any],
    bid: dict[str, Any],
    manifest: Any,
    *,
    tenders: dict[tuple[Any, ...], dict[str, Any] | None] | None = None,
) -> None:
    """An opened bid was sealed for this very section, by the bidder the record names (a reserve price: in the
    tenderer's name), to the committee of the tender notice the record names: else a platform could count, as
    this section's, a bid signed for another section or sealed to other openers (envelope.md §4, §12)."""
    from bidding.envelope import WrongBidder, WrongCommittee, WrongSection, check_manifest_context

    committee = await _tender_committee(client, fields, tenders)
    if committee is None:
        report.problem("outcome_unverifiable", where, "the tender's committee is not served as logged")
        return
    try:
        check_manifest_context(manifest, _sealed_for(fields, bid, committee))
    except WrongCommittee:
        report.problem(
            "wrong_committee",
            where,
            "密封所用的开标委员会不是招标公告公布的 / the bid was sealed to another committee than the tender notice's",
        )
    except (KeyError, TypeError, ValueError) as exc:
        report.problem("outcome_unverifiable", where, f"the record or the tender's committee is incomplete: {exc}")
    except (WrongSection, WrongBidder) as exc:
        report.problem(
            "manifest_mismatch",
            where,
            f"投标文件清单所写的标段或投标人与开标记录不符 / the manifest names another section, bidder or role "
            f"than the record ({getattr(exc, 'details', exc)})",
        )


def _sealed_for(fields: dict[str, Any], bid: dict[str, Any], committee: dict[str, Any]) -> Any:
    """The context a record's row had to be sealed under: the record's section, the row's bidder (a reserve price:
    the tenderer, its sealer) and the tender notice's committee, its openers in position order."""
    from bidding.envelope import BidContext
    from bidding.envelope.context import ROLE_BIDDER, ROLE_RESERVE

    reserve = "bidder" not in bid
    return BidContext(
        section_id=fields["section_id"],
        trade_code=fields["trade_code"],
        section_code=fields["section_code"],
        bidder_credit_code=bid["sealer_credit_code" if reserve else "bidder_credit_code"],
        suite=committee["suite"],
        k=committee["k"],
        n=committee["n"],
        opener_keys=tuple(
            base64.b64decode(m["public_key"]) for m in sorted(committee["members"], key=lambda m: m["position"])
        ),
        role=ROLE_RESERVE if reserve else ROLE_BIDDER,
    )


async def _tender_committee(
    client: httpx.AsyncClient, fields: dict[str, Any], tenders: dict[tuple[Any, ...], Any] | None = None
) -> dict[str, Any] | None:
    """The committee of the published tender version the record names (its bytes checked against its hash);
    read once per record when *tenders* keeps what was read."""
    tender = fields.get("tender_notice") or {}
    key = (tender.get("notice_id"), tender.get("version"), tender.get("content_sha256"))
    if tenders is not None and key in tenders:
        return tenders[key]
    committee = await _read_tender_committee(client, tender)
    if tenders is not None:
        tenders[key] = committee
    return committee


async def _read_tender_committee(client: httpx.AsyncClient, tender: dict[str, Any]) -> dict[str, Any] | None:
    r = await client.get(f"/api/notices/{tender.get('notice_id')}")
    if r.status_code != 200:
        return None
    for version in r.json().get("versions", []):
        if version["version"] == tender.get("version"):
            doc = await client.get(version["document_url"])
            if doc.status_code == 200 and hashlib.sha256(doc.content).hexdigest() == tender.get("content_sha256"):
                return (json.loads(doc.content).get("fields") or {}).get("committee")
    return None


async def recheck_failure(
    client: httpx.AsyncClient,
    report: Report,
    where: str,
    fields: dict[str, Any],
    bid: dict[str, Any],
    *,
    tenders: dict[tuple[Any, ...], dict[str, Any] | None] | None = None,
) -> None:
    """A bid that did not open: every price share uploaded in the window and every dispute are in the record, so
    the combination is repeated here and must reach the same outcome, reason and fault (docs/envelope.md §10)."""
    from bidding.envelope import (
        EnvelopeError,
        check_dispute,
        combine_and_open,
        decode_private_key,
        manifest_hash,
        parse_manifest,
    )
    from bidding.envelope.priceform import STANDARD_PRICE_FIELDS

    committee = await _tender_committee(client, fields, tenders)
    base = f"/api/sections/{fields['section_id']}/opening/bids/{bid['manifest_sha256']}"
    m = await client.get(base + "/manifest")
    if committee is None or m.status_code != 200 or manifest_hash(m.content) != bid["manifest_sha256"]:
        report.problem("outcome_unverifiable", where, "the tender's committee or the bid's manifest is not served")
        return
    manifest = parse_manifest(m.content)
    context = _sealed_for(fields, bid, committee)
    disputed = set()
    for dispute in bid.get("disputes") or []:
        try:
            finding = check_dispute(
                manifest,
                context,
                dispute["envelope"],
                dispute["position"],
                decode_private_key(context.suite, base64.b64decode(dispute["opener_private_key"])),
                base64.b64decode(dispute["sealed_share"]),
            )
        except (EnvelopeError, ValueError) as exc:
            report.problem("dispute_unfounded", where, f"opener {dispute['position']}'s dispute does not hold: {exc}")
            return
        if finding != dispute.get("finding"):
            report.problem("dispute_unfounded", where, f"opener {dispute['position']}'s dispute finds {finding}")
        if dispute["envelope"] == "price":
            disputed.add(dispute["position"])
    shares = {int(i): base64.b64decode(share) for i, share in (bid.get("price_shares") or {}).items()}
    c = await client.get(base + "/price")
    ciphertext = [c.content] if c.status_code == 200 else []
    required = ((committee.get("price_form") or {}).get("required")) or ()
    extra = [f for f in required if f not in STANDARD_PRICE_FIELDS]
    try:
        result = combine_and_open(
            manifest, context, "price", shares, ciphertext, final=True, disputed=disputed, price_fields=extra
        )
    except (EnvelopeError, ValueError) as exc:
        report.problem("outcome_mismatch", where, f"the published shares do not combine: {exc}")
        return
    got = (result.outcome, result.reason, result.fault)
    said = (bid.get("outcome"), bid.get("reason"), bid.get("fault"))
    if got != said:
        report.problem("outcome_mismatch", where, f"the published shares give {got}, the record says {said}")


def _check_each_bid_ends_once(report: Report, where: str, bids: list[dict[str, Any]]) -> None:
    """A bid ends at most once before the opening: replaced by the bidder's next bid (whose submission event
    names it in ``replaces``) or withdrawn (its withdrawal event), never both, nor replaced twice — else the
    record shows a bid both withdrawn and standing in another's place."""
    ends: dict[str, list[str]] = {}
    for bid in bids:
        details = (bid.get("event") or {}).get("details") or {}
        if details.get("replaces"):
            ends.setdefault(details["replaces"], []).append(f"replaced by {str(details.get('manifest_sha256'))[:12]}…")
        if bid.get("withdrawal_event"):
            ends.setdefault(str(bid.get("manifest_sha256")), []).append("withdrawn")
    for manifest, how in ends.items():
        if len(how) > 1:
            report.problem(
                "bid_ended_twice",
                where,
                f"bid {manifest[:12]}… ended more than once before the deadline: {', '.join(how)}",
            )


async def _check_withdrawal(
    client: httpx.AsyncClient, report: Report, where: str, fields: dict[str, Any], bid: dict[str, Any]
) -> None:
    """A withdrawal is the bidder's own act: the document it signed, with the key that signed the bid."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from bidding.envelope import manifest_hash, parse_manifest
    from trading.canonical import canonical_bytes

    signed = bid.get("withdrawal") or {}
    expected = canonical_bytes(
        {
            "format": "trading-bid/v1",
            "kind": "bid_withdrawal",
            "manifest_sha256": bid["manifest_sha256"],
            "section_id": fields["section_id"],
        }
    )
    r = await client.get(f"/api/sections/{fields['section_id']}/opening/bids/{bid['manifest_sha256']}/manifest")
    try:
        document = base64.b64decode(signed.get("document") or "")
        if r.status_code != 200 or manifest_hash(r.content) != bid["manifest_sha256"] or document != expected:
            raise ValueError("the withdrawal or the manifest is missing or names another bid")
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(parse_manifest(r.content).signing_key))
        key.verify(base64.b64decode(signed.get("signature") or ""), document)
    except (InvalidSignature, ValueError) as exc:
        report.problem("withdrawal_not_signed", where, f"the withdrawal is not signed by the bidder's key: {exc}")


@dataclass
class KeyLog:
    """The key events in the log: bidder keys by key hash, centre keys by base64 key, each (index, event, …)."""

    bidders: dict[str, list[tuple[int, str, str]]] = field(default_factory=dict)
    centres: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    centre_directory: dict[str, dict[str, Any]] | None = None

    @classmethod
    def read(cls, raw_entries: list[bytes]) -> KeyLog:
        log = cls()
        for index, data in enumerate(raw_entries):
            if b'_key"' not in data:
                continue
            doc = json.loads(data)
            if doc.get("kind") == "signing_key":
                log.bidders.setdefault(doc["key_sha256"], []).append((index, doc["event"], doc["owner_commitment"]))
            elif doc.get("kind") == "centre_key":
                log.centres.setdefault(doc["public_key"], []).append((index, doc["event"]))
        return log


async def _check_signer(
    client: httpx.AsyncClient,
    report: Report,
    where: str,
    bid: dict[str, Any],
    manifest_bytes: bytes,
    manifest: Any,
    keys: KeyLog,
    cut_size: int,
    event_index: int | None,
) -> None:
    """The manifest is signed by its signing key; the key belonged to the sealer (bidder: the key directory's
    owner, matching the logged commitment; reserve: the centre's listed key) and was registered in the log
    before the deadline cut and not revoked before the bid was logged."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from bidding.directory import owner_commitment

    public_key = base64.b64decode(manifest.signing_key)
    try:
        signature = base64.b64decode(bid.get("signature") or "")
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, manifest_bytes)
    except (InvalidSignature, ValueError):
        report.problem("bad_signature", where, "the record's signature does not verify over the manifest")
        return
    digest = hashlib.sha256(public_key).hexdigest()
    if "bidder" in bid:
        r = await client.get("/api/key-directory/bidders", params={"public_key": manifest.signing_key})
        listed = r.json() if r.status_code == 200 else []
        if not listed:
            report.problem("key_not_in_directory", where, "the key that signed the bid is not in the key directory")
            return
        entry = listed[0]
        owner = entry.get("owner") or {}
        if not (
            entry["credit_code"] == owner.get("credit_code") == manifest.bidder_credit_code == bid["bidder_credit_code"]
            and owner.get("key_sha256") == digest
        ):
            report.problem("key_owner_mismatch", where, "the key directory names another owner than the bid")
            return
        salt = entry.get("owner_salt")
        commitment = owner_commitment(owner, base64.b64decode(salt)) if salt else None
        events = [(i, e) for i, e, c in keys.bidders.get(digest, []) if c == commitment]
    else:
        if keys.centre_directory is None:
            r = await client.get("/api/key-directory/centres")
            keys.centre_directory = {k["public_key"]: k for k in (r.json() if r.status_code == 200 else [])}
        if manifest.signing_key not in keys.centre_directory:
            report.problem("key_not_in_directory", where, "the centre key that sealed the price is not listed")
            return
        events = keys.centres.get(manifest.signing_key, [])
    registered = [i for i, e in events if e == "registered" and i < cut_size]
    if not registered:
        report.problem(
            "key_not_logged", where, "the signing key's registration is not in the log before the deadline cut"
        )
        return
    revoked = [i for i, e in events if e == "revoked" and event_index is not None and i < event_index]
    if revoked:
        report.problem("key_revoked_before_bid", where, f"the signing key was revoked (entry {revoked[0]}) before")
