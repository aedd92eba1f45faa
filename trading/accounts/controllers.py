"""HTTP API for centres, organisations, people and API tokens."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.params import FromPath, JSONBody, Parameter, QueryParameter
from sqlalchemy import select

from trading.accounts import schemas, services
from trading.accounts.models import Organisation, Person, TradingCentre
from trading.errors import NotAuthenticated
from trading.web import DB, client_address, make_act, request_actor


def _read(struct: type[msgspec.Struct], row: Any) -> Any:
    return msgspec.convert(row, struct, from_attributes=True)


class CentreController(Controller):
    path = "/api/centres"
    tags = ["accounts"]

    @post("/", operation_id="createCentre")
    async def create_centre(self, request: Request, db: DB, data: JSONBody[schemas.CentreCreate]) -> schemas.CentreRead:
        """Register a trading centre (admin)."""
        centre = await services.create_centre(db, await make_act(request, db), data)
        return _read(schemas.CentreRead, centre)

    @get("/", operation_id="listCentres")
    async def list_centres(self, db: DB) -> list[schemas.CentreRead]:
        """List the trading centres (public)."""
        rows = await db.scalars(select(TradingCentre).order_by(TradingCentre.id))
        return [_read(schemas.CentreRead, r) for r in rows]


class OrganisationController(Controller):
    path = "/api/organisations"
    tags = ["accounts"]

    @post("/", operation_id="createOrganisation")
    async def create_organisation(
        self, request: Request, db: DB, data: JSONBody[schemas.OrganisationCreate]
    ) -> schemas.OrganisationRead:
        """Register an organisation with its unified social credit code (staff or admin)."""
        org = await services.create_organisation(db, await make_act(request, db), data)
        return _read(schemas.OrganisationRead, org)

    @get("/", operation_id="listOrganisations")
    async def list_organisations(
        self,
        db: DB,
        after_id: int = QueryParameter(name="after", default=0, ge=0),
        limit: int = Parameter(default=100, ge=1, le=500),
    ) -> list[schemas.OrganisationRead]:
        """List organisations (staff, admin, supervisor), in id order from ``after``."""
        rows = await db.scalars(
            select(Organisation).where(Organisation.id > after_id).order_by(Organisation.id).limit(limit)
        )
        return [_read(schemas.OrganisationRead, r) for r in rows]

    @get("/{org_id:int}", operation_id="getOrganisation")
    async def get_organisation(self, db: DB, org_id: FromPath[int]) -> schemas.OrganisationRead:
        """One organisation (staff, admin, supervisor)."""
        return _read(schemas.OrganisationRead, await services.get_organisation(db, org_id))


class PersonController(Controller):
    path = "/api/people"
    tags = ["accounts"]

    @post("/", operation_id="createPerson")
    async def create_person(self, request: Request, db: DB, data: JSONBody[schemas.PersonCreate]) -> schemas.PersonRead:
        """Create a person with roles (admin)."""
        person = await services.create_person(db, await make_act(request, db), data, request.app.state.settings)
        return _read(schemas.PersonRead, person)

    @get("/", operation_id="listPeople")
    async def list_people(self, db: DB) -> list[schemas.PersonRead]:
        """List people (admin)."""
        rows = await db.scalars(select(Person).order_by(Person.id))
        return [_read(schemas.PersonRead, r) for r in rows]


class TokenController(Controller):
    path = "/api"
    tags = ["accounts"]

    @post("/tokens", operation_id="createToken")
    async def create_token(
        self, request: Request, db: DB, data: JSONBody[schemas.TokenRequest]
    ) -> schemas.TokenCreated:
        """Sign in with username and password and receive an API token (shown once; rate-limited)."""
        act = await make_act(request, db)
        person = await services.authenticate(
            db, data.username, data.password, client_address(request), act.at, request.app.state.settings
        )
        settings = request.app.state.settings
        row, token = await services.issue_token(db, act, person, data.label, settings, days=data.expires_in_days)
        return schemas.TokenCreated(
            id=row.id, token=token, prefix=row.prefix, label=row.label, expires_at=row.expires_at
        )

    @get("/tokens", operation_id="listTokens")
    async def list_tokens(self, request: Request, db: DB) -> list[schemas.TokenRead]:
        """My API tokens (never the tokens themselves)."""
        actor = request_actor(request)
        if actor is None:
            raise NotAuthenticated()
        return [_read(schemas.TokenRead, r) for r in await services.list_tokens(db, actor)]

    @delete("/tokens/{token_id:int}", operation_id="revokeToken")
    async def revoke_token(self, request: Request, db: DB, token_id: FromPath[int]) -> None:
        """Revoke one of my tokens (admins: anyone's)."""
        await services.revoke_token(db, await make_act(request, db), token_id)

    @get("/me", operation_id="getMe")
    async def me(self, request: Request, db: DB) -> schemas.Me:
        """Who am I (with my organisation's name and credit code)."""
        actor = request_actor(request)
        assert actor is not None
        org = await db.get(Organisation, actor.organisation_id) if actor.organisation_id else None
        return schemas.Me(
            organisation_name=org.name if org else None,
            organisation_credit_code=org.credit_code if org else None,
            id=actor.person_id,
            username=actor.username,
            display_name=actor.display_name,
            roles=list(actor.roles),
            organisation_id=actor.organisation_id,
            centre_id=actor.centre_id,
        )
