"""A clean-room checker of bid receipts (投标回执), written from docs/log.md §11 (with §1–§3, §5, §6, §10),
README.md and the served ``/schema/openapi.json`` only.

``check_receipt`` is pure: the receipt's form, its signature and what follows from its own fields (§11 steps 1
and 2). ``verify_receipt`` goes online (steps 3 and 4): the signed checkpoint, the inclusion proof, the entry
itself, the deadline cut and the opening record once there is one, and consistency proofs. A receipt whose
entry is not yet in the log is *pending* until ``merge_by`` and a *broken promise* after it.

It imports nothing of the platform: the standard library, ``cryptography`` (through primitives.py) and
``httpx``. Where the documents name no code for a failure, the code used is listed in ``OWN_CODES`` (each is a
gap in the documents, see GAPS.md "Receipts").
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from tests.cleanroom import primitives as p
from tests.cleanroom.findings import Findings

FORMAT_V2 = "trading-receipt/v2"
FORMAT_V1 = "trading-receipt/v1"
KIND = "bid_receipt"
#: log.md §11's table, in the order of the table.
V2_FIELDS = (
    "format",
    "kind",
    "section_id",
    "bidder_credit_code",
    "manifest_sha256",
    "received_at",
    "event",
    "salt",
    "log_entry",
    "leaf_hash",
    "log_key",
    "max_merge_delay_seconds",
    "merge_by",
)
#: v1 "carries leaf_index, a checkpoint and an inclusion_proof instead of the promise" (log.md §11, last part).
V1_FIELDS = (*V2_FIELDS[:-2], "leaf_index", "checkpoint", "inclusion_proof")
#: log.md §10: "a verifier should not accept more than an hour".
MAX_ACCEPTED_DELAY = 3600

#: Codes log.md names: bad_signature, rollback, split_view, inconsistent, bid_dropped, logged_after_deadline,
#: bid_not_in_log (§5, §10). "broken promise" is named in §11 but not as a code. The rest are this checker's own.
OWN_CODES = {
    "broken_promise": "past merge_by on the verifier's clock, the latest signed checkpoint does not hold the entry",
    "receipt_malformed": "not a receipt: undecodable, not an object, a field missing or of the wrong form",
    "receipt_not_canonical": "the signed bytes are not the canonical JSON of log.md §1",
    "receipt_document_mismatch": "the unsigned `document` served beside the bytes differs from the signed bytes",
    "merge_by_mismatch": "merge_by is not received_at plus max_merge_delay_seconds",
    "merge_delay_too_long": "the promised delay is over the hour log.md §10 says a verifier should accept",
    "log_key_mismatch": "the receipt's log_key is not the pinned log key (the site's /log/key, or the one given)",
    "commitment_mismatch": "the commitment recomputed from event and salt is not log_entry's",
    "entry_malformed": "log_entry is not the canonical {kind: bid_event, commitment, section_tag}",
    "leaf_hash_mismatch": "leaf_hash is not the RFC 9162 leaf hash of log_entry",
    "event_mismatch": "the event does not name the receipt's section, bidder, manifest hash or time",
    "bad_checkpoint": "the latest checkpoint (or the cut's) does not verify under the log key or does not parse",
    "bad_proof": "the served inclusion proof does not verify for the receipt's leaf against the signed root",
    "entry_mismatch": "the entry served at the proven index is not the receipt's log_entry",
    "log_unavailable": "the log did not answer a request step 3 or 4 needs (neither a proof nor 'not found')",
    "section_tag_mismatch": "the entry's section_tag is not HMAC(K_s, commitment) for the record's K_s",
    "record_event_mismatch": "the opening record lists the bid with another event or salt than the receipt's",
    "deadline_cut_mismatch": "the section's deadline cut does not verify, or its checkpoint is not the one served",
}


@dataclass
class ReceiptCheck(Findings):
    """What ``check_receipt`` found: the signed document (when it decodes) and any problems."""

    document: dict[str, Any] | None = None
    signed: bytes = b""


@dataclass
class ReceiptResult(ReceiptCheck):
    """``verify_receipt``'s answer. ``status`` is ``verified``, ``pending`` (not a failure) or ``failed``."""

    status: str = "failed"
    index: int | None = None
    tree_size: int | None = None
    root: bytes | None = None  # of the latest checkpoint: keep (tree_size, root) for the next run's `previous`
    opened: bool = False  # step 4 ran: the section's opening record was found and checked

    @property
    def ok(self) -> bool:
        return self.status in ("verified", "pending") and not self.problems

    def summary(self) -> str:
        lines = [f"{self.status}: index {self.index} of {self.tree_size}, opened={self.opened}"]
        lines += [f"  {x}" for x in self.problems] + [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


# --- reading a receipt in the forms it comes in ------------------------------------------------------------------


def _unwrap(receipt: Any, signature: str | bytes | None) -> tuple[bytes, bytes, dict[str, Any] | None]:
    """(signed bytes, signature, served document) from what the site serves.

    Accepted: the OpenAPI ``Receipt`` object ``{"receipt": base64 bytes, "signature": base64, "document"}``, a
    ``MyBid`` holding one under ``receipt``, either as JSON text or bytes; or the signed canonical bytes themselves
    with *signature* given apart; or — the literal reading of §11 — the document's fields with ``signature``
    beside them in one object (the signed bytes are then the canonical JSON of the rest).
    """
    if isinstance(receipt, bytes | str):
        raw = receipt.encode() if isinstance(receipt, str) else receipt
        try:
            value = json.loads(raw)
        except ValueError as exc:
            raise ValueError(f"not JSON: {exc}") from exc
        if isinstance(value, dict) and "format" in value and "signature" not in value:
            if signature is None:
                raise ValueError("the signed bytes given without a signature")
            sig = signature if isinstance(signature, bytes) else p.b64decode(signature)
            return raw, sig, None
        receipt = value
    if not isinstance(receipt, dict):
        raise ValueError("not a JSON object")
    if isinstance(receipt.get("receipt"), dict):  # a MyBid
        receipt = receipt["receipt"]
    if isinstance(receipt.get("receipt"), str):
        signed = p.b64decode(receipt["receipt"])
        sig = p.b64decode(receipt.get("signature") if signature is None else signature)  # type: ignore[arg-type]
        return signed, sig, receipt.get("document")
    if "format" in receipt and "signature" in receipt:
        rest = {k: v for k, v in receipt.items() if k != "signature"}
        return p.canonical_json(rest), p.b64decode(receipt["signature"]), None
    raise ValueError("neither a served Receipt object nor a signed receipt document")


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# --- §11 steps 1 and 2: pure ---------------------------------------------------------------------------------------


def check_receipt(receipt: Any, *, log_key: str | None = None, signature: str | bytes | None = None) -> ReceiptCheck:
    """log.md §11 steps 1–2 on *receipt* (see ``_unwrap`` for its forms). *log_key* pins the log's vkey (as
    published at /log/info or /log/key); without it the receipt's own ``log_key`` is used, which proves only that
    the receipt is self-consistent (a note says so)."""
    out = ReceiptCheck()
    try:
        signed, sig, served = _unwrap(receipt, signature)
    except (ValueError, TypeError) as exc:
        out.add("receipt_malformed", str(exc))
        return out
    out.signed = signed
    try:
        doc = p.parse_canonical(signed)
    except p.NotCanonical as exc:
        out.add("receipt_not_canonical", str(exc))
        try:
            doc = json.loads(signed)
        except ValueError:
            return out
    if not isinstance(doc, dict):
        out.add("receipt_malformed", "the signed bytes are not a JSON object")
        return out
    out.document = doc
    if served is not None and served != doc:
        out.add("receipt_document_mismatch", "the served `document` is not what the signed bytes hold")

    # -- the signature first: everything after is only worth as much as it (step 1)
    vkey_text = log_key if log_key is not None else doc.get("log_key")
    if log_key is None:
        out.notes.append("no log key pinned: the signature is checked with the receipt's own log_key")
    elif doc.get("log_key") != log_key:
        out.add("log_key_mismatch", f"the receipt names {doc.get('log_key')!r}, the log's key is {log_key!r}")
    try:
        key = p.parse_vkey(str(vkey_text))
        if key.alg != 0x01:
            raise ValueError("not an Ed25519 signed-note key (type 0x01)")
    except (ValueError, IndexError) as exc:
        out.add("receipt_malformed" if log_key is None else "log_key_mismatch", f"log_key: {exc}")
        key = None
    if key is not None and (len(sig) != 64 or not p.verify_ed25519(key.public, sig, signed)):
        out.add("bad_signature", "the receipt's signature does not verify under the log key")

    # -- form (step 1)
    fmt = doc.get("format")
    if fmt not in (FORMAT_V2, FORMAT_V1):
        out.add("receipt_malformed", f"format {fmt!r} is not {FORMAT_V2!r}")
        return out
    names = V2_FIELDS if fmt == FORMAT_V2 else V1_FIELDS
    missing = [n for n in names if n not in doc]
    if missing:
        out.add("receipt_malformed", f"missing {missing}")
        return out
    extra = sorted(set(doc) - set(names))
    if extra:
        out.notes.append(f"fields §11 does not list (signed, ignored): {extra}")
    if doc["kind"] != KIND:
        out.add("receipt_malformed", f"kind {doc['kind']!r} is not {KIND!r}")
    if not _int(doc["section_id"]) or not isinstance(doc["bidder_credit_code"], str):
        out.add("receipt_malformed", "section_id or bidder_credit_code")
    if not isinstance(doc["manifest_sha256"], str) or not p.HEX64.fullmatch(doc["manifest_sha256"]):
        out.add("receipt_malformed", "manifest_sha256 is not lower-case hex SHA-256")
    try:
        received = p.parse_instant(doc["received_at"])
    except ValueError as exc:
        out.add("receipt_malformed", f"received_at: {exc}")
        received = None
    if fmt == FORMAT_V2:
        delay = doc["max_merge_delay_seconds"]
        if not _int(delay) or delay < 0:
            out.add("receipt_malformed", "max_merge_delay_seconds is not a non-negative integer")
        elif delay > MAX_ACCEPTED_DELAY:
            out.add("merge_delay_too_long", f"{delay} s promised; log.md §10 says accept at most {MAX_ACCEPTED_DELAY}")
        try:
            merge_by = p.parse_instant(doc["merge_by"])
        except ValueError as exc:
            out.add("receipt_malformed", f"merge_by: {exc}")
        else:
            if received is not None and _int(delay) and merge_by != received + timedelta(seconds=delay):
                out.add("merge_by_mismatch", f"merge_by {doc['merge_by']} is not received_at + {delay} s")

    # -- the event, its commitment and the entry (step 2)
    event = doc["event"]
    try:
        salt = p.b64decode(doc["salt"])
        if len(salt) != 32:
            raise ValueError("not 32 bytes")
    except (ValueError, TypeError) as exc:
        out.add("receipt_malformed", f"salt: {exc}")
        return out
    if not isinstance(event, dict):
        out.add("receipt_malformed", "event is not an object")
        return out
    try:
        commitment = p.event_commitment(event, salt)
    except p.NotCanonical as exc:
        out.add("receipt_malformed", f"event has no canonical form: {exc}")
        return out
    try:
        entry_bytes = p.b64decode(doc["log_entry"])
        entry = p.parse_canonical(entry_bytes)
    except (ValueError, TypeError) as exc:
        out.add("entry_malformed", f"log_entry: {exc}")
        return out
    if (
        not isinstance(entry, dict)
        or set(entry) != {"kind", "commitment", "section_tag"}
        or entry["kind"] != "bid_event"
    ):
        out.add("entry_malformed", "log_entry is not exactly {kind: bid_event, commitment, section_tag}")
    elif not isinstance(entry["section_tag"], str) or not p.HEX64.fullmatch(entry["section_tag"]):
        out.add("entry_malformed", "section_tag is not lower-case hex")
    if isinstance(entry, dict) and entry.get("commitment") != commitment:
        out.add("commitment_mismatch", "the commitment of event and salt is not the entry's")
    if doc["leaf_hash"] != p.leaf_hash(entry_bytes).hex():
        out.add("leaf_hash_mismatch", "leaf_hash is not SHA-256(0x00 ‖ log_entry)")
    expected = {
        "event": "submission",
        "section_id": doc["section_id"],
        "bidder_credit_code": doc["bidder_credit_code"],
        "manifest_sha256": doc["manifest_sha256"],
        "at": doc["received_at"],
    }
    wrong = [k for k, v in expected.items() if event.get(k) != v]
    allowed = set(expected) | {"replaces"}
    if wrong or set(event) - allowed or not set(expected) <= set(event):
        out.add("event_mismatch", f"the event differs from the receipt in {wrong or sorted(set(event) ^ allowed)}")
    elif "replaces" in event and (not isinstance(event["replaces"], str) or not p.HEX64.fullmatch(event["replaces"])):
        out.add("event_mismatch", "replaces is not a manifest hash")
    if fmt == FORMAT_V1:
        _check_v1_form(doc, out)
    return out


def _check_v1_form(doc: dict[str, Any], out: ReceiptCheck) -> None:
    """v1 (log.md §11, "The first format"): leaf_index an integer and checkpoint a signed note's text, or both
    null (signed before integration); inclusion_proof a list of lowercase hex hashes."""
    index, checkpoint = doc["leaf_index"], doc["checkpoint"]
    if not ((index is None and checkpoint is None) or (_int(index) and isinstance(checkpoint, str))):
        out.add("receipt_malformed", "v1: leaf_index and checkpoint are an integer and a text, or both null")
    proof = doc["inclusion_proof"]
    if not isinstance(proof, list) or not all(isinstance(x, str) and p.HEX64.fullmatch(x) for x in proof):
        out.add("receipt_malformed", "v1: inclusion_proof is not a list of lowercase hex hashes")


# --- §11 steps 3 and 4: online --------------------------------------------------------------------------------------


def _error_code(r: httpx.Response) -> str | None:
    try:
        return r.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None


def _proof_list(body: dict[str, Any]) -> list[bytes]:
    return [p.b64decode(x) for x in body.get("proof", [])]


def _hash_of(text: Any) -> bytes | None:
    """A leaf hash the site echoes: it serves base64 though the receipt has hex (GAPS.md); either is taken."""
    if not isinstance(text, str):
        return None
    try:
        return bytes.fromhex(text) if p.HEX64.fullmatch(text) else p.b64decode(text)
    except ValueError:
        return None


async def _checkpoint(client: httpx.AsyncClient, url: str, key: p.NoteKey) -> p.Checkpoint | str | None:
    """The checkpoint at *url*, verified; None when there is none (404); an error text when it fails."""
    r = await client.get(url)
    if r.status_code == 404:
        return None
    if r.status_code != 200:
        return f"{url} answered {r.status_code}"
    try:
        cp = p.parse_checkpoint(p.verify_note(r.text, key))
    except ValueError as exc:
        return f"{url}: {exc}"
    if cp.origin != key.name:
        return f"{url}: origin {cp.origin!r} is not the key's name {key.name!r}"
    return cp


async def _inclusion(
    client: httpx.AsyncClient, cp: p.Checkpoint, leaf: bytes, out: ReceiptResult, what: str
) -> int | str | None:
    """The leaf's index in *cp*'s tree with a verified proof; None when the log says it holds no such leaf; an
    error code otherwise (the problem is added)."""
    r = await client.get("/log/proof/inclusion", params={"tree_size": cp.size, "leaf_hash": leaf.hex()})
    code = _error_code(r)
    if r.status_code == 404 and code in ("leaf_not_found", None):
        return None
    if r.status_code == 400 and code == "bad_index":  # in the log, but at or beyond tree_size (GAPS.md)
        return None
    if r.status_code != 200:
        out.add("log_unavailable", f"{what}: /log/proof/inclusion answered {r.status_code} {code}")
        return "log_unavailable"
    try:
        body = r.json()
        index, proof = body["index"], _proof_list(body)
        if not _int(index) or body.get("tree_size") != cp.size or _hash_of(body.get("leaf_hash")) != leaf:
            raise ValueError("the answer names another tree size or leaf")
    except (ValueError, KeyError, TypeError) as exc:
        out.add("bad_proof", f"{what}: {exc}")
        return "bad_proof"
    if not p.verify_inclusion(index, cp.size, leaf, proof, cp.root):
        out.add("bad_proof", f"{what}: the audit path of index {index} does not lead to the signed root")
        return "bad_proof"
    return index


async def _consistent(
    client: httpx.AsyncClient, first: int, first_root: bytes, cp: p.Checkpoint, out: ReceiptResult, what: str
) -> bool:
    """log.md §10: a smaller tree later is a rollback, another root at the same size a split view, a failed
    consistency proof inconsistent."""
    if first > cp.size:
        out.add("rollback", f"{what}: the log is at {cp.size}, smaller than {first}")
        return False
    if first == cp.size:
        if first_root != cp.root:
            out.add("split_view", f"{what}: another root at size {first}")
            return False
        return True
    if first == 0:
        return True
    r = await client.get("/log/proof/consistency", params={"first": first, "second": cp.size})
    try:
        body = r.json() if r.status_code == 200 else None
        proof = _proof_list(body) if body and body.get("first") == first and body.get("second") == cp.size else None
    except ValueError:
        proof = None
    if proof is None or not p.verify_consistency(first, cp.size, first_root, cp.root, proof):
        out.add("inconsistent", f"{what}: the consistency proof {first} → {cp.size} does not verify")
        return False
    return True


async def verify_receipt(
    client: httpx.AsyncClient,
    receipt: Any,
    *,
    now: datetime,
    log_key: str | None = None,
    previous: tuple[int, bytes] | None = None,
) -> ReceiptResult:
    """log.md §11 steps 1–4 against the site *client* speaks to.

    *now* is the verifier's own clock, given by the caller (the tests' clock: no test depends on today's date). *log_key* pins the log's vkey; by default the
    site's ``/log/key`` (which must then equal ``/log/info``'s vkey). *previous* is the (size, root) of the last
    checkpoint this verifier checked for this log (``result.tree_size``, ``result.root`` of an earlier run).
    """
    out = ReceiptResult()
    info_r, key_r = await client.get("/log/info"), await client.get("/log/key")
    site_key = key_r.text.strip() if key_r.status_code == 200 else None
    info = info_r.json() if info_r.status_code == 200 else {}
    if site_key is None or info.get("vkey") != site_key:
        out.add("log_key_mismatch", "/log/key and /log/info's vkey differ (or are not served)")
    pinned = log_key or site_key or info.get("vkey")
    if log_key is not None and site_key is not None and site_key != log_key:
        out.add("log_key_mismatch", f"the site's log key {site_key!r} is not the pinned {log_key!r}")

    checked = check_receipt(receipt, log_key=pinned)
    out.document, out.signed = checked.document, checked.signed
    out.problems += checked.problems
    out.notes += checked.notes
    doc = checked.document
    if doc is None or any(x.code in ("receipt_malformed", "entry_malformed") for x in checked.problems):
        return out
    if isinstance(info.get("max_merge_delay_seconds"), int | float) and doc.get("max_merge_delay_seconds") not in (
        None,
        info["max_merge_delay_seconds"],
    ):
        out.notes.append(
            f"the log now states {info['max_merge_delay_seconds']} s, the receipt promised "
            f"{doc['max_merge_delay_seconds']} s (the receipt's promise is the one that binds)"
        )
    try:
        key = p.parse_vkey(str(pinned))
    except ValueError as exc:
        out.add("log_key_mismatch", f"the log key does not parse: {exc}")
        return out
    entry_bytes = p.b64decode(doc["log_entry"])
    leaf = p.leaf_hash(entry_bytes)

    # -- step 3: the latest signed checkpoint and the entry's inclusion in it
    cp = await _checkpoint(client, "/log/checkpoint", key)
    if isinstance(cp, str):
        out.add("bad_checkpoint", cp)
        return out
    for _attempt in range(2):  # once more if the entry came in between the checkpoint and the proof
        index = await _inclusion(client, cp, leaf, out, "latest checkpoint") if cp is not None else None
        if index is not None:
            break
        again = await _checkpoint(client, "/log/checkpoint", key)
        if isinstance(again, str) or again is None or cp is None or again.size <= cp.size:
            break
        cp = again
    if cp is not None:
        out.tree_size, out.root = cp.size, cp.root
        if previous is not None:
            await _consistent(client, previous[0], previous[1], cp, out, "since the last run")
    if isinstance(index, str):
        return out
    if doc["format"] == FORMAT_V1 and doc["leaf_index"] is not None:
        await _check_v1_proof(client, doc, key, leaf, index, cp, out)
    if index is None:
        merge_by = p.parse_instant(doc["merge_by"]) if doc["format"] == FORMAT_V2 else None
        size = cp.size if cp is not None else 0
        if doc["format"] == FORMAT_V1:  # no promise: "not found is a failure, not pending" (§11, the first format)
            out.add("bid_not_in_log", f"the signed checkpoint of size {size} does not hold the v1 receipt's entry")
        elif merge_by is not None and now <= merge_by:
            out.status = "pending" if not out.problems else "failed"
            out.notes.append(f"not in the log's tree of {size} yet; promised by {doc['merge_by']}")
        else:
            out.add(
                "broken_promise",
                f"past merge_by {doc.get('merge_by')} (verifier's clock {now.isoformat()}) the signed checkpoint "
                f"of size {size} does not hold the entry: the signed receipt and that checkpoint are the evidence",
            )
        return out
    out.index = index

    # -- the entry at that index is the receipt's bid event
    r = await client.get("/log/entries", params={"start": index, "end": index + 1})
    try:
        items = r.json()["entries"] if r.status_code == 200 else []
        served = [p.b64decode(e["data"]) for e in items if e.get("index") == index]
    except (ValueError, KeyError, TypeError):
        served = []
    if not served:
        out.add("log_unavailable", f"/log/entries does not serve index {index}")
    elif served[0] != entry_bytes:
        out.add("entry_mismatch", f"entry {index} is not the receipt's log_entry")

    # -- step 4: once the section is opened
    await _check_opened(client, doc, key, leaf, index, cp, out)
    out.status = "verified" if not out.problems else "failed"
    return out


async def _check_v1_proof(
    client: httpx.AsyncClient,
    doc: dict[str, Any],
    key: p.NoteKey,
    leaf: bytes,
    found: int | None,
    latest: p.Checkpoint | None,
    out: ReceiptResult,
) -> None:
    """§11, the first format: the receipt's checkpoint verifies with the log key, 0 ≤ leaf_index < its size, its
    audit path verifies against that root; online, the entry is found at leaf_index and the latest checkpoint is
    consistent with the receipt's (a smaller latest tree is a rollback)."""
    try:
        cp = p.parse_checkpoint(p.verify_note(doc["checkpoint"], key))
        proof = [bytes.fromhex(x) for x in doc["inclusion_proof"]]
    except ValueError as exc:
        out.add("bad_checkpoint", f"v1 receipt's checkpoint: {exc}")
        return
    index = doc["leaf_index"]
    if not 0 <= index < cp.size:
        out.add("bad_proof", f"v1 receipt's leaf_index {index} lies outside its checkpoint of size {cp.size}")
    elif not p.verify_inclusion(index, cp.size, leaf, proof, cp.root):
        out.add("bad_proof", "v1 receipt's own inclusion proof does not verify against its checkpoint")
    if found is not None and found != index:
        out.add("bad_proof", f"the log holds the entry at {found}, the v1 receipt says {index}")
    if latest is not None:
        await _consistent(client, cp.size, cp.root, latest, out, "from the v1 receipt's checkpoint")


async def _opening_record(client: httpx.AsyncClient, section_id: int) -> dict[str, Any] | None:
    """The fields of the latest version document of the opening record for *section_id* (log.md §8), if any."""
    cursor = None
    while True:
        params: dict[str, Any] = {"kind": "opening_record", "limit": 100, **({"cursor": cursor} if cursor else {})}
        r = await client.get("/api/notices", params=params)
        if r.status_code != 200:
            return None
        page = r.json()
        for item in page.get("items", []):
            if section_id not in (item.get("section_ids") or [section_id]):
                continue
            detail = (await client.get(f"/api/notices/{item['id']}")).json()
            document = (await client.get(detail["versions"][-1]["document_url"])).json()
            fields = document.get("fields") or {}
            if fields.get("section_id") == section_id:
                return fields
        cursor = page.get("next")
        if not cursor:
            return None


async def _check_opened(
    client: httpx.AsyncClient,
    doc: dict[str, Any],
    key: p.NoteKey,
    leaf: bytes,
    index: int,
    latest: p.Checkpoint | None,
    out: ReceiptResult,
) -> None:
    """§11 step 4: the bid is in the opening record, its tag matches the record's key, its index lies below the
    deadline cut, its inclusion proof verifies against the cut's checkpoint, and that checkpoint is a prefix of
    the latest. Whether the record itself is the logged document is the full verifier's part (verifier.py)."""
    sid = doc["section_id"]
    fields = await _opening_record(client, sid)
    if fields is None:
        return
    out.opened = True
    entry = json.loads(base64.b64decode(doc["log_entry"]))
    listed = [b for b in fields.get("bids", []) if b.get("manifest_sha256") == doc["manifest_sha256"]]
    # -- the cut: the record's, and /log/cuts/{id} serving the same
    note = (fields.get("deadline_cut") or {}).get("note")
    served = await client.get(f"/log/cuts/{sid}")
    try:
        cut = p.parse_cut(p.verify_note(note or "", key))
        if cut.section_id != sid:
            raise ValueError(f"the cut names section {cut.section_id}")
        if served.status_code != 200 or served.text != note:
            raise ValueError("/log/cuts/{id} does not serve the record's cut")
    except ValueError as exc:
        out.add("deadline_cut_mismatch", str(exc))
        return
    if index >= cut.tree_size:
        out.add("logged_after_deadline", f"entry {index} is at or above the cut's size {cut.tree_size}")
    if not listed:
        out.add(
            "bid_dropped" if index < cut.tree_size else "bid_not_in_log", "the opening record does not list the bid"
        )
    elif listed[0].get("event") != {"details": doc["event"], "salt": doc["salt"]}:
        out.add("record_event_mismatch", "the record's event for the bid is not the receipt's details and salt")
    try:
        tag_key = p.b64decode(fields.get("section_tag_key", ""))
        if p.section_tag(tag_key, entry["commitment"]) != entry["section_tag"]:
            raise ValueError("HMAC(K_s, commitment) is not the entry's section_tag")
    except (ValueError, TypeError) as exc:
        out.add("section_tag_mismatch", str(exc))
    # -- the inclusion proof against the cut's signed checkpoint, and that checkpoint a prefix of the latest
    cut_cp = await _checkpoint(client, f"/log/checkpoints/{cut.tree_size}", key)
    if not isinstance(cut_cp, p.Checkpoint) or cut_cp.root != cut.root:
        out.add("deadline_cut_mismatch", f"/log/checkpoints/{cut.tree_size}: {cut_cp or 'none'} (not the cut's root)")
        return
    if index < cut.tree_size:
        at_cut = await _inclusion(client, cut_cp, leaf, out, "the deadline cut's checkpoint")
        if at_cut is None:
            out.add("bad_proof", "the log says the cut's tree does not hold the entry")
        elif isinstance(at_cut, int) and at_cut != index:
            out.add("bad_proof", f"the entry is at {at_cut} in the cut's tree but {index} in the latest")
    if latest is not None:
        await _consistent(client, cut.tree_size, cut.root, latest, out, "deadline cut → latest")
