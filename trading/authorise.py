"""The one guard every route passes: it applies the route's rule from trading.policy before the handler runs.

Roles first (the public hears 401, a signed-in caller without a role the rule names 403 ``wrong_role``);
then, for a role whose reach is limited, the path: the centre of the section, project, notice, objection,
complaint or alert it names (403 ``other_centre``), the section's evaluation panel (403 ``not_on_panel``) or
opening committee (403 ``not_on_committee``). A path naming nothing that exists is a 404. How a path is
resolved is given by the app factory (the tables belong to other packages), not looked up by name.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, NamedTuple

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from trading.accounts.auth import current_actor, refuse_invalid_credentials
from trading.context import ROLE_NAMES_ZH
from trading.errors import Forbidden, NotAuthenticated, NotFound
from trading.input_checks import check_parameters
from trading.metrics import check_scraper
from trading.policy import ANY, CENTRE, COMMITTEE, FILTERED, OWN, PANEL, Rule, rule_for

#: A path parameter's value → the centre (trading-centre id) that what it names belongs to, or None.
CentreOf = Callable[[AsyncSession, int], Awaitable[int | None]]
#: A section id → the person ids on its evaluation panel, or on its opening committee.
PeopleOf = Callable[[AsyncSession, int], Awaitable[set[int]]]


class Resolvers(NamedTuple):
    #: By path parameter name, in the order they are tried (a section before the bid under it).
    centre_of: Mapping[str, CentreOf]
    panel_of: PeopleOf
    committee_of: PeopleOf


class NoRule(Forbidden):
    code = "no_rule"


def wrong_role(rule: Rule) -> Forbidden:
    names_zh = "、".join(ROLE_NAMES_ZH.get(r, r) for r in rule.roles)
    return Forbidden(
        f"此操作需要以下角色之一：{names_zh}",
        f"This action needs one of these roles: {', '.join(rule.roles)}",
        code="wrong_role",
    )


def make_guard(
    sessionmaker: async_sessionmaker[AsyncSession], resolvers: Resolvers
) -> Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Awaitable[None]]:
    async def authorise(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
        check_parameters(connection)  # before any lookup: a path's number past 64 bits is a 400 here
        operation_id = handler.operation_id if isinstance(handler.operation_id, str) else None
        rule = rule_for(operation_id, frozenset({connection.scope.get("path_template", "")}))
        if rule is None:  # tests/api/test_route_matrix.py fails first; refuse rather than guess
            raise NoRule("此接口尚无授权规则", "This route has no authorisation rule")
        if rule.scrapers:
            check_scraper(connection)
            return
        refuse_invalid_credentials(connection)
        if rule.public:
            return
        actor = current_actor(connection)
        if actor is None:
            raise NotAuthenticated()
        if rule.signed_in:
            return
        reaches = {rule.roles[role] for role in actor.roles if role in rule.roles}
        if not reaches:
            raise wrong_role(rule)
        if reaches & {ANY, OWN, FILTERED}:
            return
        params = connection.path_params
        async with sessionmaker() as session:
            if CENTRE in reaches:
                centre = await _centre_named(session, params, resolvers.centre_of)
                if centre == actor.centre_id:
                    return
            section_id = params.get("section_id")
            if PANEL in reaches and section_id is not None:
                if actor.person_id in await resolvers.panel_of(session, int(section_id)):
                    return
            if COMMITTEE in reaches and section_id is not None:
                if actor.person_id in await resolvers.committee_of(session, int(section_id)):
                    return
        if CENTRE in reaches:
            raise Forbidden(
                "您不属于该项目所在的交易中心，无权操作",
                "You belong to another trading centre and may not act on this project",
                code="other_centre",
            )
        if PANEL in reaches:
            raise Forbidden(
                "您不是本标段评标委员会成员", "You are not on this section's evaluation panel", code="not_on_panel"
            )
        raise Forbidden(
            "您不是此标段的开标人", "You are not on this section's opening committee", code="not_on_committee"
        )

    return authorise


#: What a path parameter names, for the 404 when it names nothing: (Chinese, English).
NAMED = {
    "section_id": ("标段", "section"),
    "project_id": ("项目", "project"),
    "notice_id": ("公告", "notice"),
    "objection_id": ("异议", "objection"),
    "complaint_id": ("投诉", "complaint"),
    "alert_id": ("预警", "alert"),
}


async def _centre_named(session: AsyncSession, params: Mapping[str, Any], centre_of: Mapping[str, CentreOf]) -> int:
    for name, resolve in centre_of.items():
        if name in params:
            centre = await resolve(session, int(params[name]))
            if centre is None:
                zh, en = NAMED.get(name, ("记录", "record"))
                raise NotFound(f"{zh}不存在", f"No such {en}", code=f"{en}_not_found")
            return centre
    raise NotFound("记录不存在", "Not found", code="not_found")  # a CENTRE rule on a path naming nothing
