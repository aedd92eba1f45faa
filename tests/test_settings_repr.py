"""Settings may be logged (a startup line, an error's context): their repr never shows a secret."""

from __future__ import annotations

from trading.settings import Settings, masked_url


def test_the_repr_hides_the_database_password_and_the_secret_fields() -> None:
    settings = Settings(
        database_url="postgresql+asyncpg://trading:s3cr3t-pw@db.internal:5432/trading",
        s3_secret_access_key="AKIA-secret-key",
    )
    shown = repr(settings)
    assert "s3cr3t-pw" not in shown and "AKIA-secret-key" not in shown
    assert "postgresql+asyncpg://trading:***@db.internal:5432/trading" in shown


def test_a_url_without_a_password_is_shown_as_it_is() -> None:
    for url in ("sqlite+aiosqlite:///./var/trading.db", "postgresql+asyncpg://postgres@127.0.0.1/test", ""):
        assert masked_url(url) == url
    assert masked_url("postgresql://u:p@ss:w@rd@h/db") == "postgresql://u:***@h/db"
