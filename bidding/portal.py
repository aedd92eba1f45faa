"""The opening hall (开标大厅): a public page per section showing the committee, which openers have
uploaded their shares, and the results as they appear — live by server-sent events where JavaScript
runs, by a plain refresh where it does not. Staff start the ceremony from here."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect, Template

from bidding import opening, rulings, schemas
from bidding.committees import bidding_view, section_committee
from bidding.hall import is_over
from notices.portal import check_session_csrf, html_page, page_context
from trading.errors import Forbidden
from trading.web import DB, make_act


class StartForm(msgspec.Struct):
    csrf_token: str = ""


class RulingForm(msgspec.Struct, kw_only=True):
    csrf_token: Annotated[str, msgspec.Meta(max_length=128)] = ""
    treated_as: Annotated[str, msgspec.Meta(max_length=20)] = ""
    reason: Annotated[str, msgspec.Meta(max_length=4000)] = ""


class OpeningHallController(Controller):
    path = "/sections"
    include_in_schema = False

    @get("/{section_id:int}/opening", operation_id="portalOpeningHall")
    async def hall(self, request: Request, db: DB, section_id: FromPath[int]) -> Template:
        """The opening hall of one section."""
        sc = await section_committee(db, section_id)
        status = await opening.status(db, section_id)
        context = page_context(
            request,
            sc.project.trade_kind,
            section=bidding_view(sc),
            project=sc.project,
            status=status,
            # Open while a disputed bid awaits its ruling: the live page shows the ruling when it is given.
            live=not is_over(status),
            now=await request.app.state.clock.now(db),
        )
        # A supervisor of the trade's centre rules on a disputed bid here (bidding.rulings).
        viewer = context["actor"]
        context["may_rule"] = bool(
            viewer is not None
            and viewer.has_role("supervisor")
            and viewer.centre_id == sc.project.centre_id
            and context["csrf_token"]
        )
        # Signed in, the page carries the session's CSRF token in its forms: for this browser alone.
        cache = "private, no-cache" if viewer is not None else "no-cache"
        return html_page("opening.html", context=context, headers={"Cache-Control": cache})

    @post("/{section_id:int}/opening/start", operation_id="portalStartOpening", status_code=303)
    async def start(
        self,
        request: Request,
        db: DB,
        section_id: FromPath[int],
        data: Annotated[StartForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Redirect:
        """Staff start the ceremony (a form with the session's CSRF token)."""
        actor = check_session_csrf(request, data.csrf_token)
        if not actor.has_role("staff", "admin"):
            raise Forbidden(
                "只有交易中心工作人员可以开始开标", "Only trading-centre staff can start the opening", code="wrong_role"
            )
        act = await make_act(request, db)
        await db.rollback()
        await opening.start(request.app.state, act, section_id)
        return Redirect(path=f"/sections/{section_id}/opening", status_code=303)

    @post("/{section_id:int}/opening/rulings/{bid_id:int}", operation_id="portalRuleOnDisputedBid", status_code=303)
    async def rule(
        self,
        request: Request,
        db: DB,
        section_id: FromPath[int],
        bid_id: FromPath[int],
        data: Annotated[RulingForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Redirect:
        """A supervisor of the centre rules on a disputed bid from the hall (bidding.rulings; a form with the
        session's CSRF token)."""
        check_session_csrf(request, data.csrf_token)
        try:
            ruling = msgspec.convert({"treated_as": data.treated_as, "reason": data.reason}, schemas.BidRulingIn)
        except msgspec.ValidationError as exc:
            raise rulings.bad_ruling() from exc
        await rulings.rule(db, await make_act(request, db), section_id, bid_id, ruling)
        return Redirect(path=f"/sections/{section_id}/opening#bid-{bid_id}", status_code=303)
