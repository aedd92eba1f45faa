"""`trading witness run`: an independent witness that cosigns the log's checkpoints it has checked.

A witness holds its own Ed25519 key (``trading witness keygen``) and remembers the last checkpoint it
cosigned. Each round it fetches the platform's latest checkpoint, checks the platform's signature (the log
key pinned on first use), and checks that the new tree extends the one it cosigned last (an RFC 9162
consistency proof). Only then does it cosign (C2SP tlog-cosignature, its own clock as the timestamp) and
post the cosignature to ``/log/witness``. A rewritten history — a smaller tree, another root at the same
size, a failed consistency proof — is refused, never cosigned, and reported; the witness keeps its state so
that it stays refused. Verifiers then ask for checkpoints a witness they trust has cosigned
(``trading verify --witness VKEY``): a platform showing different logs to different people would need
the witness to cosign both.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from trading.log import merkle
from trading.log.note import Cosigner, NoteError, NoteVerifier, parse_checkpoint, parse_note, verify_note


@dataclass
class Round:
    ok: bool
    message: str
    size: int = 0


def _load(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())  # type: ignore[no-any-return]
    except FileNotFoundError:
        return {}


def _save(path: Path, state: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(state, indent=2))
    os.replace(tmp, path)


async def witness_once(
    client: httpx.AsyncClient,
    cosigner: Cosigner,
    state_path: Path,
    *,
    now: Callable[[], int],
    log_vkey: str | None = None,
) -> Round:
    """One round: check the latest checkpoint against what this witness cosigned last, and cosign it."""
    state = _load(state_path)
    if state.get("refused"):
        return Round(
            False,
            f"拒绝联署 / refusing to cosign: {state['refused']}"
            f"（查明原因后才可删除 / remove only after investigating: {state_path}）",
        )
    vkey = (await client.get("/log/key")).text.strip()
    pinned = log_vkey or state.get("log_vkey")
    if pinned and pinned != vkey:
        return Round(False, f"日志公钥已变 / the log key changed: {vkey}, not the pinned {pinned}")
    note = (await client.get("/log/checkpoint")).text
    try:
        body = verify_note(note, [NoteVerifier.from_vkey(vkey)])
        checkpoint = parse_checkpoint(body)
    except NoteError as exc:
        return Round(False, f"检查点的签名无效 / the checkpoint does not verify: {exc}")
    last_size, last_root = state.get("size"), state.get("root")
    if last_size is not None:
        old_root = base64.b64decode(last_root)
        problem = None
        if checkpoint.size < last_size:
            problem = f"日志树缩小了 / the tree shrank: from {last_size} to {checkpoint.size}"
        elif checkpoint.size == last_size and checkpoint.root_hash != old_root:
            problem = f"同为 {last_size} 条却是两棵不同的树 / two different trees of size {last_size}"
        elif checkpoint.size > last_size and last_size > 0:
            r = await client.get("/log/proof/consistency", params={"first": last_size, "second": checkpoint.size})
            proof = [base64.b64decode(p) for p in r.json().get("proof", [])] if r.status_code == 200 else None
            if proof is None or not merkle.verify_consistency(
                last_size, checkpoint.size, old_root, checkpoint.root_hash, proof
            ):
                problem = (
                    f"{checkpoint.size} 条的树不是 {last_size} 条的树的延续 / "
                    f"the tree of size {checkpoint.size} does not extend the one of size {last_size}"
                )
        if problem:
            _save(state_path, {**state, "refused": problem})
            return Round(False, f"拒绝联署 / refusing to cosign: {problem}")
    _, signatures = parse_note(note)
    if any(s.name == cosigner.name and s.key_id == cosigner.key_id for s in signatures):
        return Round(True, f"检查点已联署 / checkpoint already cosigned: {checkpoint.size}", checkpoint.size)
    line = cosigner.cosign(body, now())
    r = await client.post("/log/witness", json={"size": checkpoint.size, "cosignature": line})
    if r.status_code >= 400:
        return Round(False, f"平台拒收联署 / the platform refused the cosignature ({r.status_code}): {r.text[:200]}")
    _save(
        state_path,
        {
            "log_vkey": vkey,
            "size": checkpoint.size,
            "root": base64.b64encode(checkpoint.root_hash).decode(),
        },
    )
    return Round(True, f"已联署检查点 {checkpoint.size} / cosigned checkpoint {checkpoint.size}", checkpoint.size)


async def run(
    url: str,
    cosigner: Cosigner,
    state_path: Path,
    *,
    interval: float,
    once: bool,
    now: Callable[[], int],
    log_vkey: str | None = None,
    say: Callable[[str], None] = print,
    parent: int | None = None,
) -> int:
    """Rounds every *interval* seconds (or one, with *once*). With *parent*, the witness stops when that
    process is gone — the demo's witness must not outlive `trading demo` however it was stopped."""
    async with httpx.AsyncClient(base_url=url, timeout=30, follow_redirects=False) as client:
        while True:
            if parent is not None and os.getppid() != parent:
                say("启动本见证的进程已结束，停止 / the process that started this witness has ended; stopping")
                return 0
            try:
                result = await witness_once(client, cosigner, state_path, now=now, log_vkey=log_vkey)
            except (httpx.HTTPError, ValueError) as exc:
                result = Round(False, f"无法访问 / cannot reach {url}: {type(exc).__name__}")
            say(("✓ " if result.ok else "✗ ") + result.message)
            if once:
                return 0 if result.ok else 1
            await asyncio.sleep(interval)
