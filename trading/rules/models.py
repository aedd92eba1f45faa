"""The working-day calendar table: statutory holidays and make-up working days (调休), kept by staff."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, String
from sqlalchemy.orm import Mapped, mapped_column

from trading.db import Base, UTCDateTime


class CalendarDay(Base):
    """A date that differs from the Monday–Friday rule: a holiday on a weekday or a working weekend day."""

    __tablename__ = "calendar_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    #: "holiday" (法定节假日/休息日) or "workday" (调休上班日)
    kind: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(50))
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    #: Who last changed it (a person id; the audit trail holds the full record). No foreign key, so that
    #: reference data outlives the accounts that edited it.
    updated_by: Mapped[int | None] = mapped_column(BigInteger, default=None)
