"""Whether a delivery is recent enough to act on, by the `timestamp` Jira put in its payload.

The signature covers the body but says nothing about when it was made, so a captured
delivery could otherwise be replayed forever. A delivery whose `timestamp` is more than
`webhooks.max_age_minutes` old (default 120: longer than Jira's ~75 minutes of retries)
or more than `webhooks.max_future_minutes` ahead (clock skew) is refused. The window is
never longer than `webhooks.dedupe_hours`, so a replayed body is either still remembered
by the event consumers (`bot.webhooks.deliveries`), which drop it, or already stale.

Every event Jira sends carries `timestamp`; a body without one is a 422 of the event
model itself, before this check.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.config import WebhookSettings


class StaleWebhookError(Exception):
    """The delivery's timestamp is outside the accepted window; the message says which way."""


def check_timestamp(occurred_at: datetime, now: datetime, settings: WebhookSettings) -> None:
    """Return if `occurred_at` is inside the window around `now` (or the check is off), else raise
    StaleWebhookError."""
    if not settings.check_timestamp:
        return
    age = now - occurred_at
    if age > timedelta(minutes=settings.max_age_minutes):
        raise StaleWebhookError(
            f"timestamp is {_minutes(age)} minutes old; deliveries older than "
            f"{settings.max_age_minutes:g} minutes (webhooks.max_age_minutes) are refused"
        )
    if -age > timedelta(minutes=settings.max_future_minutes):
        raise StaleWebhookError(
            f"timestamp is {_minutes(-age)} minutes in the future; more than "
            f"{settings.max_future_minutes:g} minutes (webhooks.max_future_minutes) is refused"
        )


def _minutes(span: timedelta) -> str:
    return f"{span.total_seconds() / 60:.0f}"
