"""The sandbox's sense of time, and the two date formats Jira speaks.

Tests move the clock (``/_sandbox/clock``) instead of sleeping, so "now" is always
read through a ``Clock``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        # Jira keeps milliseconds; dropping the rest keeps round trips exact.
        moment = datetime.now(UTC) + self.offset
        return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def platform_time(moment: datetime) -> str:
    """REST platform format: ``2019-02-27T14:30:19.009+0000``."""
    return f"{_seconds(moment)}.{moment.microsecond // 1000:03d}+0000"


def agile_time(moment: datetime) -> str:
    """Agile format: ``2015-04-11T15:22:00.000+00:00``."""
    return f"{_seconds(moment)}.{moment.microsecond // 1000:03d}+00:00"


def _seconds(moment: datetime) -> str:
    # Not strftime("%Y"): glibc writes the year 1 as "1", and Jira as "0001".
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")


def epoch_millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def parse_time(text: str) -> datetime:
    """Parse the ISO 8601 forms clients send (``Z``, ``+10:00``, ``+1000``, a bare date).

    Raises ValueError for anything else. A time without a zone is taken as UTC, the
    sandbox's only time zone.
    """
    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
