"""Small request/response helpers shared by the route modules."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from sandbox.jira.errors import JiraError

JSON_CONTENT_TYPE = "application/json;charset=UTF-8"


def jira_json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """JSON with the content type Jira sends (atlassian-python-api checks it on 401)."""
    return web.Response(
        body=json.dumps(data).encode(), status=status, headers={"Content-Type": JSON_CONTENT_TYPE, **(headers or {})}
    )


def no_content() -> web.Response:
    return web.Response(status=204)


async def read_json(request: web.Request) -> Any:
    text = await request.text()
    if not text.strip():
        raise JiraError(400, "No content to map to Object due to end of input")
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise JiraError(400, f"Unexpected character in JSON body: {error.msg} at position {error.pos}") from None


def site_base(request: web.Request) -> str:
    """The site URL as the client reached it; ``self`` links are built on it."""
    return str(request.url.origin())


def query_int(request: web.Request, name: str, default: int, *, minimum: int = 0) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise JiraError(400, f"The '{name}' parameter must be a number.") from None
    if value < minimum:
        raise JiraError(400, f"The '{name}' parameter must be at least {minimum}.")
    return value


def query_list(request: web.Request, name: str) -> list[str]:
    """A list parameter given repeated (``a=1&a=2``) or comma-separated (``a=1,2``)."""
    return [part for value in request.query.getall(name, []) for part in value.split(",") if part.strip()]
