"""An independent verifier of the platform's public record, written from docs/log.md, docs/envelope.md and the
served OpenAPI document only (the clean-room rule of issue 12).

It imports nothing of the platform: the standard library, ``cryptography`` and ``httpx``. It reads the log
(``/log/info``, ``/log/key``, ``/log/checkpoint``, ``/log/entries``), rebuilds the tree, checks every entry's
bytes and fields, and for every opening record (notices of kind ``opening_record``) checks the deadline cut, the
bid events in both directions, each opened bid's manifest, signer and price.

Problem codes are those docs/log.md §10 lists (``OWN_CODES`` would hold any the documents did not name: none).
"""

from __future__ import annotations

import base64
import collections
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.cleanroom import primitives as p
from tests.cleanroom.findings import Findings

#: Codes this verifier had to make up because the documents name none: none since docs/log.md §10 lists every
#: code a verifier reports (this verifier's first ones — entries_incomplete, log_key_mismatch, record_not_logged,
#: manifest_unavailable — are its entries_gap/entries_missing, key_mismatch, not_in_log and ciphertext_missing).
OWN_CODES: dict[str, str] = {}


@dataclass
class Report(Findings):
    origin: str = ""
    tree_size: int = 0
    entries: int = 0
    kinds: collections.Counter = field(default_factory=collections.Counter)
    unknown_kinds: collections.Counter = field(default_factory=collections.Counter)
    cosignatures: int = 0
    openings: int = 0  # sealed opening records checked
    offline_openings: int = 0  # records with fields.source == "offline": no sealed bids, nothing to check
    bids: int = 0  # bids (and reserve prices) whose events were accounted for
    events: int = 0  # bid events matched to the log
    manifests: int = 0  # manifests and signers checked (every listed bid and reserve price)
    opened_bids: int = 0  # prices re-decrypted
    reserve_prices: int = 0
    rulings: int = 0  # the supervisors' rulings on disputed bids checked

    def summary(self) -> str:
        lines = [
            f"log {self.origin} size {self.tree_size}: {self.entries} entries {dict(self.kinds)}",
            f"unknown kinds {dict(self.unknown_kinds)}; cosignatures {self.cosignatures}",
            f"openings {self.openings} (offline {self.offline_openings}); bids {self.bids}, events {self.events}, "
            f"manifests {self.manifests}, prices re-decrypted {self.opened_bids}, reserve prices {self.reserve_prices}, "
            f"rulings {self.rulings}",
        ]
        lines += [f"PROBLEM {x.code}: {x.message} {x.where or ''}" for x in self.problems]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


# --- log.md §4: every known kind and its fields (the object's own `kind` included) ----------------------------------

KIND_FIELDS: dict[str, set[str]] = {
    "notice_version": {"trade_code", "notice_id", "notice_kind", "version", "content_sha256", "published_at"},
    "bid_event": {"commitment", "section_tag"},
    "deadline_cut": {"note"},
    "signing_key": {"event", "key_sha256", "owner_commitment", "at"},
    "centre_key": {"event", "centre_code", "public_key", "at"},
    "payment": {
        "trade_code",
        "id",
        "contract_notice_id",
        "payment_kind",
        "paid_on",
        "amount_fen",
        "currency",
        "payer",
        "payee",
        "purpose",
        "milestone",
        "evidence_sha256",
        "flags",
    },
    "evaluation_plan": {"trade_code", "section_id", "plan", "at"},
    "expert_change": {"expert_id", "action", "record_sha256", "active", "at"},
    "expert_draw_commitment": {
        "trade_code",
        "section_id",
        "seed_sha256",
        "pool_sha256",
        "pool_size",
        "count",
        "specialities",
        "committed_at",
    },
    "expert_draw_result": {"trade_code", "section_id", "version", "result_sha256", "beacon_tree_size", "at"},
    "evaluation_report": {"trade_code", "section_id", "report_sha256", "void", "at"},
    "objection": {"trade_code", "section_id", "objection_id", "text_sha256", "filed_at"},
    "complaint": {"trade_code", "section_id", "complaint_id", "text_sha256", "filed_at"},
    "complaint_ruling": {"trade_code", "section_id", "complaint_id", "ruling_sha256", "ruled_at"},
    "result_letters": {"trade_code", "section_id", "result_notice_id", "letters", "at"},
}
for _kind, _fields in KIND_FIELDS.items():
    _fields.add("kind")

