"""The demo's password hashes. Every demo account of a role shares that role's password, which ``trading demo``
prints (trading.demo.data.PASSWORDS), so each password is hashed once and its hash shared: Argon2id at the
production cost takes about 0.17 s, and the demo makes some ninety accounts (a quarter of its start-up time when
each was hashed on its own). A salt shared by accounts whose password is printed for all to read gives nothing
away; accounts made on a real platform each get a salt of their own (trading.accounts.services.create_person)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, partial

from trading.accounts.passwords import hash_password
from trading.settings import Settings


def shared_hashes(settings: Settings) -> Callable[[str], str]:
    """Hashes a password at the settings' cost, once per password and cost in this process."""
    return partial(_hashed, memory_cost=settings.password_memory_cost, iterations=settings.password_iterations)


@cache
def _hashed(password: str, *, memory_cost: int, iterations: int) -> str:
    return hash_password(password, memory_cost=memory_cost, iterations=iterations)
