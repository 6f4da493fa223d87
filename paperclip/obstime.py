"""Observation times as astronomers give and read them: ISO 8601 UTC or MJD, to the second."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from astropy.time import Time

MJD_RANGE = (0.0, 100_000.0)  # 1858-11-17 .. 2132-08-31
_NUMBER = re.compile(r"(mjd\s*)?([+-]?\d+(\.\d*)?)", re.I)


class TimeError(ValueError):
    """Not a date: the message says what is accepted."""


def parse_time(text: str) -> datetime:
    """``2023-03-20``, ``2023-03-20T21:16:05Z`` (UTC unless an offset is given) or an MJD
    (``60023.5``, ``MJD 60023.5``), as an aware UTC datetime."""
    t = text.strip()
    number = _NUMBER.fullmatch(t)
    try:
        if number:
            mjd = float(number.group(2))
            if not MJD_RANGE[0] <= mjd <= MJD_RANGE[1]:
                raise TimeError(f"MJD {mjd:g} is outside {MJD_RANGE[0]:g}..{MJD_RANGE[1]:g}")
            return Time(mjd, format="mjd", scale="utc").to_datetime(timezone=UTC)
        value = datetime.fromisoformat(t.replace("z", "Z").replace("Z", "+00:00"))
    except (ValueError, OverflowError) as e:
        if isinstance(e, TimeError):
            raise
        raise TimeError(
            f"{t[:40]!r} is not a date: ISO 8601 (2023-03-20 or 2023-03-20T21:16:05Z) or MJD (60023.5)"
        ) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def to_mjd(value: datetime) -> float:
    return float(Time(as_utc(value), scale="utc").mjd)


def as_utc(value: datetime) -> datetime:
    """Naive datetimes from the database are UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def format_utc(value: datetime) -> str:
    """``2023-03-20 21:16:05 UTC``: to the second, as archives print it."""
    return as_utc(value).strftime("%Y-%m-%d %H:%M:%S UTC")