INSTANT_FIELDS = {"published_at", "at", "committed_at", "filed_at", "ruled_at"}
HASH_FIELDS = {
    "content_sha256",
    "commitment",
    "section_tag",
    "key_sha256",
    "owner_commitment",
    "evidence_sha256",
    "record_sha256",
    "seed_sha256",
    "pool_sha256",
    "result_sha256",
    "report_sha256",
    "text_sha256",
    "ruling_sha256",
}


def classify(document: dict[str, Any]) -> str | None:
    """The log.md §4 kind an entry is, or None for a kind this verifier does not know."""
    kind = document.get("kind")
    return kind if kind in KIND_FIELDS else None


def check_fields(kind: str, document: dict[str, Any]) -> list[str]:
    """What is wrong with a known kind's entry: missing or extra fields, hashes and instants in the wrong form."""
    expected = KIND_FIELDS[kind]
    faults = []
    if set(document) != expected:
        missing, extra = sorted(expected - set(document)), sorted(set(document) - expected)
        faults.append(f"fields: missing {missing}, extra {extra}")
    for name, value in document.items():
        if name in HASH_FIELDS and not (isinstance(value, str) and p.HEX64.fullmatch(value)):
            faults.append(f"{name} is not lower-case hex SHA-256")
        if name in INSTANT_FIELDS and not p.is_instant(value):
            faults.append(f"{name} {value!r} is not an instant of log.md §1")
    if kind == "payment" and not p.is_date(document.get("paid_on")):
        faults.append("paid_on is not a date")
    if kind in ("signing_key", "centre_key") and document.get("event") not in ("registered", "revoked"):
        faults.append(f"event {document.get('event')!r}")
    return faults


# --- reading the site -------------------------------------------------------------------------------------------


@dataclass
class Entry:
    index: int
    data: bytes
    document: dict[str, Any] | None
    kind: str | None


@dataclass
class Log:
    key: p.NoteKey
    origin: str
    size: int
    root: bytes
    entries: list[Entry]
    leaves: list[bytes]
    max_merge_delay: float

    def root_at(self, size: int) -> bytes:
        return p.tree_root(self.leaves, size)


async def _get(client: httpx.AsyncClient, url: str, **params: Any) -> httpx.Response:
    return await client.get(url, params=params or None)


async def read_log(client: httpx.AsyncClient, report: Report, witness_vkeys: tuple[str, ...] = ()) -> Log | None:
    info = (await _get(client, "/log/info")).json()
    key_text = (await _get(client, "/log/key")).text.strip()
    report.origin = info.get("origin", "")
    if key_text != info.get("vkey"):
        report.add("key_mismatch", "/log/key differs from /log/info's vkey")
    try:
        key = p.parse_vkey(key_text)
    except ValueError as exc:
        report.add("key_mismatch", f"the log's verifier key does not parse: {exc}")
        return None
    if key.name != info.get("origin") or key.alg != 0x01:
        report.add("key_mismatch", "the key's name is not the origin, or it is not an Ed25519 note key")
    max_delay = float(info.get("max_merge_delay_seconds", 3600))
    if max_delay > 3600:
        report.notes.append(f"the site states a maximum merge delay of {max_delay} s; taking 3600 s (log.md §10)")
        max_delay = 3600.0

    note = (await _get(client, "/log/checkpoint")).text
    try:
        checkpoint = p.parse_checkpoint(p.verify_note(note, key))
    except ValueError as exc:
        report.add("bad_signature", f"the checkpoint: {exc}")
        return None
    if checkpoint.origin != info.get("origin"):
        report.add("bad_checkpoint", f"checkpoint origin {checkpoint.origin!r} is not {info.get('origin')!r}")
    _check_cosignatures(note, checkpoint, key, witness_vkeys, report)
    report.tree_size = checkpoint.size

    entries: list[Entry] = []
    start = 0
    while start < checkpoint.size:
        r = await _get(client, "/log/entries", start=start, end=min(checkpoint.size, start + 1000))
        page = r.json().get("entries", []) if r.status_code == 200 else []
        if not page:
            break
        for item in page:
            if item.get("index") != len(entries):
                report.add("entries_gap", f"expected index {len(entries)}, got {item.get('index')}")
                return None
            entries.append(Entry(item["index"], p.b64decode(item["data"]), None, None))
        start = len(entries)
    if len(entries) != checkpoint.size:
        report.add("entries_missing", f"{len(entries)} entries served for a tree of {checkpoint.size}")
        return None
    leaves = [p.leaf_hash(e.data) for e in entries]
    if p.tree_root(leaves) != checkpoint.root:
        report.add("entries_root_mismatch", "the entries do not hash to the signed root")
    report.entries = len(entries)
    for e in entries:
        try:
            doc = p.parse_canonical(e.data)
        except p.NotCanonical as exc:
            report.add("entry_not_canonical", str(exc), index=e.index)
            try:
                doc = json.loads(e.data)
            except ValueError:
                continue
        if not isinstance(doc, dict) or "kind" not in doc:
            report.add("entry_fields", "an entry that is not an object with a kind", index=e.index)
            continue
        e.document = doc
        e.kind = classify(doc)
        if e.kind is None:
            report.unknown_kinds[str(doc.get("kind"))] += 1
            continue
        report.kinds[e.kind] += 1
        faults = check_fields(e.kind, doc)
        if faults:
            report.add("entry_fields", f"{e.kind}: {'; '.join(faults)}", index=e.index)
    return Log(key, checkpoint.origin, checkpoint.size, checkpoint.root, entries, leaves, max_delay)


