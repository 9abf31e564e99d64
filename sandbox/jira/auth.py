"""Basic auth with e-mail and API token on every call, and three permission levels.

Without credentials, or with wrong ones, Jira Cloud answers 401; a known user who
lacks a permission gets 403. ``serverInfo`` is readable anonymously, as on Cloud, and
so are Confluence page links opened in a browser.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Literal

from aiohttp import web

from sandbox.confluence import confluence_unauthorized
from sandbox.jira.errors import JiraError
from sandbox.jira.http import jira_json
from sandbox.jira.model import User
from sandbox.jira.site import Site

Permission = Literal["browse", "write", "administer"]
USER_KEY = web.RequestKey("user", User)

_ALLOWED: dict[str, set[Permission]] = {
    "admin": {"browse", "write", "administer"},
    "member": {"browse", "write"},
    "viewer": {"browse"},
}
_ANONYMOUS_PREFIXES = ("/_sandbox/", "/wiki/spaces/", "/wiki/pages/")


def _is_anonymous_path(path: str) -> bool:
    return path.startswith(_ANONYMOUS_PREFIXES) or (path.startswith("/rest/api/") and path.endswith("/serverInfo"))


def credentials(request: web.Request) -> tuple[str, str] | None:
    header = request.headers.get("Authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        email, separator, token = base64.b64decode(encoded.strip()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (email, token) if separator else None


def auth_middleware(site_of: Any) -> Any:
    """``site_of()`` returns the current ``Site`` (it is replaced on reset)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
        if _is_anonymous_path(request.path):
            return await handler(request)
        given = credentials(request)
        site: Site = site_of()
        user = site.authenticate(*given) if given else None
        if user is None:
            if request.path.startswith("/wiki/"):
                return confluence_unauthorized()
            headers = {"X-Seraph-LoginReason": "AUTHENTICATED_FAILED"} if given else {}
            return jira_json(
                {
                    "errorMessages": ["You are not authenticated. Authentication required to perform this operation."],
                    "errors": {},
                },
                status=401,
                headers=headers,
            )
        request[USER_KEY] = user
        return await handler(request)

    return middleware


def current_user(request: web.Request) -> User:
    return request[USER_KEY]


def require(request: web.Request, permission: Permission, message: str | None = None) -> User:
    """The caller, if allowed to do ``permission``; otherwise 403 as Jira answers."""
    user = current_user(request)
    if permission not in _ALLOWED[user.role]:
        default = {
            "write": "You do not have permission to perform this operation on this project.",
            "administer": "You do not have permission to administer Jira.",
            "browse": "You do not have permission to browse this project.",
        }[permission]
        raise JiraError(403, message or default)
    return user
