"""`trading verify URL`: check, from outside, that the platform's public record is whole and unaltered.

What it checks, using only public endpoints:

1. the latest checkpoint is signed by the log's key (pinned on first use, or given with ``--key``);
2. the log only grew since this verifier last looked: a consistency proof from the checkpoint kept in
   the state file — a smaller tree is a rollback, a different root at the same size a split view;
3. the entries served hash to the signed root (every leaf is fetched and the tree rebuilt);
4. every published notice version served (the changes feed) has exactly the bytes its hash names, and
   that hash is in the log; every notice version in the log is still served; each notice's current
   text is the text of its latest version;
5. every opening record accounts for exactly the bid events logged for its section before its deadline
   cut — the platform's signed statement, itself logged and unique per section, of which checkpoint
   closed bidding — and the published keys open the logged ciphertexts to the published figures;
6. with ``--witness VKEY``: that witness has cosigned a checkpoint whose tree is a prefix of the one
   checked (a platform showing another log to the witness is a split view).

A version not yet in the log is *pending* while it is younger than the log's stated maximum merge delay
(``/log/info``; the integrator folds entries in within it) and *missing* once older: only missing is a
problem. Its age is measured on the verifier's own clock, never the platform's: a platform that could set
the time could keep a dropped entry "pending" for ever.

It prints a short summary (or ``--json``) and exits non-zero when anything is wrong.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from trading.log import merkle
from trading.log.cuts import CutError, parse_cut
from trading.log.note import (
    Checkpoint,
    CosignatureVerifier,
    NoteError,
    NoteVerifier,
    parse_checkpoint,
    parse_note,
    verify_cosignature,
    verify_note,
)

DEFAULT_STATE = Path(os.environ.get("TRADING_VERIFY_STATE", Path.home() / ".local/state/trading-verify.json"))

#: The merge delay assumed when the site states none (and the most a stated one may be: a site stating a
#: longer delay could keep a dropped entry "pending" for a day).
DEFAULT_MAX_MERGE_DELAY = timedelta(seconds=60)
LONGEST_MAX_MERGE_DELAY = timedelta(hours=1)


@dataclass
class Report:
    url: str
    origin: str = ""
    tree_size: int = 0
    notices: int = 0
    versions: int = 0
    bids: int = 0
    openings: int = 0
    offline_openings: int = 0
    entries: int = 0
    #: Each witness required (--witness): the size it cosigned last and its timestamp.
    witnessed: list[dict[str, Any]] = field(default_factory=list)
    max_merge_delay_seconds: float = DEFAULT_MAX_MERGE_DELAY.total_seconds()
    problems: list[dict[str, Any]] = field(default_factory=list)
    #: Published versions not in the log yet, but younger than the maximum merge delay: not a problem.
    pending: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def problem(self, code: str, where: str, what: str) -> None:
        self.problems.append({"code": code, "where": where, "what": what})

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        lines = [
            f"{self.url} — log {self.origin}, tree size {self.tree_size}",
            f"verified {self.notices} notices ({self.versions} versions), {self.bids} bids, {self.openings} openings",
        ]
        if self.offline_openings:
            lines.append(
                f"note: {self.offline_openings} opening records are of offline openings (no sealed bids to check)"
            )
        lines += [
            f"witnessed by {w['witness']}: checkpoint {w['size']} cosigned at {w['timestamp']} (its own clock)"
            for w in self.witnessed
        ]
        lines += [f"note: {n}" for n in self.notes]
        if self.pending:
            lines.append(
                f"pending 待入日志: {len(self.pending)} version(s) published less than the maximum merge delay "
                f"({self.max_merge_delay_seconds:g} s) ago, not in the log yet — not a problem; check again later:"
            )
            lines += [f"  … {p['where']}: {p['what']}" for p in self.pending]
        if self.ok:
            lines.append("OK: everything public is in the log, unchanged, and the log only grew. 核验通过。")
        else:
            lines.append(f"FAILED: {len(self.problems)} problem(s) 发现问题:")
            lines += [f"  ✗ [{p['code']}] {p['where']}: {p['what']}" for p in self.problems]
        return "\n".join(lines)


def _load_state(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _save_state(path: Path, state: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2, sort_keys=True))
    os.replace(tmp, path)


def _progress(quiet: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        disable=quiet,
        transient=True,
        console=Console(stderr=True),
    )


async def _get(client: httpx.AsyncClient, path: str, **params: Any) -> httpx.Response:
    r = await client.get(path, params=params or None)
    r.raise_for_status()
    return r


async def _max_merge_delay(client: httpx.AsyncClient) -> timedelta:
    """The merge delay the site states (``/log/info``), at most :data:`LONGEST_MAX_MERGE_DELAY`."""
    r = await client.get("/log/info")
    stated = r.json().get("max_merge_delay_seconds") if r.status_code == 200 else None
    if not isinstance(stated, int | float) or stated <= 0:
        return DEFAULT_MAX_MERGE_DELAY
    return min(timedelta(seconds=stated), LONGEST_MAX_MERGE_DELAY)


async def verify_site(
    client: httpx.AsyncClient,
    *,
    url: str,
    state_path: Path,
    now: datetime,
    pinned_key: str | None = None,
    max_merge_delay: timedelta | None = None,
    witnesses: list[str] | None = None,
    quiet: bool = True,
) -> tuple[Report, dict[str, Any]]:
    """Run every check against the site *client* talks to; returns the report and the checkpoint seen.

    *now* is the verifier's own time (the command line passes the machine's clock; tests their fixed one):
    a published version missing from the log is pending until it is *max_merge_delay* old (default: what
    the site states)."""
    report = Report(url=url)
    delay = max_merge_delay if max_merge_delay is not None else await _max_merge_delay(client)
    report.max_merge_delay_seconds = delay.total_seconds()
    states = _load_state(state_path)
    mine = states.get(url, {})

    vkey = (await _get(client, "/log/key")).text.strip()
    if pinned_key and pinned_key != vkey:
        report.problem("key_mismatch", "/log/key", f"the log key is {vkey}, not the one given ({pinned_key})")
        return report, {}
    if mine.get("vkey") and mine["vkey"] != vkey:
        report.problem("key_changed", "/log/key", f"the log key changed since last time ({mine['vkey']} → {vkey})")
        return report, {}
    if not mine.get("vkey") and not pinned_key:
        report.notes.append(f"trusting log key {vkey} on first use (pin it with --key)")
    verifier = NoteVerifier.from_vkey(vkey)

    note = (await _get(client, "/log/checkpoint")).text
    try:
        body = verify_note(note, [verifier])
        checkpoint = parse_checkpoint(body)
    except NoteError as exc:
        report.problem("bad_checkpoint", "/log/checkpoint", f"the checkpoint does not verify: {exc}")
        return report, {}
    report.origin, report.tree_size = checkpoint.origin, checkpoint.size
    root = checkpoint.root_hash

    # 2. the log only grew
    last_size, last_root = mine.get("size"), mine.get("root")
    if last_size is not None:
        last_root_bytes = base64.b64decode(last_root)
        if checkpoint.size < last_size:
            report.problem(
                "rollback",
                "/log/checkpoint",
                f"the tree shrank from {last_size} to {checkpoint.size} entries since last time",
            )
        elif checkpoint.size == last_size and root != last_root_bytes:
            report.problem(
                "split_view", "/log/checkpoint", f"two different trees of size {last_size}: the log was rewritten"
            )
        elif checkpoint.size > last_size and last_size > 0:
            proof = (await _get(client, "/log/proof/consistency", first=last_size, second=checkpoint.size)).json()
            ok = merkle.verify_consistency(
                last_size, checkpoint.size, last_root_bytes, root, [base64.b64decode(p) for p in proof["proof"]]
            )
            if not ok:
                report.problem(
                    "inconsistent",
                    "/log/proof/consistency",
                    f"the tree of size {checkpoint.size} does not extend the one of size {last_size} "
                    "seen last time: the log's history was rewritten",
                )

    # 3. the entries hash to the signed root
    leaves: list[bytes] = []
    raw_entries: list[bytes] = []
    documents: dict[tuple[int, int], tuple[int, str]] = {}
    with _progress(quiet) as progress:
        task = progress.add_task("读取日志 / log entries", total=checkpoint.size)
        start = 0
        while start < checkpoint.size:
            page = (await _get(client, "/log/entries", start=start, end=min(checkpoint.size, start + 1000))).json()
            if not page["entries"]:
                break
            for entry in page["entries"]:
                if entry["index"] != len(leaves):
                    report.problem(
                        "entries_gap",
                        f"/log/entries?start={start}",
                        f"expected entry {len(leaves)}, got {entry['index']}",
                    )
                    break
                data = base64.b64decode(entry["data"])
                leaves.append(merkle.leaf_hash(data))
                raw_entries.append(data)
                _index_entry(report, entry["index"], data, documents)
            start = len(leaves)
            progress.update(task, completed=start)
    report.entries = len(leaves)
    if len(leaves) != checkpoint.size:
        report.problem("entries_missing", "/log/entries", f"{checkpoint.size} entries signed, {len(leaves)} served")
    elif merkle.root_from_leaf_hashes(leaves) != root:
        report.problem("entries_root_mismatch", "/log/entries", "the entries served do not hash to the signed root")

    # 4. every public notice version is in the log, unchanged
    records = await _check_notices(client, report, documents, quiet, not_before=now - delay)

    # 5. every opening record: its bids were logged before the deadline cut, none is missing, none was
    # added, and the published keys open the logged ciphertexts to the published figures
    cuts = _logged_cuts(report, raw_entries, verifier)
    keys = KeyLog.read(raw_entries)
    for notice_id, fields in records:
        await check_opening(
            client, report, notice_id, fields, verifier, leaves, raw_entries, cuts=cuts, keys=keys, delay=delay
        )

    # 6. the witnesses asked for have cosigned a checkpoint of this very log
    for vkey in witnesses or []:
        await _check_witness(client, report, vkey, verifier, leaves, now)

    seen = {
        "vkey": vkey,
        "origin": checkpoint.origin,
        "size": checkpoint.size,
        "root": base64.b64encode(root).decode(),
        "checked_at": int(now.timestamp()),
    }
    if report.ok:
        states[url] = seen
        _save_state(state_path, states)
    return report, {"note": note, "body": body, "checkpoint": checkpoint}


def _index_entry(report: Report, index: int, data: bytes, documents: dict[tuple[int, int], tuple[int, str]]) -> None:
    try:
        doc = json.loads(data)
    except ValueError:
        report.problem("bad_entry", f"log entry {index}", "not a JSON document")
        return
    kind = doc.get("kind")
    if kind == "notice_version":
        key = (int(doc["notice_id"]), int(doc["version"]))
        if key in documents:
            report.problem(
                "duplicate_entry",
                f"log entry {index}",
                f"notice {key[0]} version {key[1]} is already entry {documents[key][0]}",
            )
        documents[key] = (index, doc["content_sha256"])


async def _check_notices(
    client: httpx.AsyncClient,
    report: Report,
    logged: dict[tuple[int, int], tuple[int, str]],
    quiet: bool,
    *,
    not_before: datetime,
) -> list[tuple[int, dict[str, Any]]]:
    """Check every published notice; returns the opening records' fields for the opening checks.

    A version published after *not_before* may still be on its way into the log (pending)."""
    served: dict[tuple[int, int], dict[str, Any]] = {}
    after = 0
    while True:
        page = (await _get(client, "/api/changes", after=after, limit=1000)).json()
        for item in page["items"]:
            served[(item["notice_id"], item["version"])] = item
            after = item["seq"]
        if not page["items"] or after >= page["watermark"]:
            break
    notice_ids = sorted({k[0] for k in served})
    with _progress(quiet) as progress:
        task = progress.add_task("核对公告 / notices", total=len(notice_ids))
        records: list[tuple[int, dict[str, Any]]] = []
        for notice_id in notice_ids:
            latest = await _check_notice(client, report, notice_id, served, logged, not_before)
            if latest is not None and latest.get("kind") == "opening_record":
                records.append((notice_id, latest.get("fields") or {}))
            progress.advance(task)
    for (notice_id, version), (index, _) in sorted(logged.items()):
        if (notice_id, version) not in served:
            report.problem(
                "logged_not_served",
                f"notice {notice_id} v{version}",
                f"logged as entry {index} but no longer published",
            )
    report.notices = len(notice_ids)
    report.versions = len(served)
    return records


async def _check_notice(
    client: httpx.AsyncClient,
    report: Report,
    notice_id: int,
    served: dict[tuple[int, int], dict[str, Any]],
    logged: dict[tuple[int, int], tuple[int, str]],
    not_before: datetime,
) -> dict[str, Any] | None:
    where = f"/notices/{notice_id}"
    r = await client.get(f"/api/notices/{notice_id}")
    if r.status_code != 200:
        report.problem("notice_missing", where, f"published in the changes feed but the notice answers {r.status_code}")
        return None
    detail = r.json()
    latest_doc: dict[str, Any] | None = None
    for v in detail["versions"]:
        key = (notice_id, v["version"])
        vwhere = f"{where} v{v['version']}"
        doc_resp = await client.get(v["document_url"])
        if doc_resp.status_code != 200:
            report.problem("document_missing", vwhere, f"the published bytes answer {doc_resp.status_code}")
            continue
        actual = hashlib.sha256(doc_resp.content).hexdigest()
        if actual != v["content_hash"]:
            report.problem(
                "document_altered",
                vwhere,
                f"the published bytes hash to {actual[:16]}…, the notice says {v['content_hash'][:16]}…",
            )
        if key not in logged:
            published_at = datetime.fromisoformat(v["published_at"])
            if published_at > not_before:
                report.pending.append(
                    {"where": vwhere, "what": f"published at {published_at.isoformat()}, not in the log yet"}
                )
            else:
                report.problem(
                    "not_in_log",
                    vwhere,
                    f"published at {published_at.isoformat()}, longer ago than the maximum merge delay "
                    f"({report.max_merge_delay_seconds:g} s), but not in the transparency log",
                )
        elif logged[key][1] != actual:
            report.problem(
                "hash_mismatch",
                vwhere,
                f"the log (entry {logged[key][0]}) holds {logged[key][1][:16]}…, the bytes served hash to "
                f"{actual[:16]}…: the notice was changed after it was published",
            )
        if key in served and served[key]["content_hash"] != v["content_hash"]:
            report.problem("feed_mismatch", vwhere, "the changes feed and the notice disagree on the hash")
        if v["version"] == detail["version"]:
            latest_doc = doc_resp.json() if doc_resp.status_code == 200 else None
    if latest_doc is not None:
        for name in ("title", "body", "fields"):
            if latest_doc.get(name) != detail.get(name):
                report.problem(
                    "text_altered",
                    where,
                    f"the notice's current {name} differs from the text of its latest published version",
                )
    return latest_doc


def _logged_cuts(report: Report, raw_entries: list[bytes], verifier: NoteVerifier) -> dict[int, tuple[int, str]]:
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


async def _check_witness(
    client: httpx.AsyncClient,
    report: Report,
    vkey: str,
    log_verifier: NoteVerifier,
    leaves: list[bytes],
    now: datetime,
) -> None:
    """The witness has cosigned a checkpoint, signed by the log, whose tree is a prefix of the one checked."""
    try:
        witness = CosignatureVerifier.from_vkey(vkey)
    except NoteError as exc:
        report.problem("bad_witness_key", vkey, f"not a witness vkey: {exc}")
        return
    where = f"/log/witnessed/{witness.name}"
    r = await client.get(where)
    if r.status_code != 200:
        report.problem("not_witnessed", where, f"no checkpoint cosigned by {witness.name} is served ({r.status_code})")
        return
    try:
        body = verify_note(r.text, [log_verifier])
        checkpoint = parse_checkpoint(body)
        _, signatures = parse_note(r.text)
    except NoteError as exc:
        report.problem("bad_checkpoint", where, f"the witnessed checkpoint does not verify: {exc}")
        return
    stamps = []
    for signature in signatures:
        if (signature.name, signature.key_id) == (witness.name, witness.key_id):
            try:
                stamps.append(verify_cosignature(signature, body, witness))
            except NoteError:
                continue
    if not stamps:
        report.problem("bad_cosignature", where, f"the checkpoint carries no valid cosignature by {witness.name}")
        return
    if checkpoint.size > len(leaves) or merkle.root_from_leaf_hashes(leaves[: checkpoint.size]) != checkpoint.root_hash:
        report.problem(
            "witness_split_view",
            where,
            f"{witness.name} cosigned a tree of size {checkpoint.size} that is not a prefix of the log served to "
            "this verifier: the platform shows different logs to different people",
        )
        return
    stamp = max(stamps)
    if stamp > now.timestamp() + 600:
        report.problem("cosignature_from_future", where, f"{witness.name}'s cosignature is dated in the future")
    report.witnessed.append({"witness": witness.name, "size": checkpoint.size, "timestamp": stamp})
    if checkpoint.size < len(leaves):
        report.notes.append(
            f"{witness.name} has cosigned up to entry {checkpoint.size} of {len(leaves)}; later entries await it"
        )


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
    delay: timedelta = DEFAULT_MAX_MERGE_DELAY,
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
            await _recheck_failure(client, report, bwhere, fields, bid)
        if bid.get("outcome") == "opened":
            c = commitment(bid["event"]["details"], base64.b64decode(bid["event"]["salt"]))
            await _recheck_bid(
                client, report, bwhere, fields, bid, keys, cut_size=size, event_index=section_before.get(c)
            )
    for c, index in sorted(section_before.items(), key=lambda kv: kv[1]):
        if c not in claimed:
            report.problem(
                "bid_dropped",
                where,
                f"log entry {index} is a bid event of this section, logged before the deadline, "
                "but the opening record does not account for it",
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
    await _check_signer(client, report, where, bid, m.content, manifest, keys, cut_size, event_index)


async def _tender_committee(client: httpx.AsyncClient, fields: dict[str, Any]) -> dict[str, Any] | None:
    """The committee of the published tender version the record names (its bytes checked against its hash)."""
    tender = fields.get("tender_notice") or {}
    r = await client.get(f"/api/notices/{tender.get('notice_id')}")
    if r.status_code != 200:
        return None
    for version in r.json().get("versions", []):
        if version["version"] == tender.get("version"):
            doc = await client.get(version["document_url"])
            if doc.status_code == 200 and hashlib.sha256(doc.content).hexdigest() == tender.get("content_sha256"):
                return (json.loads(doc.content).get("fields") or {}).get("committee")
    return None


async def _recheck_failure(
    client: httpx.AsyncClient, report: Report, where: str, fields: dict[str, Any], bid: dict[str, Any]
) -> None:
    """A bid that did not open: every price share uploaded in the window and every dispute are in the record, so
    the combination is repeated here and must reach the same outcome, reason and fault (docs/envelope.md §10)."""
    from bidding.envelope import (
        BidContext,
        EnvelopeError,
        check_dispute,
        combine_and_open,
        decode_private_key,
        manifest_hash,
        parse_manifest,
    )

    committee = await _tender_committee(client, fields)
    base = f"/api/sections/{fields['section_id']}/opening/bids/{bid['manifest_sha256']}"
    m = await client.get(base + "/manifest")
    if committee is None or m.status_code != 200 or manifest_hash(m.content) != bid["manifest_sha256"]:
        report.problem("outcome_unverifiable", where, "the tender's committee or the bid's manifest is not served")
        return
    manifest = parse_manifest(m.content)
    context = BidContext(
        section_id=fields["section_id"],
        trade_code=fields["trade_code"],
        section_code=fields["section_code"],
        bidder_credit_code=bid["bidder_credit_code"],
        suite=committee["suite"],
        k=committee["k"],
        n=committee["n"],
        opener_keys=tuple(base64.b64decode(member["public_key"]) for member in committee["members"]),
    )
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
    extra = [f for f in required if f not in ("total_price_fen", "duration_days", "quality")]
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