def _check_cosignatures(
    note: str, checkpoint: p.Checkpoint, key: p.NoteKey, witness_vkeys: tuple[str, ...], report: Report
) -> None:
    witnesses = [p.parse_vkey(v) for v in witness_vkeys]
    for name, blob in p.split_note(note).signatures:
        if name == key.name and blob[:4] == key.key_id:
            continue
        for w in witnesses:
            if w.name == name and blob[:4] == w.key_id:
                try:
                    p.verify_cosignature(checkpoint.text, blob, w)
                    report.cosignatures += 1
                except ValueError as exc:
                    report.add("bad_signature", f"witness {name}: {exc}")
    if witnesses and report.cosignatures == 0:
        report.add("not_witnessed", "no cosignature by a given witness on the latest checkpoint")


# --- opening records (log.md §5–§8) -------------------------------------------------------------------------------


async def notices_of_kind(client: httpx.AsyncClient, kind: str) -> list[dict[str, Any]]:
    """Every notice of *kind*, following the `next` cursor of GET /api/notices (OpenAPI)."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"kind": kind, "limit": 100}
        if cursor:
            params["cursor"] = cursor
        page = (await _get(client, "/api/notices", **params)).json()
        items += page["items"]
        cursor = page.get("next")
        if not cursor:
            return items


@dataclass
class Section:
    """What the verifier learned of one section from the log."""

    tagged: dict[str, int]  # commitment → index, this section's bid events
    size: int  # S
    manifests: set[str] = field(default_factory=set)  # every manifest the record lists


async def verify(
    client: httpx.AsyncClient, *, witness_vkeys: tuple[str, ...] = (), now: datetime | None = None
) -> Report:
    """Check the site *client* speaks to from its public endpoints only."""
    report = Report()
    log = await read_log(client, report, witness_vkeys)
    if log is None:
        return report
    now = now or datetime.now(UTC)
    notice_versions = {
        (e.document["notice_id"], e.document["version"]): e
        for e in log.entries
        if e.kind == "notice_version" and e.document is not None
    }
    disputed: dict[int, set[str]] = {}
    for summary in await notices_of_kind(client, "opening_record"):
        detail = (await _get(client, f"/api/notices/{summary['id']}")).json()
        fields = await _logged_fields(client, log, detail, notice_versions, report, now)
        if fields is None:
            continue
        if fields.get("source") == "offline":
            report.offline_openings += 1
            continue
        report.openings += 1
        await check_opening(client, log, detail["id"], fields, report)
        disputed[detail["id"]] = {
            b.get("manifest_sha256")
            for b in fields.get("bids") or []
            if isinstance(b, dict) and b.get("outcome") == "disputed"
        }
    await _check_rulings(client, log, notice_versions, disputed, report, now)
    return report


async def _check_rulings(
    client: httpx.AsyncClient,
    log: Log,
    notice_versions: dict[tuple[int, int], Entry],
    disputed: dict[int, set[str]],
    report: Report,
    now: datetime,
) -> None:
    """log.md §10, envelope.md §10.2: a dispute_ruling notice names an opening record and a bid (its manifest
    hash) that record left disputed; no bid is ruled on twice."""
    ruled: set[tuple[Any, Any]] = set()
    for summary in await notices_of_kind(client, "dispute_ruling"):
        detail = (await _get(client, f"/api/notices/{summary['id']}")).json()
        fields = await _logged_fields(client, log, detail, notice_versions, report, now)
        if fields is None:
            continue
        report.rulings += 1
        key = (fields.get("opening_record_notice_id"), fields.get("manifest_sha256"))
        if type(key[0]) is not int or not isinstance(key[1], str) or key[1] not in disputed.get(key[0], set()):
            report.add(
                "ruling_without_dispute", "the ruled bid is not disputed in the record named", notice=detail["id"]
            )
        elif key in ruled:
            report.add("duplicate_ruling", "a second ruling on the same bid", notice=detail["id"])
        ruled.add(key)


async def _logged_fields(
    client: httpx.AsyncClient,
    log: Log,
    detail: dict[str, Any],
    notice_versions: dict[tuple[int, int], Entry],
    report: Report,
    now: datetime,
) -> dict[str, Any] | None:
    """A notice's fields from its latest version's document, checked against the logged hash (log.md §4)."""
    version = detail["versions"][-1]
    r = await _get(client, version["document_url"])
    entry = notice_versions.get((detail["id"], version["version"]))
    where = {"notice": detail["id"], "version": version["version"]}
    if entry is None:
        published = datetime.fromisoformat(version["published_at"].replace("Z", "+00:00"))
        if now - published < timedelta(seconds=log.max_merge_delay):
            report.notes.append(f"notice {detail['id']} v{version['version']} pending")
        else:
            report.add("not_in_log", "the notice's version is not in the log", **where)
        return None
    if entry.document["content_sha256"] != p.sha256_hex(r.content):
        report.add("document_altered", "the served document does not hash to the logged content_sha256", **where)
        return None
    document = r.json()
    fields = document.get("fields")
    if not isinstance(fields, dict):
        report.add("record_malformed", "the version document has no fields object", **where)
        return None
    if detail.get("fields") != fields:
        report.add("document_altered", "the notice's fields differ from its logged version document", **where)
    return fields


REQUIRED = (
    "section_id",
    "section_code",
    "deadline",
    "opened_at",
    "section_tag_key",
    "deadline_checkpoint",
    "deadline_cut",
    "committee",
    "bids",
    "reserve_prices",
)


async def check_opening(
    client: httpx.AsyncClient, log: Log, notice_id: int, fields: dict[str, Any], report: Report
) -> None:
    missing = [f for f in REQUIRED if f not in fields]
    cut_missing = "deadline_cut" in missing or not (fields.get("deadline_cut") or {}).get("note")
    if cut_missing:
        report.add("no_deadline_cut", "the opening record carries no deadline cut", notice=notice_id)
    missing = [f for f in missing if f != "deadline_cut"]
    if missing:
        report.add("record_malformed", f"missing {missing}", notice=notice_id)
        return
    sid = fields["section_id"]
    where = {"notice": notice_id, "section": sid}
    size = _check_cut(log, fields, report, where) if not cut_missing else None
    served = await _get(client, f"/log/cuts/{sid}")
    if not cut_missing and (served.status_code != 200 or served.text != fields["deadline_cut"]["note"]):
        report.add("deadline_cut_mismatch", "/log/cuts/{id} does not serve the record's cut", **where)
    if size is None:
        # Without a signed cut there is no S: take the record's checkpoint if it verifies, so the events still
        # get checked (the problem is already reported).
        size = _checkpoint_size(log, fields, report, where)
        if size is None:
            return
    try:
        tag_key = p.b64decode(fields["section_tag_key"])
    except (ValueError, TypeError):
        report.add("record_malformed", "section_tag_key is not base64", **where)
        return
    section = Section(tagged={}, size=size)
    committee = await _published_committee(client, log, notice_id, fields, report, where)
    await _check_proofs(client, log, size, report, where)
    served_cp = await _get(client, f"/log/checkpoints/{size}")
    if served_cp.status_code != 200 or served_cp.text != (fields.get("deadline_checkpoint") or {}).get("note"):
        report.add("deadline_checkpoint_mismatch", "/log/checkpoints/{S} is not the record's checkpoint", **where)
    for e in log.entries:
        if e.kind == "bid_event" and p.section_tag(tag_key, e.document["commitment"]) == e.document["section_tag"]:
            section.tagged[e.document["commitment"]] = e.index
    listed: set[str] = set()
    items = [("bid", b) for b in fields["bids"]] + [("reserve", r) for r in fields["reserve_prices"]]
    section.manifests = {item.get("manifest_sha256") for _, item in items}
    for role, item in items:
        report.bids += 1
        if role == "reserve":
            report.reserve_prices += 1
        event_index = None
        for name in ("event", "withdrawal_event"):
            event = item.get(name)
            if event is None:
                if name == "event":
                    report.add("record_malformed", f"a {role} without its event", **where)
                continue
            commitment = _check_event(section, role, name, item, event, report, where)
            if commitment is None:
                continue
            listed.add(commitment)
            if name == "event":
                event_index = section.tagged.get(commitment)
        if event_index is not None:
            await _check_bid(client, log, fields, role, item, section, event_index, committee, report, where)
    for commitment, index in section.tagged.items():
        if index < size and commitment not in listed:
            report.add("bid_dropped", "a bid event logged by the deadline is not in the record", index=index, **where)
    _check_single_ending([item for _, item in items], report, where)


def _check_single_ending(items: list[dict[str, Any]], report: Report, where: dict[str, Any]) -> None:
    """log.md §5 step 4: a bid (or sealed reserve price) ends at most once before the deadline — replaced
    (another's submission event names it in `details.replaces`) or withdrawn (it has a `withdrawal_event`),
    never both, never twice."""
    endings: collections.Counter[str] = collections.Counter()
    for item in items:
        replaces = ((item.get("event") or {}).get("details") or {}).get("replaces")
        if isinstance(replaces, str) and replaces:
            endings[replaces] += 1
        if item.get("withdrawal_event") is not None:
            endings[str(item.get("manifest_sha256"))] += 1
    for manifest, count in sorted(endings.items()):
        if count > 1:
            report.add("bid_ended_twice", f"ended {count} times before the deadline", manifest_sha256=manifest, **where)


async def _check_proofs(client: httpx.AsyncClient, log: Log, size: int, report: Report, where: dict[str, Any]) -> None:
    """log.md §2: the served consistency proof from S to the checkpoint's size, and an inclusion proof (by leaf
    hash) of the last entry below S, verify as RFC 9162 says against the roots this verifier computed."""
    if 0 < size < log.size:
        r = await _get(client, "/log/proof/consistency", first=size, second=log.size)
        proof = [p.b64decode(x) for x in r.json().get("proof", [])] if r.status_code == 200 else None
        if proof is None or not p.verify_consistency(size, log.size, log.root_at(size), log.root, proof):
            report.add("inconsistent", f"the consistency proof {size} → {log.size} does not verify", **where)
    if size > 0:
        leaf = log.leaves[size - 1]
        r = await _get(client, "/log/proof/inclusion", tree_size=log.size, leaf_hash=leaf.hex())
        body = r.json() if r.status_code == 200 else {}
        proof = [p.b64decode(x) for x in body.get("proof", [])]
        if body.get("index") != size - 1 or not p.verify_inclusion(size - 1, log.size, leaf, proof, log.root):
            report.add("bad_proof", f"the inclusion proof of entry {size - 1} does not verify", **where)


def _check_cut(log: Log, fields: dict[str, Any], report: Report, where: dict[str, Any]) -> int | None:
    """log.md §6: the cut verifies, names the record's section, deadline and checkpoint, is a prefix of the log,
    and is logged exactly once. Returns S."""
    note = fields["deadline_cut"]["note"]
    try:
        cut = p.parse_cut(p.verify_note(note, log.key))
    except ValueError as exc:
        report.add("bad_signature", f"the deadline cut: {exc}", **where)
        return None
    faults = []
    if cut.origin != log.origin:
        faults.append("origin")
    if cut.section_id != fields["section_id"] or cut.section_code != fields["section_code"]:
        faults.append("section")
    if cut.deadline != fields["deadline"]:
        faults.append(f"deadline {cut.deadline} vs record {fields['deadline']}")
    if p.parse_instant(cut.cut_at) < p.parse_instant(cut.deadline):
        faults.append("cut-at before the deadline")
    if cut.tree_size > log.size or log.root_at(cut.tree_size) != cut.root:
        faults.append("its tree is not a prefix of the log")
    checkpoint = fields.get("deadline_checkpoint") or {}
    if checkpoint.get("size") != cut.tree_size:
        faults.append("deadline_checkpoint size")
    if faults:
        report.add("deadline_cut_mismatch", "; ".join(faults), **where)
    cp_size = _checkpoint_size(log, fields, report, where)
    if cp_size is not None and p.parse_checkpoint(p.verify_note(checkpoint["note"], log.key)).root != cut.root:
        report.add("deadline_checkpoint_mismatch", "the deadline checkpoint's root is not the cut's", **where)
    late = p.parse_instant(cut.cut_at) - p.parse_instant(cut.deadline)
    if late > timedelta(minutes=10):
        report.notes.append(f"section {cut.section_id}: cut made {late} after the deadline")
    # logged exactly once
    cuts_here = {}
    for e in log.entries:
        if e.kind != "deadline_cut":
            continue
        try:
            logged = p.parse_cut(p.verify_note(e.document["note"], log.key))
        except ValueError:
            report.add("bad_signature", "a logged deadline cut does not verify", index=e.index)
            continue
        if logged.section_id == cut.section_id:
            cuts_here[e.document["note"]] = e.index
    if note not in cuts_here:
        report.add("deadline_cut_not_logged", "the record's cut is not in the log", **where)
    elif cuts_here[note] < cut.tree_size:
        report.add("deadline_cut_mismatch", "the cut is logged inside the tree it cuts", **where)
    if len(cuts_here) > 1:
        report.add("conflicting_cuts", f"{len(cuts_here)} different cuts logged for the section", **where)
    return cut.tree_size


def _checkpoint_size(log: Log, fields: dict[str, Any], report: Report, where: dict[str, Any]) -> int | None:
    checkpoint = fields.get("deadline_checkpoint") or {}
    try:
        cp = p.parse_checkpoint(p.verify_note(checkpoint.get("note", ""), log.key))
    except ValueError as exc:
        report.add("deadline_checkpoint_mismatch", f"the deadline checkpoint: {exc}", **where)
        return None
    if cp.size != checkpoint.get("size") or cp.size > log.size or log.root_at(cp.size) != cp.root:
        report.add("deadline_checkpoint_mismatch", "the deadline checkpoint is not a prefix of the log", **where)
        return None
    return cp.size


def _check_event(
    section: Section,
    role: str,
    name: str,
    item: dict[str, Any],
    event: dict[str, Any],
    report: Report,
    where: dict[str, Any],
) -> str | None:
    """log.md §5 step 3 for one listed event; the commitment, when it could be computed."""
    try:
        details, salt = event["details"], p.b64decode(event["salt"])
        commitment = p.event_commitment(details, salt)
    except (KeyError, TypeError, ValueError) as exc:
        report.add("record_malformed", f"{role} {name}: {exc}", **where)
        return None
    here = {**where, "manifest_sha256": item.get("manifest_sha256")}
    index = section.tagged.get(commitment)
    if index is None:
        report.add("bid_not_in_log", f"the {role}'s {name} is not among the section's logged events", **here)
    elif index >= section.size:
        report.add("logged_after_deadline", f"the {role}'s {name} was logged at {index} ≥ S={section.size}", **here)
    else:
        report.events += 1
    expected_event = {
        ("bid", "event"): "submission",
        ("bid", "withdrawal_event"): "withdrawal",
        ("reserve", "event"): "reserve_submission",
    }.get((role, name))
    credit = "sealer_credit_code" if role == "reserve" else "bidder_credit_code"
    faults = []
    if expected_event and details.get("event") != expected_event:
        faults.append(f"event {details.get('event')!r}")
    if details.get("section_id") != where["section"]:
        faults.append("section_id")
    if details.get("manifest_sha256") != item.get("manifest_sha256"):
        faults.append("manifest_sha256")
    if details.get(credit) != item.get(credit):
        faults.append(credit)
    if "replaces" in details and details["replaces"] not in section.manifests:
        faults.append("replaces a manifest the record does not list")
    if not p.is_instant(details.get("at")):
        report.notes.append(
            f"section {where['section']}: event `at` {details.get('at')!r} is not in log.md §1's UTC form"
        )
    if faults:
        report.add("event_details_mismatch", f"{role} {name}: {', '.join(faults)}", **here)
    return commitment


async def _published_committee(
    client: httpx.AsyncClient, log: Log, notice_id: int, fields: dict[str, Any], report: Report, where: dict[str, Any]
) -> dict[str, Any] | None:
    """log.md §7: the openers' keys are in the tender notice's `committee` field, as published and logged. The
    record does not name its tender notice: it is taken from the notice's `related` list (the OpenAPI
    document's NoticeDetail), the one whose `section_ids` hold the section."""
    detail = (await _get(client, f"/api/notices/{notice_id}")).json()
    for related in detail.get("related", []):
        tender = (await _get(client, f"/api/notices/{related['id']}")).json()
        if fields["section_id"] not in tender.get("section_ids", []) or "committee" not in tender.get("fields", {}):
            continue
        version = tender["versions"][-1]
        body = (await _get(client, version["document_url"])).content
        logged = [
            e
            for e in log.entries
            if e.kind == "notice_version"
            and e.document["notice_id"] == tender["id"]
            and e.document["version"] == version["version"]
        ]
        if not logged or logged[0].document["content_sha256"] != p.sha256_hex(body):
            report.add("document_altered", "the tender notice's committee is not as logged", notice=tender["id"])
            return None
        committee = json.loads(body)["fields"]["committee"]
        members = sorted(committee["members"], key=lambda m: m["position"])
        record = fields.get("committee") or {}
        if (record.get("k"), record.get("n")) != (committee["k"], committee["n"]):
            report.add("wrong_committee", "the record's k and n are not the tender notice's", **where)
        return {
            "suite": committee["suite"],
            "k": committee["k"],
            "n": committee["n"],
            "opener_keys_sha256": [p.sha256_hex(p.b64decode(m["public_key"])) for m in members],
            "trade_code": tender.get("trade_code"),
        }
    report.notes.append(f"section {fields['section_id']}: no related tender notice with a committee found")
    return None


