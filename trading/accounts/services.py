"""The rules for accounts: creating centres, organisations and people; signing in; tokens and sessions."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import func, select, text, true, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from trading.accounts import schemas
from trading.accounts.auth import TOKEN_PREFIX, actor_of, new_secret, secret_hash
from trading.accounts.credit_code import validate_credit_code
from trading.accounts.models import ApiToken, LoginAttempt, Organisation, Person, PortalSession, TradingCentre
from trading.accounts.passwords import hash_password, verify_password_async
from trading.audit.services import record
from trading.context import Act, Actor
from trading.db import is_lock_timeout
from trading.errors import Conflict, Forbidden, InvalidInput, NotFound, TooManyRequests
from trading.regions import get_region
from trading.settings import Settings


def _centre_dict(c: TradingCentre) -> dict[str, object]:
    return {"id": c.id, "code": c.code, "name": c.name, "region_code": c.region_code}


def organisation_dict(o: Organisation) -> dict[str, object]:
    return {
        "id": o.id,
        "name": o.name,
        "credit_code": o.credit_code,
        "kinds": list(o.kinds),
        "region_code": o.region_code,
        "address": o.address,
        "contact_name": o.contact_name,
        "contact_phone": o.contact_phone,
    }


def person_dict(p: Person) -> dict[str, object]:
    # Never the password hash: the audit trail stores hashes of these documents, not the documents.
    return {
        "id": p.id,
        "username": p.username,
        "display_name": p.display_name,
        "roles": sorted(p.roles),
        "organisation_id": p.organisation_id,
        "centre_id": p.centre_id,
        "is_active": p.is_active,
    }


async def create_centre(session: AsyncSession, act: Act, data: schemas.CentreCreate) -> TradingCentre:
    get_region(data.region_code)
    if await session.scalar(select(TradingCentre.id).where(TradingCentre.code == data.code)):
        raise Conflict("交易中心代码已存在", "A trading centre with this code exists", code="duplicate_centre")
    centre = TradingCentre(code=data.code, name=data.name, region_code=data.region_code)
    session.add(centre)
    await session.flush()
    await record(
        session,
        actor=act.actor,
        address=act.address,
        at=act.at,
        action="centre.create",
        subject_type="centre",
        subject_id=centre.id,
        after=_centre_dict(centre),
    )
    return centre


async def create_organisation(session: AsyncSession, act: Act, data: schemas.OrganisationCreate) -> Organisation:
    code = validate_credit_code(data.credit_code)
    get_region(data.region_code)
    if await session.scalar(select(Organisation.id).where(Organisation.credit_code == code)):
        raise Conflict(
            f"统一社会信用代码 {code} 已登记",
            f"An organisation with credit code {code} is already registered",
            code="duplicate_credit_code",
        )
    org = Organisation(
        name=data.name,
        credit_code=code,
        kinds=sorted(set(data.kinds)),
        region_code=data.region_code,
        address=data.address,
        contact_name=data.contact_name,
        contact_phone=data.contact_phone,
        created_at=act.at,
    )
    session.add(org)
    await session.flush()
    await record(
        session,
        actor=act.actor,
        address=act.address,
        at=act.at,
        action="organisation.create",
        subject_type="organisation",
        subject_id=org.id,
        after=organisation_dict(org),
    )
    return org


async def create_person(
    session: AsyncSession,
    act: Act,
    data: schemas.PersonCreate,
    settings: Settings,
    *,
    hashed: Callable[[str], str] | None = None,
) -> Person:
    """A new account. *hashed* turns its password into the stored hash; by default Argon2id at the settings' cost
    with a salt of the account's own (the demo, whose accounts share their role's printed password, hashes each
    password once: trading.demo.passwords)."""
    if await session.scalar(select(Person.id).where(Person.username == data.username)):
        raise Conflict("用户名已被使用", "This username is taken", code="duplicate_username")
    roles = sorted(set(data.roles))
    if data.organisation_id is not None and await session.get(Organisation, data.organisation_id) is None:
        raise InvalidInput("所属单位不存在", "The organisation does not exist", code="unknown_organisation")
    if data.centre_id is not None and await session.get(TradingCentre, data.centre_id) is None:
        raise InvalidInput("所属交易中心不存在", "The trading centre does not exist", code="unknown_centre")
    if "staff" in roles and data.centre_id is None:
        raise InvalidInput(
            "交易中心工作人员必须属于一个交易中心",
            "Staff must belong to a trading centre",
            code="staff_needs_centre",
        )
    if "supervisor" in roles and data.centre_id is None:
        raise InvalidInput(
            "监督人员必须属于一个交易中心（其监督范围）",
            "A supervisor must belong to a trading centre (the one it supervises)",
            code="supervisor_needs_centre",
        )
    if "bidder" in roles and data.organisation_id is None:
        raise InvalidInput(
            "投标人账号必须属于一个单位",
            "A bidder account must belong to an organisation",
            code="bidder_needs_organisation",
        )
    person = Person(
        username=data.username,
        display_name=data.display_name,
        password_hash=(hashed or partial(_hash, settings))(data.password),
        roles=roles,
        organisation_id=data.organisation_id,
        centre_id=data.centre_id,
        is_active=True,
        created_at=act.at,
    )
    session.add(person)
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent request took the username
        raise Conflict("用户名已被使用", "This username is taken", code="duplicate_username") from exc
    await record(
        session,
        actor=act.actor,
        address=act.address,
        at=act.at,
        action="person.create",
        subject_type="person",
        subject_id=person.id,
        after=person_dict(person),
    )
    return person


def _hash(settings: Settings, password: str) -> str:
    return hash_password(password, memory_cost=settings.password_memory_cost, iterations=settings.password_iterations)


#: How far back a successful sign-in makes an address one the account knows.
KNOWN_ADDRESS_DAYS = 90


async def _check_rate_limit(
    session: AsyncSession, username: str, address: str, now: datetime, settings: Settings, others: Any
) -> None:
    """Refuse a sign-in attempt that guessing has used up, without letting a stranger lock the owner out.

    Three limits, each over the last ``login_window`` seconds: failures on this account from this address;
    failures from this address on any account; and, once an account has failed from everywhere together
    more often than its owner ever would, attempts from addresses it has never signed in from (its owner's
    usual addresses still work). Each refusal says when to try again (Retry-After). *others*: the attempts to
    count (all but this one, recorded already)."""
    window = timedelta(seconds=settings.login_window)
    since = now - window
    checks = [
        (
            settings.login_max_failures,
            (LoginAttempt.username == username) & (LoginAttempt.address == address),
            ("此账号在本地址登录失败次数过多", "Too many failed sign-ins to this account from this address"),
        ),
        (
            settings.login_max_failures_per_address,
            LoginAttempt.address == address,
            ("本地址登录失败次数过多", "Too many failed sign-ins from this address"),
        ),
    ]
    for limit, condition, (zh, en) in checks:
        counted_from = await _limit_reached(session, condition & others, since, limit)
        if counted_from is not None:
            raise _rate_limited(zh, en, counted_from + window - now)
    counted_from = await _limit_reached(
        session, (LoginAttempt.username == username) & others, since, settings.login_max_failures_per_account
    )
    if counted_from is not None:
        known = await session.scalar(
            select(LoginAttempt.id)
            .where(
                LoginAttempt.username == username,
                LoginAttempt.address == address,
                LoginAttempt.succeeded.is_(True),
                LoginAttempt.at > now - timedelta(days=KNOWN_ADDRESS_DAYS),
            )
            .limit(1)
        )
        if known is None:
            raise _rate_limited(
                "此账号正被多处猜测密码，暂时只接受曾成功登录过的地址",
                "This account is under a guessing attack: for now only addresses it has signed in from may try",
                counted_from + window - now,
            )


#: The sign-in locks (pg_advisory_xact_lock(int4, int4)): the first key says whose, the second is a hash of the
#: account's username or of the address. Negative, so never a section id (the bids' locks, bidding.submission).
ACCOUNT_LOCK, ADDRESS_LOCK = -1, -2
#: How long a sign-in waits for the attempts before it on the same account or from the same address to be
#: counted (each holds the lock for a few statements) before it is refused as busy.
SIGN_IN_LOCK_TIMEOUT = "2s"


async def _lock_sign_in(session: AsyncSession, username: str, address: str) -> None:
    """PostgreSQL: take the sign-in locks of *username* and of *address* for this transaction, always in that
    order (a collision of hashes only makes two sign-ins wait for each other); a burst that queues past
    SIGN_IN_LOCK_TIMEOUT is refused as busy rather than holding the pool's connections. SQLite needs none: the
    attempt's insert takes its write lock."""
    if session.get_bind().dialect.name != "postgresql":
        return
    await session.execute(text(f"SET LOCAL lock_timeout = '{SIGN_IN_LOCK_TIMEOUT}'"))
    try:
        for kind, key in ((ACCOUNT_LOCK, username), (ADDRESS_LOCK, address)):
            await session.execute(select(func.pg_advisory_xact_lock(kind, func.hashtext(key))))
    except DBAPIError as exc:
        if not is_lock_timeout(exc):
            raise
        await session.rollback()
        raise TooManyRequests(
            "此账号或本地址同时有太多登录请求，请稍后再试",
            "Too many sign-ins to this account or from this address at once; try again shortly",
            retry_after=2,
            code="sign_in_busy",
        ) from None


