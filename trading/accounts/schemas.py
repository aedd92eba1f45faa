"""Request and response shapes for accounts, organisations, centres and tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

Role = Literal["admin", "staff", "opener", "evaluator", "supervisor", "bidder", "expert_keeper"]
OrgKind = Literal["tenderer", "agent", "bidder", "transferor"]

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Username = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9_.-]{3,64}$")]
Password = Annotated[str, msgspec.Meta(min_length=10, max_length=200)]
RegionCode = Annotated[str, msgspec.Meta(pattern=r"^\d{6}$")]


class Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Request bodies refuse unknown fields: a typo should fail loudly, not be ignored."""


class CentreCreate(Strict):
    code: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{2,32}$")]
    name: Name
    region_code: RegionCode


class CentreRead(msgspec.Struct):
    id: int
    code: str
    name: str
    region_code: str


class OrganisationCreate(Strict):
    name: Name
    credit_code: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    kinds: Annotated[list[OrgKind], msgspec.Meta(min_length=1)]
    region_code: RegionCode
    address: Annotated[str, msgspec.Meta(max_length=300)] = ""
    contact_name: Annotated[str, msgspec.Meta(max_length=100)] = ""
    contact_phone: Annotated[str, msgspec.Meta(max_length=40)] = ""


class OrganisationRead(msgspec.Struct):
    id: int
    name: str
    credit_code: str
    kinds: list[str]
    region_code: str
    address: str
    contact_name: str
    contact_phone: str


class PersonCreate(Strict):
    username: Username
    display_name: Name
    password: Password
    roles: Annotated[list[Role], msgspec.Meta(min_length=1)]
    organisation_id: int | None = None
    centre_id: int | None = None


class PersonRead(msgspec.Struct):
    id: int
    username: str
    display_name: str
    roles: list[str]
    organisation_id: int | None
    centre_id: int | None
    is_active: bool


class TokenRequest(Strict):
    username: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    label: Annotated[str, msgspec.Meta(max_length=100)] = ""
    #: A shorter life than the holder's roles allow (the platform's setting is the most it can be).
    expires_in_days: Annotated[int, msgspec.Meta(ge=1, le=3650)] | None = None


class TokenCreated(msgspec.Struct):
    id: int
    token: str
    prefix: str
    label: str
    expires_at: datetime
    note: str = "此令牌只显示一次，请妥善保存 / This token is shown once: keep it safe"


class TokenRead(msgspec.Struct):
    id: int
    prefix: str
    label: str
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class Me(msgspec.Struct):
    id: int
    username: str
    display_name: str
    roles: list[str]
    organisation_id: int | None
    centre_id: int | None
    #: My organisation's name and unified social credit code (a bidder seals its bids with it).
    organisation_name: str | None = None
    organisation_credit_code: str | None = None
