"""`trading verify URL`: check, from outside, that the platform's public record is whole and unaltered.

What it checks, using only public endpoints:

1. the latest checkpoint is signed by the log's key (pinned on first use, or given with ``--key``; ``/log/key``
   and ``/log/info`` must state the same one);
2. the log only grew since this verifier last looked: a consistency proof from the checkpoint kept in
   the state file — a smaller tree is a rollback, a different root at the same size a split view;
3. the entries served hash to the signed root (every leaf is fetched and the tree rebuilt), each is its
   document's canonical JSON, and each of a known kind has exactly its kind's fields (docs/log.md §1, §4);
4. every published notice version served (the changes feed) has exactly the bytes its hash names, and
   that hash is in the log; every notice version in the log is still served; each notice's current
   text is the text of its latest version;
5. every opening record accounts for exactly the bid events logged for its section before its deadline
   cut — the platform's signed statement, itself logged and unique per section, of which checkpoint
   closed bidding — each row's event names that row's bid, each opened bid was sealed for this section,
   bidder and the tender notice's committee, and the published keys open the logged ciphertexts to the
   published figures (trading.verify_openings);
6. with ``--witness VKEY``: that witness has cosigned a checkpoint whose tree is a prefix of the one
   checked (a platform showing another log to the witness is a split view).

A version not yet in the log is *pending* while it is younger than the log's stated maximum merge delay
(``/log/info``; the integrator folds entries in within it) and *missing* once older: only missing is a
problem. Its age is measured on the verifier's own clock, never the platform's: a platform that could set
the time could keep a dropped entry "pending" for ever.

It prints a short summary (or ``--json``) and exits non-zero when anything is wrong; each problem has a stable
code, listed in docs/log.md §10.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from trading.canonical import canonical_bytes
from trading.log import entries, merkle
from trading.log.note import (
    CosignatureVerifier,
    NoteError,
    NoteVerifier,
    parse_checkpoint,
    parse_note,
    verify_cosignature,
    verify_note,
)
from trading.verify_openings import KeyLog, check_opening, logged_cuts

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
    #: The supervisors' rulings on disputed bids (dispute_ruling notices).
    rulings: int = 0
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
        if self.rulings:
            lines.append(f"{self.rulings} rulings on disputed bids checked")
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


def _saved_checkpoint(state_path: Path, checked_at: int | None) -> tuple[str, str]:
    """How a problem names the checkpoint this verifier saved (where, and when it was checked): Chinese, English."""
    when = datetime.fromtimestamp(checked_at, UTC).strftime("%Y-%m-%d %H:%M UTC") if checked_at else None
    return (
        f"{state_path} 中保存的检查点（{when or '时间不详'} 核验）",
        f"in {state_path}" + (f" (verified {when})" if when else ""),
    )


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


async def _log_info(client: httpx.AsyncClient) -> dict[str, Any]:
    """``/log/info`` as served; empty if it is not served as a JSON object."""
    r = await client.get("/log/info")
    try:
        info = r.json() if r.status_code == 200 else {}
    except ValueError:
        return {}
    return info if isinstance(info, dict) else {}


def _max_merge_delay(info: dict[str, Any]) -> timedelta:
    """The merge delay the site states (``/log/info``), at most :data:`LONGEST_MAX_MERGE_DELAY`."""
    stated = info.get("max_merge_delay_seconds")
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
    info = await _log_info(client)
    delay = max_merge_delay if max_merge_delay is not None else _max_merge_delay(info)
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
    stated = info.get("vkey")
    if stated != vkey:  # one log, one key: the two places it is published must agree
        report.problem("key_mismatch", "/log/info", f"/log/info states the key {stated}, /log/key serves {vkey}")
        return report, {}
    try:
        verifier = NoteVerifier.from_vkey(vkey)
    except NoteError as exc:
        report.problem("key_mismatch", "/log/key", f"the log key does not parse: {exc}")
        return report, {}
    if not mine.get("vkey") and not pinned_key:
        report.notes.append(f"trusting log key {vkey} on first use (pin it with --key)")

    note = (await _get(client, "/log/checkpoint")).text
    try:
        body = verify_note(note, [verifier])
        checkpoint = parse_checkpoint(body)
    except NoteError as exc:
        report.problem("bad_checkpoint", "/log/checkpoint", f"the checkpoint does not verify: {exc}")
        return report, {}
    report.origin, report.tree_size = checkpoint.origin, checkpoint.size
    root = checkpoint.root_hash

    # 2. the log only grew since the checkpoint this verifier saved: a restore from an old backup, or an operator
    # cutting entries out, shows here — to everyone who kept a checkpoint — however well the rest verifies.
    last_size, last_root = mine.get("size"), mine.get("root")
    if last_size is not None:
        last_root_bytes = base64.b64decode(last_root)
        saved, saved_en = _saved_checkpoint(state_path, mine.get("checked_at"))
        if checkpoint.size < last_size:
            report.problem(
                "rollback",
                "/log/checkpoint",
                f"日志被回滚：{saved}有 {last_size} 条记录，现在的检查点只有 {checkpoint.size} 条，"
                "已见过的记录丢失了 / "
                f"the log was rolled back: the checkpoint saved {saved_en} has {last_size} entries, the one "
                f"served now {checkpoint.size} — entries already seen are gone (a restore from an older backup, "
                "or removed)",
            )
        elif checkpoint.size == last_size and root != last_root_bytes:
            report.problem(
                "split_view",
                "/log/checkpoint",
                f"日志出现分叉：{saved}与现在的检查点都有 {last_size} 条记录，但根哈希不同 / the log forked: the "
                f"checkpoint saved {saved_en} and the one served now both have {last_size} entries but "
                "different roots — its history was rewritten (rolled back and grown again, or two views)",
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
                    f"日志出现分叉：现在的 {checkpoint.size} 条记录并不延续{saved}的 {last_size} 条 / the log "
                    f"forked: the tree of {checkpoint.size} entries served now does not extend the {last_size} "
                    f"of the checkpoint saved {saved_en} — its history was rewritten (rolled back and grown "
                    "again)",
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
    records, rulings = await _check_notices(client, report, documents, quiet, not_before=now - delay)

    # 5. every opening record: its bids were logged before the deadline cut, none is missing, none was
    # added, and the published keys open the logged ciphertexts to the published figures
    cuts = logged_cuts(report, raw_entries, verifier)
    keys = KeyLog.read(raw_entries)
    for notice_id, fields in records:
        try:
            await check_opening(
                client, report, notice_id, fields, verifier, leaves, raw_entries, cuts=cuts, keys=keys, delay=delay
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:  # a record not in log.md §8's shape
            report.problem(
                "record_malformed",
                f"/notices/{notice_id} (开标记录)",
                f"开标记录缺少字段或字段无法解析 / the record lacks a field of log.md §8, or one does not parse: "
                f"{exc!r}",
            )

    _check_rulings(report, records, rulings)

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
    if not isinstance(doc, dict):
        report.problem("bad_entry", f"log entry {index}", "not a JSON object")
        return
    if canonical_bytes(doc) != data:  # one document, one byte string (log.md §1): else two leaves say one thing
        report.problem("entry_not_canonical", f"log entry {index}", "the entry's bytes are not its canonical JSON")
    kind = doc.get("kind")
    expected = entries.FIELDS.get(kind) if isinstance(kind, str) else None
    if expected is not None and set(doc) != expected:
        extra, missing = sorted(set(doc) - expected), sorted(expected - set(doc))
        report.problem(
            "entry_fields",
            f"log entry {index}",
            f"a {kind} entry with fields other than log.md §4's (extra {extra}, missing {missing})",
        )
        return
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
) -> tuple[list[tuple[int, dict[str, Any]]], list[tuple[int, dict[str, Any]]]]:
    """Check every published notice; returns the opening records' fields for the opening checks, and the
    supervisors' rulings on disputed bids.

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
        rulings: list[tuple[int, dict[str, Any]]] = []
        for notice_id in notice_ids:
            latest = await _check_notice(client, report, notice_id, served, logged, not_before)
            if latest is not None and latest.get("kind") == "opening_record":
                records.append((notice_id, latest.get("fields") or {}))
            elif latest is not None and latest.get("kind") == "dispute_ruling":
                rulings.append((notice_id, latest.get("fields") or {}))
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
    return records, rulings