async def _check_bid(
    client: httpx.AsyncClient,
    log: Log,
    fields: dict[str, Any],
    role: str,
    item: dict[str, Any],
    section: Section,
    event_index: int,
    committee: dict[str, Any] | None,
    report: Report,
    where: dict[str, Any],
) -> None:
    """log.md §8: manifest hash and signature, the committee it was sealed to, the signer in the directory (§7);
    for an opened bid the price re-decrypted. The platform serves the manifest of every listed bid (replaced
    and withdrawn ones too), so each is checked; log.md §8 promises it only for opened bids."""
    sid, mhash = fields["section_id"], item["manifest_sha256"]
    here = {**where, "manifest_sha256": mhash}
    base = f"/api/sections/{sid}/opening/bids/{mhash}"
    mr = await _get(client, f"{base}/manifest")
    opened = item.get("outcome") == "opened"
    if mr.status_code != 200:
        if opened:
            report.add("ciphertext_missing", f"manifest {mr.status_code}", **here)
        else:
            report.notes.append(f"section {sid}: no manifest served for a {item.get('outcome')} bid")
        return
    manifest_bytes = mr.content
    if p.sha256_hex(manifest_bytes) != mhash:
        report.add("hash_mismatch", "the served manifest does not hash to manifest_sha256", **here)
        return
    try:
        signature = p.b64decode(item["signature"])
        manifest = p.parse_canonical(manifest_bytes)
        public = p.b64decode(manifest["signing_key"])
    except (KeyError, ValueError, TypeError) as exc:
        report.add("record_malformed", f"signature or manifest: {exc}", **here)
        return
    if mr.headers.get("x-signature") != item["signature"]:
        report.add("bad_signature", "X-Signature differs from the record's signature", **here)
    if not p.verify_ed25519(public, signature, manifest_bytes):
        report.add("bad_signature", "the manifest's signature does not verify with its signing_key", **here)
    report.manifests += 1
    expected_role = "reserve" if role == "reserve" else "bidder"
    faults = []
    if manifest.get("section_id") != sid or manifest.get("section_code") != fields["section_code"]:
        faults.append("section")
    if manifest.get("role") != expected_role:
        faults.append("role")
    credit = "sealer_credit_code" if role == "reserve" else "bidder_credit_code"
    if manifest.get("bidder_credit_code") != item.get(credit):  # a reserve price is sealed in the tenderer's name
        faults.append("bidder_credit_code")
    if faults:
        report.add("manifest_mismatch", ", ".join(faults), **here)
    if committee is not None:
        sealed_to = {"suite": manifest.get("suite"), "trade_code": manifest.get("trade_code")}
        if sealed_to | manifest.get("committee", {}) != committee:
            report.add("wrong_committee", "not sealed to the tender notice's trade and committee", **here)
    if role == "bid":
        await _check_bidder_key(client, log, manifest, public, item, section, event_index, report, here)
    else:
        await _check_centre_key(client, log, public, section, event_index, report, here)
    if not opened:
        return
    pr = await _get(client, f"{base}/price")
    if pr.status_code != 200:
        report.add("ciphertext_missing", f"price ciphertext {pr.status_code}", **here)
        return
    # the ciphertext and the price (envelope.md §10.4)
    published = (item.get("ciphertexts") or {}).get("price") or {}
    price_env = manifest["envelopes"]["price"]
    if published and (
        published.get("sha256") != price_env["ciphertext_sha256"]
        or published.get("size") != price_env["ciphertext_size"]
    ):
        report.add("hash_mismatch", "the record's price ciphertext hash or size is not the manifest's", **here)
    try:
        form = p.recheck_price(manifest, p.b64decode(item["price_key"]), pr.content)
    except p.EnvelopeError as exc:
        report.add("price_mismatch", f"the published key does not open the price: {exc.code}", **here)
        return
    except (KeyError, ValueError) as exc:
        report.add("record_malformed", f"price_key: {exc}", **here)
        return
    if form != item.get("form"):
        report.add("price_mismatch", f"the price opens to {form}, the record says {item.get('form')}", **here)
    report.opened_bids += 1


