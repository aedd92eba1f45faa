"""Request and response bodies for the expert pool and the expert draw."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec

from trading.accounts.schemas import Strict

Speciality = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]


class ExpertIn(Strict):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    specialities: Annotated[list[Speciality], msgspec.Meta(min_length=1, max_length=20)]
    region_code: Annotated[str, msgspec.Meta(pattern=r"^\d{6}$")]
    organisation_name: Annotated[str, msgspec.Meta(max_length=200)] = ""
    organisation_credit_code: Annotated[str, msgspec.Meta(max_length=18)] = ""
    #: An evaluator account, so the expert can sign in to evaluate.
    person_id: int | None = None
    active: bool = True


class ExpertRead(msgspec.Struct):
    id: int
    name: str
    specialities: list[str]
    region_code: str
    organisation_name: str
    organisation_credit_code: str
    person_id: int | None
    active: bool


class DrawIn(Strict):
    #: How many evaluators: an odd number, at least ``settings.min_evaluators``.
    count: Annotated[int, msgspec.Meta(ge=1, le=99)]
    specialities: Annotated[list[Speciality], msgspec.Meta(min_length=1, max_length=20)]


class ConflictIn(Strict):
    reason: Annotated[str, msgspec.Meta(min_length=2, max_length=2000)]


class DrawRead(msgspec.Struct):
    """The draw as the public sees it: before the result, only what was committed and when."""

    section_id: int
    state: str  # committed | drawn | revealed
    count: int
    specialities: list[str]
    commitment: str
    pool_hash: str
    pool_size: int
    committed_at: datetime
    drawn_at: datetime | None
    #: After the result is published: everything needed to recompute the draw, and the panel's names.
    seed: str | None = None
    beacon: str | None = None
    beacon_tree_size: int | None = None
    pool: list[dict[str, Any]] | None = None
    result: dict[str, Any] | None = None
    conflicts: list[int] | None = None
    panel: list[dict[str, Any]] | None = None
