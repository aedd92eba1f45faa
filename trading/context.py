"""Who is acting and from where: the small value every service receives instead of a request."""

from __future__ import annotations

from datetime import datetime

import msgspec

ROLES = ("admin", "staff", "opener", "evaluator", "supervisor", "bidder", "expert_keeper")
ROLE_NAMES_ZH = {
    "admin": "系统管理员",
    "expert_keeper": "专家库管理员",
    "staff": "交易中心工作人员",
    "opener": "开标人",
    "evaluator": "评标专家",
    "supervisor": "监督人员",
    "bidder": "投标人",
}


class Actor(msgspec.Struct, frozen=True, kw_only=True):
    person_id: int
    username: str
    display_name: str
    roles: tuple[str, ...]
    centre_id: int | None = None
    organisation_id: int | None = None

    def has_role(self, *roles: str) -> bool:
        return any(r in self.roles for r in roles)


class Act(msgspec.Struct, frozen=True, kw_only=True):
    """One state-changing act: who, from which address, at what time (the platform clock)."""

    actor: Actor | None
    address: str
    at: datetime