async def _check_bidder_key(
    client: httpx.AsyncClient,
    log: Log,
    manifest: dict[str, Any],
    public: bytes,
    item: dict[str, Any],
    section: Section,
    event_index: int,
    report: Report,
    here: dict[str, Any],
) -> None:
    """log.md §7: the directory lists the key with its owner and salt; the commitment recomputes to a
    `registered` entry below S; no `revoked` entry before the bid's event; the credit codes agree."""
    r = await _get(client, "/api/key-directory/bidders", public_key=base64.b64encode(public).decode())
    listed = [k for k in (r.json() if r.status_code == 200 else []) if k.get("public_key") == p.b64(public)]
    if not listed:
        report.add("key_not_in_directory", "the manifest's signing key is not in the key directory", **here)
        return
    entry = listed[0]
    key_hash = p.sha256_hex(public)
    owner = entry.get("owner") or {}
    try:
        commitment = p.owner_commitment(owner, p.b64decode(entry.get("owner_salt") or ""))
    except ValueError:
        report.add("key_owner_mismatch", "the directory gives no usable owner_salt", **here)
        return
    if (
        owner.get("key_sha256") != key_hash
        or owner.get("credit_code") != manifest.get("bidder_credit_code")
        or owner.get("credit_code") != item.get("bidder_credit_code")
    ):
        report.add("key_owner_mismatch", "the directory's owner is not the manifest's and record's bidder", **here)
    logged = [e for e in log.entries if e.kind == "signing_key" and e.document["key_sha256"] == key_hash]
    registered = [e for e in logged if e.document["event"] == "registered"]
    if not registered:
        report.add("key_not_logged", "no `registered` entry for the signing key", **here)
        return
    if not any(e.document["owner_commitment"] == commitment for e in registered):
        report.add("key_owner_mismatch", "the owner commitment does not recompute from the directory", **here)
    elif not any(e.document["owner_commitment"] == commitment and e.index < section.size for e in registered):
        report.add("key_not_logged", "the key was registered at or after the deadline cut", **here)
    if any(e.document["event"] == "revoked" and e.index < event_index for e in logged):
        report.add("key_revoked_before_bid", "the key was revoked before the bid's event", **here)


async def _check_centre_key(
    client: httpx.AsyncClient,
    log: Log,
    public: bytes,
    section: Section,
    event_index: int,
    report: Report,
    here: dict[str, Any],
) -> None:
    """log.md §7: a centre's reserve-price key is logged in the clear (`centre_key`) and listed."""
    r = await _get(client, "/api/key-directory/centres")
    if not any(k.get("public_key") == p.b64(public) for k in (r.json() if r.status_code == 200 else [])):
        report.add("key_not_in_directory", "the reserve price's signing key is not a listed centre key", **here)
    logged = [e for e in log.entries if e.kind == "centre_key" and e.document["public_key"] == p.b64(public)]
    if not any(e.document["event"] == "registered" and e.index < section.size for e in logged):
        report.add("key_not_logged", "no `centre_key` registration below S for the reserve price's key", **here)
    if any(e.document["event"] == "revoked" and e.index < event_index for e in logged):
        report.add("key_revoked_before_bid", "the centre key was revoked before the reserve price's event", **here)
