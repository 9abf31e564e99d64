"""Search by JQL: the enhanced ``/search/jql`` (GET and POST, ``nextPageToken`` paging,
no ``total``, ``id`` only by default), the approximate count, and the removed
``/search`` that Jira Cloud answers with 410. Both searches read the lagging index
(``sandbox.jira.search_index``): matching and the returned issues alike."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import timedelta
from typing import Any

from aiohttp import web

from sandbox.jira.auth import require
from sandbox.jira.errors import JiraError
from sandbox.jira.http import jira_json, query_list, read_json
from sandbox.jira.issue_shape import FieldSelection, issue_bean
from sandbox.jira.model import Issue
from sandbox.jira.routes import API
from sandbox.jira.search import find_issues
from sandbox.jira.search_index import SEARCH_INDEX
from sandbox.jira.state import state_of

# Jira serves up to 5000 ids per page, fewer when whole issues are asked for.
MAX_IDS_PER_PAGE = 5000
MAX_ISSUES_PER_PAGE = 100
REMOVED_SEARCH = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
    "A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"
)


async def search_get(request: web.Request) -> web.Response:
    query = request.query
    return _search(
        request,
        {
            "jql": query.get("jql", ""),
            "nextPageToken": query.get("nextPageToken"),
            "maxResults": query.get("maxResults"),
            "fields": query_list(request, "fields"),
            "expand": query.get("expand", ""),
        },
    )


async def search_post(request: web.Request) -> web.Response:
    body = await read_json(request)
    if not isinstance(body, dict):
        raise JiraError(400, "Request body must be a JSON object.")
    return _search(request, body)


def _search(request: web.Request, params: dict[str, Any]) -> web.Response:
    actor = require(request, "browse")
    state = state_of(request)
    jql = params.get("jql") or ""
    if not isinstance(jql, str):
        raise JiraError(400, "The 'jql' parameter must be a string.")
    fields = params.get("fields") or []
    selection = FieldSelection.parse([fields] if isinstance(fields, str) else [str(f) for f in fields], default="id")
    expand = params.get("expand") or ""
    expand_set = {part.strip() for part in (expand.split(",") if isinstance(expand, str) else expand) if part}
    limit_cap = MAX_IDS_PER_PAGE if selection.ids_only else MAX_ISSUES_PER_PAGE
    limit = max(1, min(_max_results(params.get("maxResults")), limit_cap))
    start = _read_token(params.get("nextPageToken"), jql)

    issues = _found(request, jql, actor.account_id)
    page = issues[start : start + limit]
    view = state.view(request)
    body: dict[str, Any] = {"issues": [issue_bean(view, issue, selection, expand_set) for issue in page]}
    if start + limit < len(issues):
        body["nextPageToken"] = _make_token(start + limit, jql)
    body["isLast"] = start + limit >= len(issues)
    return jira_json(body)


async def approximate_count(request: web.Request) -> web.Response:
    actor = require(request, "browse")
    body = await read_json(request)
    jql = body.get("jql", "") if isinstance(body, dict) else ""
    return jira_json({"count": len(_found(request, str(jql), actor.account_id))})


def _found(request: web.Request, jql: str, account_id: str) -> list[Issue]:
    state = state_of(request)
    now = state.clock.now()
    lag = timedelta(milliseconds=state.fault_settings.search_lag_ms)
    seen = request.app[SEARCH_INDEX].visible(state.site, lag, now)
    return find_issues(state.site, jql, now, account_id, seen)


async def removed_search(request: web.Request) -> web.Response:
    raise JiraError(410, REMOVED_SEARCH)


def _max_results(raw: Any) -> int:
    if raw is None or raw == "":
        return 50
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise JiraError(400, "The 'maxResults' parameter must be a number.") from None
    if value < 0:
        raise JiraError(400, "The 'maxResults' parameter must not be negative.")
    return value


def _fingerprint(jql: str) -> str:
    return hashlib.sha256(jql.encode()).hexdigest()[:12]


def _make_token(offset: int, jql: str) -> str:
    # Opaque to clients; it remembers where the page ends and which query it belongs to.
    raw = json.dumps({"o": offset, "q": _fingerprint(jql)}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _read_token(token: Any, jql: str) -> int:
    if not token:
        return 0
    try:
        decoded = json.loads(base64.urlsafe_b64decode(str(token) + "=" * (-len(str(token)) % 4)))
        offset, fingerprint = int(decoded["o"]), decoded["q"]
    except (ValueError, KeyError, TypeError):
        raise JiraError(400, "The provided next page token is invalid.") from None
    if fingerprint != _fingerprint(jql) or offset < 0:
        raise JiraError(400, "The provided next page token does not belong to this query.")
    return offset


def add_routes(app: web.Application) -> None:
    router = app.router
    router.add_get(f"{API}/search/jql", search_get)
    router.add_post(f"{API}/search/jql", search_post)
    router.add_post(f"{API}/search/approximate-count", approximate_count)
    router.add_get(f"{API}/search", removed_search)
    router.add_post(f"{API}/search", removed_search)