async def _limit_reached(session: AsyncSession, condition: Any, since: datetime, limit: int) -> datetime | None:
    """When *limit* failures under *condition* have been counted since *since*: the time of the oldest of
    the latest *limit* (the wait ends when it leaves the window); else None."""
    return await session.scalar(
        select(LoginAttempt.at)
        .where(condition, LoginAttempt.at > since, LoginAttempt.succeeded.is_(False))
        .order_by(LoginAttempt.at.desc())
        .offset(limit - 1)
        .limit(1)
    )


def _rate_limited(zh: str, en: str, wait: timedelta) -> TooManyRequests:
    seconds = max(1, math.ceil(wait.total_seconds()))
    minutes = -(-seconds // 60)
    return TooManyRequests(
        f"{zh}，请{minutes}分钟后再试",
        f"{en}; try again in {minutes} minutes",
        retry_after=seconds,
        code="login_rate_limited",
    )


async def authenticate(
    session: AsyncSession, username: str, password: str, address: str, now: datetime, settings: Settings
) -> Person:
    """Check a username and password, rate-limited per account and per address.

    The limits are checked and the attempt recorded (as a failure, until it succeeds) in one transaction that
    holds the account's and the address's sign-in locks, then committed before the password is checked: attempts
    made at once are counted one after another, so a burst of twenty against a limit of five tries exactly five
    and refuses the rest. (Checked, then recorded, all twenty passed together; recorded, then checked, each
    counted others that were about to be refused and taken back out, and a burst could try fewer than the limit
    and leave the account open to the next.) A refused attempt is not recorded."""
    username, address = username[:64], address[:64]
    # Once guessing has used a limit up, refused at once, without queueing for the locks (most of a flood).
    await _check_rate_limit(session, username, address, now, settings, true())
    await _lock_sign_in(session, username, address)
    attempt = LoginAttempt(username=username, address=address, succeeded=False, at=now)
    session.add(attempt)
    # On SQLite this insert opens the transaction (the driver begins one at the first write; the reads before it
    # ran outside any) and takes the database's write lock, held to the commit: no stale snapshot to upgrade.
    await session.flush()
    attempt_id = attempt.id
    try:
        await _check_rate_limit(session, username, address, now, settings, LoginAttempt.id != attempt_id)
    except TooManyRequests:
        await session.rollback()
        raise
    await session.commit()
    person = await session.scalar(select(Person).where(Person.username == username))
    ok = await verify_password_async(
        password,
        person.password_hash if person is not None else None,
        memory_cost=settings.password_memory_cost,
        iterations=settings.password_iterations,
    )
    ok = ok and person is not None and person.is_active
    if ok:
        await session.execute(update(LoginAttempt).where(LoginAttempt.id == attempt_id).values(succeeded=True))
        await session.commit()
    if not ok or person is None:
        raise InvalidInput("用户名或密码错误", "Wrong username or password", code="bad_credentials", status_code=401)
    return person


def token_lifetime(person: Person, settings: Settings, asked_days: int | None = None) -> timedelta:
    """How long a new token of *person*'s lives: the shortest lifetime among their roles, or less if asked."""
    lifetimes = settings.token_lifetime_days()
    days = min((lifetimes[r] for r in person.roles if r in lifetimes), default=min(lifetimes.values(), default=1))
    return timedelta(days=min(days, asked_days) if asked_days else days)


async def issue_token(
    session: AsyncSession, act: Act, person: Person, label: str, settings: Settings, *, days: int | None = None
) -> tuple[ApiToken, str]:
    token = new_secret(TOKEN_PREFIX)
    row = ApiToken(
        person_id=person.id,
        token_hash=secret_hash(token),
        prefix=token[:10],
        label=label,
        created_at=act.at,
        expires_at=act.at + token_lifetime(person, settings, days),
    )
    session.add(row)
    await session.flush()
    await record(
        session,
        actor=act.actor or actor_of(person),
        address=act.address,
        at=act.at,
        action="token.issue",
        subject_type="api_token",
        subject_id=row.id,
        details={"prefix": row.prefix, "label": label, "expires_at": row.expires_at.isoformat()},
    )
    return row, token


async def revoke_token(session: AsyncSession, act: Act, token_id: int) -> None:
    assert act.actor is not None
    row = await session.get(ApiToken, token_id)
    if row is None or (row.person_id != act.actor.person_id and not act.actor.has_role("admin")):
        raise NotFound("令牌不存在", "No such token", code="token_not_found")
    if row.revoked_at is None:
        await session.execute(update(ApiToken).where(ApiToken.id == token_id).values(revoked_at=act.at))
        await record(
            session,
            actor=act.actor,
            address=act.address,
            at=act.at,
            action="token.revoke",
            subject_type="api_token",
            subject_id=token_id,
        )


async def list_tokens(session: AsyncSession, actor: Actor) -> list[ApiToken]:
    return list(
        await session.scalars(select(ApiToken).where(ApiToken.person_id == actor.person_id).order_by(ApiToken.id))
    )


async def start_portal_session(
    session: AsyncSession, person: Person, address: str, now: datetime, settings: Settings
) -> tuple[str, str]:
    """Create a portal session; returns the cookie value and the CSRF token."""
    cookie_value = new_secret()
    csrf = new_secret()
    session.add(
        PortalSession(
            id_hash=secret_hash(cookie_value),
            person_id=person.id,
            csrf_token=csrf,
            address=address[:64],
            created_at=now,
            expires_at=now + timedelta(seconds=settings.session_lifetime),
        )
    )
    await record(
        session,
        actor=actor_of(person),
        address=address,
        at=now,
        action="session.start",
        subject_type="person",
        subject_id=person.id,
    )
    return cookie_value, csrf


async def end_portal_session(session: AsyncSession, cookie_value: str) -> None:
    row = await session.get(PortalSession, secret_hash(cookie_value))
    if row is not None:
        await session.delete(row)


async def get_organisation(session: AsyncSession, org_id: int) -> Organisation:
    org = await session.get(Organisation, org_id)
    if org is None:
        raise NotFound("单位不存在", "No such organisation", code="organisation_not_found")
    return org


def require_staff(act: Act, doing_zh: str, doing_en: str) -> Actor:
    """The acting trading-centre staff member (or admin); anyone else hears that only staff may do *doing*."""
    actor = act.actor
    if actor is None or not (actor.has_role("staff") or actor.has_role("admin")):
        raise Forbidden(f"仅交易中心工作人员可以{doing_zh}", f"Only trading-centre staff {doing_en}", code="staff_only")
    return actor


def require_same_centre(actor: Actor, centre_id: int) -> None:
    """Staff act only on their own centre's projects; admins on any."""
    if actor.has_role("admin"):
        return
    if actor.centre_id != centre_id:
        raise Forbidden(
            "您不属于该项目所在的交易中心，无权操作",
            "You belong to another trading centre and may not act on this project",
            code="other_centre",
        )