def _check_rulings(
    report: Report, records: list[tuple[int, dict[str, Any]]], rulings: list[tuple[int, dict[str, Any]]]
) -> None:
    """Each supervisors' ruling (docs/envelope.md §10.3) is on a bid its opening record left disputed, and no bid
    is ruled on twice: a platform cannot publish a ruling that turns an opened bid, or another section's, into a
    revoked one."""
    disputed = {
        notice_id: {
            b.get("manifest_sha256")
            for b in fields.get("bids") or []
            if isinstance(b, dict) and b.get("outcome") == "disputed"
        }
        for notice_id, fields in records
    }
    ruled: dict[tuple[Any, Any], int] = {}
    for notice_id, fields in rulings:
        where = f"/notices/{notice_id}"
        record, bid = fields.get("opening_record_notice_id"), fields.get("manifest_sha256")
        if type(record) is not int or not isinstance(bid, str) or bid not in disputed.get(record, set()):
            report.problem(
                "ruling_without_dispute",
                where,
                f"裁定所指的投标在开标记录 {record} 中并非有异议待裁定 / the ruling is on bid {str(bid)[:16]}…, which "
                f"the opening record (notice {record}) does not leave disputed",
            )
        elif (record, bid) in ruled:
            report.problem(
                "duplicate_ruling",
                where,
                f"同一投标已由公告 {ruled[(record, bid)]} 裁定 / the same bid was ruled on in notice "
                f"{ruled[(record, bid)]} already",
            )
        ruled.setdefault((record, bid), notice_id)
    report.rulings = len(rulings)


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
