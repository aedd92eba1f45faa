"""The log's public HTTP interface: checkpoint, verifier key, entries, proofs, witness cosignatures."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery, JSONBody, Parameter

from trading.accounts.schemas import Strict
from trading.caching import IMMUTABLE
from trading.errors import InvalidInput, NotFound
from trading.log import services
from trading.web import DB, make_act

LIVE = "public, max-age=1"


class LogEntryRead(msgspec.Struct):
    index: int
    #: The exact bytes of the entry (base64); its leaf hash is SHA-256(0x00 ‖ bytes).
    data: str


class EntriesPage(msgspec.Struct):
    entries: list[LogEntryRead]
    tree_size: int


class InclusionProof(msgspec.Struct):
    index: int
    tree_size: int
    leaf_hash: str
    proof: list[str]


class ConsistencyProof(msgspec.Struct):
    first: int
    second: int
    proof: list[str]


class LogInfo(msgspec.Struct):
    """What a verifier needs to know about the log before it reads it."""

    origin: str
    #: The verifier key (C2SP vkey), as /log/key serves it.
    vkey: str
    #: Every entry is in a signed checkpoint within this many seconds of the act it records; a verifier
    #: reports a published item missing from the log as pending while younger, as missing once older.
    max_merge_delay_seconds: int
    #: The witnesses whose cosignatures the platform accepts (C2SP vkeys), as configured.
    witnesses: list[str] = []


class CosignatureIn(Strict):
    size: Annotated[int, msgspec.Meta(ge=1)]
    #: The witness's signature line: "— <name> <base64(key id ‖ timestamp ‖ signature)>"
    cosignature: Annotated[str, msgspec.Meta(max_length=1000)]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _leaf_hash(value: str) -> bytes:
    try:
        raw = bytes.fromhex(value) if len(value) == 64 else base64.b64decode(value, validate=True)
    except (ValueError, binascii.Error):
        raw = b""
    if len(raw) != 32:
        raise InvalidInput(
            "叶子哈希须为32字节（十六进制或base64）", "leaf_hash must be 32 bytes, hex or base64", code="bad_leaf_hash"
        )
    return raw


class LogController(Controller):
    path = "/log"
    tags = ["log"]

    @get("/checkpoint", operation_id="getCheckpoint", media_type="text/plain")
    async def checkpoint(self, db: DB) -> Response[str]:
        """The latest signed checkpoint (C2SP tlog-checkpoint), with any witness cosignatures."""
        latest = await services.latest_checkpoint(db)
        if latest is None:
            raise NotFound("日志尚无检查点", "The log has no checkpoint yet", code="no_checkpoint")
        body = services.with_cosignatures(latest.note, await services.cosignature_lines(db, latest.size))
        return Response(content=body, media_type="text/plain", headers={"Cache-Control": LIVE})

    @get("/checkpoints/{size:int}", operation_id="getCheckpointAtSize", media_type="text/plain")
    async def checkpoint_at(self, db: DB, size: FromPath[int]) -> Response[str]:
        """The checkpoint signed at one tree size, with its cosignatures."""
        row = await services.checkpoint_at(db, size)
        body = services.with_cosignatures(row.note, await services.cosignature_lines(db, size))
        return Response(content=body, media_type="text/plain", headers={"Cache-Control": LIVE})

    @get("/witnessed/{witness:str}", operation_id="getWitnessedCheckpoint", media_type="text/plain")
    async def witnessed(self, db: DB, witness: FromPath[str]) -> Response[str]:
        """The largest checkpoint the named witness has cosigned, with every cosignature it carries."""
        row = await services.latest_cosigned(db, witness)
        body = services.with_cosignatures(row.note, await services.cosignature_lines(db, row.size))
        return Response(content=body, media_type="text/plain", headers={"Cache-Control": LIVE})

    @get("/key", operation_id="getLogKey", media_type="text/plain")
    async def key(self, request: Request) -> Response[str]:
        """The log's verifier key as a C2SP vkey string: name+keyid+base64(0x01 ‖ Ed25519 public key)."""
        return Response(
            content=request.app.state.log_signer.vkey + "\n",
            media_type="text/plain",
            headers={"Cache-Control": "public, max-age=3600"},
        )

    @get("/info", operation_id="getLogInfo")
    async def info(self, request: Request) -> Response[LogInfo]:
        """The log's origin, verifier key and maximum merge delay."""
        settings = request.app.state.settings
        return Response(
            content=LogInfo(
                origin=settings.log_origin,
                vkey=request.app.state.log_signer.vkey,
                max_merge_delay_seconds=settings.log_max_merge_delay,
                witnesses=settings.witness_vkeys,
            ),
            headers={"Cache-Control": "public, max-age=3600"},
        )

    @get("/entries", operation_id="listLogEntries")
    async def list_entries(
        self,
        db: DB,
        start: int = Parameter(ge=0),
        end: int = Parameter(ge=1),
    ) -> Response[EntriesPage]:
        """Entries [start, end) of the signed tree (at most 1000 at a time), each with its exact bytes."""
        rows = await services.entries(db, start, end)
        size = (await services.latest_checkpoint(db)).size if rows else 0  # type: ignore[union-attr]
        complete = bool(rows) and rows[-1][0] == end - 1
        return Response(
            content=EntriesPage(entries=[LogEntryRead(index=i, data=_b64(d)) for i, d in rows], tree_size=size),
            headers={"Cache-Control": IMMUTABLE if complete else LIVE},
        )

    @get("/proof/inclusion", operation_id="getInclusionProof")
    async def inclusion(
        self,
        db: DB,
        tree_size: int = Parameter(ge=1),
        index: FromQuery[int | None] = None,
        leaf_hash: FromQuery[str | None] = None,
    ) -> Response[InclusionProof]:
        """Inclusion proof (RFC 9162 §2.1.3) for a leaf, by index or by leaf hash, in the tree of tree_size."""
        if (index is None) == (leaf_hash is None):
            raise InvalidInput(
                "请给出 index 或 leaf_hash 之一", "Give exactly one of index or leaf_hash", code="bad_query"
            )
        if leaf_hash is not None:
            index = await services.index_of(db, _leaf_hash(leaf_hash))
        assert index is not None
        proof = await services.inclusion_proof(db, index, tree_size)
        entry_hash = await services.leaf_hash_at(db, index)
        return Response(
            content=InclusionProof(
                index=index, tree_size=tree_size, leaf_hash=_b64(entry_hash), proof=[_b64(p) for p in proof]
            ),
            headers={"Cache-Control": IMMUTABLE},
        )

    @get("/proof/consistency", operation_id="getConsistencyProof")
    async def consistency(
        self, db: DB, first: int = Parameter(ge=0), second: int = Parameter(ge=1)
    ) -> Response[ConsistencyProof]:
        """Consistency proof (RFC 9162 §2.1.4) that the tree of size second extends the tree of size first."""
        proof = await services.consistency_proof(db, first, second)
        return Response(
            content=ConsistencyProof(first=first, second=second, proof=[_b64(p) for p in proof]),
            headers={"Cache-Control": IMMUTABLE},
        )

    @get("/cuts/{section_id:int}", operation_id="getDeadlineCut", media_type="text/plain")
    async def cut(self, db: DB, section_id: FromPath[int]) -> Response[str]:
        """A section's signed deadline cut (docs/log.md §6): which checkpoint closed its bidding, and when."""
        row = await services.deadline_cut(db, section_id)
        return Response(content=row.cut_note, media_type="text/plain", headers={"Cache-Control": IMMUTABLE})

    @post("/witness", operation_id="addCosignature")
    async def witness(self, request: Request, db: DB, data: JSONBody[CosignatureIn]) -> dict[str, object]:
        """A registered witness countersigns a checkpoint it has checked (C2SP tlog-cosignature)."""
        act = await make_act(request, db)
        keys = request.app.state.settings.witness_vkeys
        row = await services.add_cosignature(db, size=data.size, line=data.cosignature, witness_vkeys=keys, now=act.at)
        return {"size": row.size, "witness": row.witness, "timestamp": row.timestamp}
