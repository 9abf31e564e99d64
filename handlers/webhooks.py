"""`POST /webhooks/jira`: Jira's webhooks in, events on `AUGMENT_EVENTS` out, in milliseconds.

The sender is checked first (signature or URL token, 401 otherwise), then the body
(400 malformed, 422 unsupported or incomplete: Jira does not retry 4xx), then its
`timestamp` (422 outside the window of `bot.webhooks.freshness`), then the delivery is
published once (`bot.webhooks.intake`: once per body, whatever its identifier). Nothing
else happens in the request; `pipelines/triggers` does the work.
"""

from __future__ import annotations

import time

import structlog
from aiohttp import web

from bot import metrics
from bot.http.routes import ApiError, FieldInvalidError, RouteTable, json_response
from bot.services import SERVICES, services
from bot.webhooks.freshness import StaleWebhookError, check_timestamp
from bot.webhooks.signature import WebhookRefusedError, check_sender
from schemas.webhooks import JiraWebhook, WebhookAccepted

log = structlog.get_logger(__name__)

routes = RouteTable("webhooks")

IDENTIFIER = "X-Atlassian-Webhook-Identifier"


def _check_sender(request: web.Request, body: bytes) -> None:
    if SERVICES not in request.app:
        raise ApiError(503, "Augment is starting; try again shortly")
    settings = services(request).settings.webhooks
    try:
        check_sender(settings, body, request.headers.get("X-Hub-Signature"), request.query.get("token"))
    except WebhookRefusedError as refused:
        metrics.webhook("unknown", "refused").inc()  # the body is not read before the sender is known
        log.warning("webhook refused", reason=str(refused), identifier=request.headers.get(IDENTIFIER))
        raise ApiError(401, f"Webhook refused: {refused}") from None


@routes.post(
    "/webhooks/jira",
    body=JiraWebhook,
    response=WebhookAccepted,
    status=202,
    public=True,
    raw_check=_check_sender,
    responses={
        200: ("Seen before (a retry, or the same body under another identifier): nothing published", WebhookAccepted),
        401: ("Bad or missing X-Hub-Signature / URL token", None),
        422: ("Unsupported or incomplete event, or `timestamp` outside the accepted window", None),
        503: ("NATS is unreachable: Jira retries later", None),
    },
    summary="Receive a Jira webhook",
)
async def jira_webhook(request: web.Request, body: JiraWebhook) -> web.Response:
    """For Jira's admin webhooks (Settings → System → WebHooks): the URL
    `https://augment.example.com/webhooks/jira`, with a secret (`webhooks.secret`), or
    `...?token=` (`webhooks.url_token`) where a secret cannot be set. Answers `202` at once;
    a delivery with an `X-Atlassian-Webhook-Identifier` or a body seen before answers
    `200 duplicate`; a `timestamp` older than `webhooks.max_age_minutes` (or too far ahead)
    is `422`."""
    started = time.perf_counter()
    event = body.root
    service = services(request)
    try:
        check_timestamp(event.occurred_at, service.runtime.clock.now(), service.settings.webhooks)
    except StaleWebhookError as stale:
        metrics.webhook(event.webhook_event, "refused").inc()
        log.warning(
            "webhook refused",
            reason=str(stale),
            webhook_event=event.webhook_event,
            ticket_key=event.ticket_key,
            identifier=request.headers.get(IDENTIFIER),
        )
        raise FieldInvalidError(("body", event.webhook_event, "timestamp"), str(stale), event.timestamp) from None
    intake = await service.webhooks.accept(event.webhook_event, await request.read(), request.headers.get(IDENTIFIER))
    metrics.WEBHOOK_INTAKE.observe(time.perf_counter() - started)
    metrics.webhook(event.webhook_event, "duplicate" if intake.duplicate else "accepted").inc()
    answer = WebhookAccepted(
        status="duplicate" if intake.duplicate else "accepted",
        identifier=intake.identifier,
        webhook_event=event.webhook_event,
        ticket_key=event.ticket_key,
    )
    if not intake.duplicate:
        log.info("webhook accepted", webhook_event=event.webhook_event, ticket_key=event.ticket_key)
    return json_response(answer, 200 if intake.duplicate else 202)
