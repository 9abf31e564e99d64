"""Admin webhooks, ``/rest/webhooks/1.0/webhook``: register, list, read, update and
delete. Registering needs the Jira administrator permission, as in Jira.

Body: ``{"name", "url", "events": [...], "filters": {"issue-related-events-section":
"<JQL>"}?, "secret"?, "enabled"?}``. Bodies are always sent (no ``excludeBody``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from aiohttp import web

from sandbox.jira.auth import require
from sandbox.jira.clock import epoch_millis
from sandbox.jira.errors import JiraError
from sandbox.jira.http import jira_json, no_content, read_json, site_base
from sandbox.jira.model import Webhook
from sandbox.jira.search import compile_query
from sandbox.jira.shapes import Json
from sandbox.jira.state import JiraState, state_of

WEBHOOKS = "/rest/webhooks/1.0/webhook"
KNOWN_EVENTS = frozenset(
    {
        "jira:issue_created",
        "jira:issue_updated",
        "jira:issue_deleted",
        "comment_created",
        "comment_updated",
        "comment_deleted",
        "issuelink_created",
        "issuelink_deleted",
        "sprint_created",
        "sprint_updated",
        "sprint_deleted",
        "sprint_started",
        "sprint_closed",
    }
)
JQL_FILTER = "issue-related-events-section"


async def list_webhooks(request: web.Request) -> web.Response:
    require(request, "administer")
    state = state_of(request)
    return jira_json([_bean(request, state, webhook) for webhook in state.site.data.webhooks])


async def create_webhook(request: web.Request) -> web.Response:
    actor = require(request, "administer")
    state = state_of(request)
    settings = _settings(state, await read_json(request))
    webhook = Webhook(
        id=state.site.next_id("webhook"), updated=state.clock.now(), updated_by_id=actor.account_id, **settings
    )
    state.site.data.webhooks.append(webhook)
    return jira_json(_bean(request, state, webhook), status=201)


async def get_webhook(request: web.Request) -> web.Response:
    require(request, "administer")
    state = state_of(request)
    return jira_json(_bean(request, state, _find(state, request)))


async def update_webhook(request: web.Request) -> web.Response:
    actor = require(request, "administer")
    state = state_of(request)
    webhook = _find(state, request)
    for name, value in _settings(state, await read_json(request)).items():
        setattr(webhook, name, value)
    webhook.updated, webhook.updated_by_id = state.clock.now(), actor.account_id
    return jira_json(_bean(request, state, webhook))


async def delete_webhook(request: web.Request) -> web.Response:
    require(request, "administer")
    state = state_of(request)
    state.site.data.webhooks.remove(_find(state, request))
    return no_content()


def _settings(state: JiraState, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise JiraError(400, "Request body must be a JSON object.")
    errors: dict[str, str] = {}
    name, url, events = body.get("name"), body.get("url"), body.get("events")
    if not isinstance(name, str) or not name.strip():
        errors["name"] = "The webhook name must be specified."
    parsed = urlparse(url) if isinstance(url, str) else None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.netloc:
        errors["url"] = "The webhook URL must be an absolute http(s) URL."
    if not isinstance(events, list) or not events or not all(isinstance(e, str) for e in events):
        errors["events"] = "At least one event must be specified."
    elif unknown := sorted(set(events) - KNOWN_EVENTS):
        errors["events"] = f"Unknown webhook event '{unknown[0]}'."
    filters = body.get("filters") or {}
    jql = filters.get(JQL_FILTER) if isinstance(filters, dict) else None
    if jql:
        try:
            compile_query(state.site, str(jql), state.clock.now())
        except JiraError as error:
            errors["filters"] = f"Invalid JQL filter: {error}"
    secret = body.get("secret")
    if secret is not None and not isinstance(secret, str):
        errors["secret"] = "The secret must be a string."
    if errors:
        raise JiraError(400, errors=errors)
    assert isinstance(name, str) and isinstance(events, list), "checked above: a wrong one is in errors"
    return {
        "name": name.strip(),
        "url": url,
        "events": list(dict.fromkeys(events)),
        "jql": jql or None,
        "secret": secret or None,
        "enabled": bool(body.get("enabled", True)),
    }


def _find(state: JiraState, request: web.Request) -> Webhook:
    raw = request.match_info["webhook_id"]
    webhook = state.site.webhook(int(raw)) if raw.isdigit() else None
    if webhook is None:
        raise JiraError(404, f"Webhook with id {raw} does not exist.")
    return webhook


def _bean(request: web.Request, state: JiraState, webhook: Webhook) -> Json:
    author = state.site.user(webhook.updated_by_id)
    filters = {JQL_FILTER: webhook.jql} if webhook.jql else {}
    # The secret is write-only, as in Jira's admin screen.
    return {
        "name": webhook.name,
        "url": webhook.url,
        "excludeBody": False,
        "filters": filters,
        "events": webhook.events,
        "enabled": webhook.enabled,
        "self": f"{site_base(request)}{WEBHOOKS}/{webhook.id}",
        "lastUpdatedUser": webhook.updated_by_id,
        "lastUpdatedDisplayName": author.display_name if author else "",
        "lastUpdated": epoch_millis(webhook.updated),
    }


def add_routes(app: web.Application) -> None:
    router = app.router
    router.add_get(WEBHOOKS, list_webhooks)
    router.add_post(WEBHOOKS, create_webhook)
    router.add_get(f"{WEBHOOKS}/{{webhook_id}}", get_webhook)
    router.add_put(f"{WEBHOOKS}/{{webhook_id}}", update_webhook)
    router.add_delete(f"{WEBHOOKS}/{{webhook_id}}", delete_webhook)
