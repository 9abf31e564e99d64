"""The Jira (and Confluence) sandbox as one aiohttp application.

Middlewares, outermost first: request counting, Jira-shaped errors, faults, auth,
the lagging search index (``sandbox.jira.search_index``), snapshot saving.
Routes: see ``routes/`` and ``sandbox.confluence``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp import web

from sandbox.confluence import add_confluence_routes
from sandbox.jira.auth import auth_middleware, current_user
from sandbox.jira.errors import JiraError
from sandbox.jira.faults import ADMIN_PREFIX
from sandbox.jira.http import jira_json
from sandbox.jira.routes import (
    admin,
    agile,
    attachments,
    comments,
    issues,
    links,
    platform,
    search,
    webhooks,
)
from sandbox.jira.search_index import SEARCH_INDEX, SearchIndex
from sandbox.jira.state import STATE, JiraState

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def build_jira_app(state: JiraState) -> web.Application:
    index = SearchIndex()
    app = web.Application(
        middlewares=[
            _counting(state),
            _errors,
            state.faults.middleware,
            auth_middleware(lambda: state.site),
            _indexing(state, index),
            _saving(state),
        ]
    )
    app[STATE] = state
    app[SEARCH_INDEX] = index
    for area in (platform, issues, comments, attachments, links, search, agile, webhooks, admin):
        area.add_routes(app)
    add_confluence_routes(app, state.pages, lambda request: current_user(request).account_id)
    app.on_cleanup.append(_close_dispatcher)
    return app


async def _close_dispatcher(app: web.Application) -> None:
    await app[STATE].dispatcher.close()


def _counting(state: JiraState) -> Any:
    @web.middleware
    async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path.startswith(ADMIN_PREFIX):
            return await handler(request)
        route = request.match_info.route.resource
        name = f"{request.method} {route.canonical if route is not None else request.path}"
        try:
            response = await handler(request)
        except web.HTTPException as error:
            state.request_counts.update([name, f"status {error.status}"])
            raise
        state.request_counts.update([name, f"status {response.status}"])
        return response

    return middleware


@web.middleware
async def _errors(request: web.Request, handler: Any) -> web.StreamResponse:
    """``JiraError`` → Jira's error body; unknown REST paths → Jersey's 404/405 body."""
    try:
        return await handler(request)
    except JiraError as error:
        return jira_json(error.body(), status=error.status)
    except web.HTTPException as error:
        if error.status in (404, 405) and request.path.startswith("/rest/"):
            return jira_json(
                {"message": f"null for uri: {request.url}", "status-code": error.status}, status=error.status
            )
        raise


def _indexing(state: JiraState, index: SearchIndex) -> Any:
    @web.middleware
    async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
        if request.method in _READ_METHODS:
            return await handler(request)
        index.before_write(state.site, _lag(state))
        response = await handler(request)
        if response.status < 400:
            index.after_write(state.site, _lag(state), state.clock.now())
        return response

    return middleware


def _lag(state: JiraState) -> timedelta:
    return timedelta(milliseconds=state.fault_settings.search_lag_ms)


def _saving(state: JiraState) -> Any:
    @web.middleware
    async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
        response = await handler(request)
        if request.method not in _READ_METHODS and response.status < 400:
            state.save()
        return response

    return middleware
