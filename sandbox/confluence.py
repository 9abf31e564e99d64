"""Confluence Cloud, the slice Augment uses: pages by id with storage bodies, and page
writes so that tests and users can bring their own PRDs.

Served by the Jira sandbox's app under ``/wiki``, as on a real Cloud site:

- v1 ``GET /wiki/rest/api/content/{id}?expand=body.storage,version,space`` — what
  ``atlassian.Confluence(url + "/wiki", cloud=False).get_page_by_id`` calls;
- v2 ``GET /wiki/api/v2/pages/{id}?body-format=storage`` — what ``ConfluenceV2`` calls;
- writes in storage format: v1 ``POST /wiki/rest/api/content`` and
  ``PUT /wiki/rest/api/content/{id}`` (plus ``GET .../{id}/history``, which
  ``Confluence.update_page`` reads first), v2 ``POST /wiki/api/v2/pages`` and
  ``PUT /wiki/api/v2/pages/{id}``. An update must carry version.number = current + 1, else
  409 as Confluence answers; a second page of the same title in the space is a 400;
- the page's Cloud URL ``/wiki/spaces/{KEY}/pages/{id}/{Title}`` (and the older
  ``/wiki/pages/viewpage.action?pageId=``) as a tiny HTML page, open without login so
  the links in demo tickets work in a browser.

Errors use Confluence's shapes (v1 ``statusCode/message/reason``, v2 ``errors[]``).
Bodies come from ``data/*.xml``: real storage format with ``ac:``/``ri:`` elements,
entities and header rows made of ``<th>`` cells instead of ``<thead>``.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from importlib import resources
from typing import Any
from urllib.parse import quote_plus

from aiohttp import web

SPACE_KEY = "AUG"
SPACE_ID = "65538"
SPACE_NAME = "Augment Demo"
_CREATED = datetime(2024, 5, 2, 9, 30, tzinfo=UTC)
_UPDATED = datetime(2024, 5, 14, 16, 5, tzinfo=UTC)


@dataclass(frozen=True)
class ConfluencePage:
    id: str
    title: str
    storage: str
    author_id: str
    version: int
    created: datetime = _CREATED
    updated: datetime = _UPDATED


def demo_pages(author_id: str) -> list[ConfluencePage]:
    """The PRD and RFC behind the demo epic."""
    data = resources.files("sandbox") / "data"
    return [
        ConfluencePage(
            id="98305",
            title="PRD: Self-serve data export",
            storage=(data / "prd-data-export.xml").read_text(encoding="utf-8"),
            author_id=author_id,
            version=4,
        ),
        ConfluencePage(
            id="98306",
            title="RFC: Data export service",
            storage=(data / "rfc-data-export.xml").read_text(encoding="utf-8"),
            author_id=author_id,
            version=2,
        ),
    ]


def page_web_path(page: ConfluencePage) -> str:
    """The Cloud page URL path, relative to the site: ``/wiki/spaces/KEY/pages/ID/Title``."""
    return f"/wiki{_webui(page)}"


def add_confluence_routes(
    app: web.Application, pages: list[ConfluencePage], author_of: Callable[[web.Request], str]
) -> None:
    """Serve ``pages``; writes change that list in place. ``author_of``: the account id of
    the request's (authenticated) user."""

    def find(page_id: str) -> ConfluencePage | None:
        return next((page for page in pages if page.id == page_id), None)

    async def content_v1(request: web.Request) -> web.Response:
        page = find(request.match_info["page_id"])
        if page is None:
            return _v1_not_found(request.match_info["page_id"])
        expand = {part.strip() for part in request.query.get("expand", "").split(",") if part.strip()}
        return _json(_v1_content(page, _site(request), expand))

    async def history_v1(request: web.Request) -> web.Response:
        page = find(request.match_info["page_id"])
        if page is None:
            return _v1_not_found(request.match_info["page_id"])
        return _json(_v1_history(page))

    async def create_v1(request: web.Request) -> web.Response:
        body = await _json_body(request)
        space = (body.get("space") or {}).get("key") if isinstance(body.get("space"), dict) else None
        if space != SPACE_KEY:
            return _v1_error(400, f"No space with key : {space}")
        storage, error = _v1_storage(body)
        if error:
            return _v1_error(400, error)
        title = str(body.get("title") or "")
        if not title:
            return _v1_error(400, "Title is required")
        if any(page.title == title for page in pages):
            return _v1_error(400, _DUPLICATE_TITLE.format(title=title, space=SPACE_KEY))
        page = _new_page(pages, title, storage or "", author_of(request))
        return _json(_v1_content(page, _site(request), {"body.storage", "version", "space"}))

    async def update_v1(request: web.Request) -> web.Response:
        page = find(request.match_info["page_id"])
        if page is None:
            return _v1_not_found(request.match_info["page_id"])
        body = await _json_body(request)
        number = (body.get("version") or {}).get("number") if isinstance(body.get("version"), dict) else None
        if number != page.version + 1:
            message = f"Version must be incremented on update. Current version is: {page.version}"
            return _v1_error(409, message)
        storage, error = _v1_storage(body)
        if error:
            return _v1_error(400, error)
        title = str(body.get("title") or page.title)
        if any(other.title == title and other.id != page.id for other in pages):
            return _v1_error(400, _DUPLICATE_TITLE.format(title=title, space=SPACE_KEY))
        page = _save_version(pages, page, title, storage, author_of(request))
        return _json(_v1_content(page, _site(request), {"body.storage", "version", "space"}))

    async def page_v2(request: web.Request) -> web.Response:
        page = find(request.match_info["page_id"])
        if page is None:
            return _v2_error(404, "NOT_FOUND", "Not Found")
        body_format = request.query.get("body-format", "none")
        if body_format not in ("storage", "none"):
            # The sandbox keeps storage format only; say so rather than convert badly.
            return _v2_error(400, "INVALID_REQUEST_PARAMETER", f"body-format '{body_format}' is not available")
        return _json(_v2_page(page, _site(request), with_body=body_format == "storage"))

    async def create_v2(request: web.Request) -> web.Response:
        body = await _json_body(request)
        if str(body.get("spaceId") or "") != SPACE_ID:
            return _v2_error(404, "NOT_FOUND", "Space not found")
        storage, error = _v2_storage(body)
        title = str(body.get("title") or "")
        if error or not title:
            return _v2_error(400, "INVALID_REQUEST_PARAMETER", error or "title is required")
        if any(page.title == title for page in pages):
            return _v2_error(400, "INVALID_MESSAGE", _DUPLICATE_TITLE.format(title=title, space=SPACE_KEY))
        page = _new_page(pages, title, storage or "", author_of(request))
        return _json(_v2_page(page, _site(request), with_body=True))

    async def update_v2(request: web.Request) -> web.Response:
        page = find(request.match_info["page_id"])
        if page is None:
            return _v2_error(404, "NOT_FOUND", "Not Found")
        body = await _json_body(request)
        number = (body.get("version") or {}).get("number") if isinstance(body.get("version"), dict) else None
        if number != page.version + 1:
            return _v2_error(
                409, "CONFLICT", f"Version must be incremented on update. Current version is: {page.version}"
            )
        storage, error = _v2_storage(body)
        if error:
            return _v2_error(400, "INVALID_REQUEST_PARAMETER", error)
        title = str(body.get("title") or page.title)
        if any(other.title == title and other.id != page.id for other in pages):
            return _v2_error(400, "INVALID_MESSAGE", _DUPLICATE_TITLE.format(title=title, space=SPACE_KEY))
        page = _save_version(pages, page, title, storage, author_of(request))
        return _json(_v2_page(page, _site(request), with_body=True))

    async def web_page(request: web.Request) -> web.Response:
        page = find(request.match_info.get("page_id") or request.query.get("pageId", ""))
        if page is None:
            return web.Response(status=404, text="Page not found", content_type="text/plain")
        return web.Response(text=_html(page), content_type="text/html")

    async def spaces(request: web.Request) -> web.Response:
        links = {"webui": f"/spaces/{SPACE_KEY}", "self": f"{_site(request)}/rest/api/space/{SPACE_KEY}"}
        space = {
            "id": 98304,
            "key": SPACE_KEY,
            "name": SPACE_NAME,
            "type": "global",
            "status": "current",
            "_links": links,
        }
        return _json({"results": [space], "start": 0, "limit": 25, "size": 1, "_links": {"base": _site(request)}})

    app.router.add_get("/wiki/rest/api/space", spaces)
    app.router.add_post("/wiki/rest/api/content", create_v1)
    app.router.add_post("/wiki/rest/api/content/", create_v1)
    app.router.add_get("/wiki/rest/api/content/{page_id}", content_v1)
    app.router.add_put("/wiki/rest/api/content/{page_id}", update_v1)
    app.router.add_get("/wiki/rest/api/content/{page_id}/history", history_v1)
    app.router.add_post("/wiki/api/v2/pages", create_v2)
    app.router.add_get("/wiki/api/v2/pages/{page_id}", page_v2)
    app.router.add_put("/wiki/api/v2/pages/{page_id}", update_v2)
    app.router.add_get("/wiki/spaces/{space}/pages/{page_id}", web_page)
    app.router.add_get("/wiki/spaces/{space}/pages/{page_id}/{title}", web_page)
    app.router.add_get("/wiki/pages/viewpage.action", web_page)


# --- writes -----------------------------------------------------------------------

_DUPLICATE_TITLE = (
    "A page with this title already exists: A page already exists with the title {title} in the space with key {space}"
)
_FIRST_NEW_ID = 131073


def _new_page(pages: list[ConfluencePage], title: str, storage: str, author_id: str) -> ConfluencePage:
    now = datetime.now(UTC)
    next_id = max([_FIRST_NEW_ID - 1, *(int(page.id) for page in pages)]) + 1
    page = ConfluencePage(
        id=str(next_id), title=title, storage=storage, author_id=author_id, version=1, created=now, updated=now
    )
    pages.append(page)
    return page


def _save_version(
    pages: list[ConfluencePage], page: ConfluencePage, title: str, storage: str | None, author_id: str
) -> ConfluencePage:
    """The next version of ``page`` (storage ``None``: the body is kept), stored in its place."""
    saved = replace(
        page,
        title=title,
        storage=page.storage if storage is None else storage,
        author_id=author_id,
        version=page.version + 1,
        updated=datetime.now(UTC),
    )
    pages[pages.index(page)] = saved
    return saved


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _v1_storage(body: dict[str, Any]) -> tuple[str | None, str | None]:
    """The storage value of a v1 body (None: no body given), or an error message."""
    if "body" not in body:
        return None, None
    storage = (body.get("body") or {}).get("storage")
    if not isinstance(storage, dict) or storage.get("representation", "storage") != "storage":
        return None, "The sandbox keeps pages in storage representation only"
    return str(storage.get("value") or ""), None


def _v2_storage(body: dict[str, Any]) -> tuple[str | None, str | None]:
    """The storage value of a v2 body: ``{"representation": "storage", "value"}`` as the API
    documents, or ``{"storage": {"value"}}`` as ``ConfluenceV2`` sends."""
    if "body" not in body:
        return None, None
    given = body.get("body") or {}
    if isinstance(given.get("storage"), dict):
        given = {"representation": "storage", **given["storage"]}
    if given.get("representation") != "storage":
        return None, "The sandbox keeps pages in storage representation only"
    return str(given.get("value") or ""), None


def confluence_unauthorized() -> web.Response:
    return _json(
        {"statusCode": 401, "message": "This request requires authentication.", "reason": "Unauthorized"},
        status=401,
    )


# --- shapes -----------------------------------------------------------------------


def _site(request: web.Request) -> str:
    return f"{request.url.origin()}/wiki"


def _webui(page: ConfluencePage) -> str:
    return f"/spaces/{SPACE_KEY}/pages/{page.id}/{quote_plus(page.title)}"


def _v1_content(page: ConfluencePage, site: str, expand: set[str]) -> dict[str, object]:
    content: dict[str, object] = {"id": page.id, "type": "page", "status": "current", "title": page.title}
    expandable = {
        "container": f"/rest/api/space/{SPACE_KEY}",
        "metadata": "",
        "operations": "",
        "children": f"/rest/api/content/{page.id}/child",
        "history": f"/rest/api/content/{page.id}/history",
        "ancestors": "",
        "descendants": f"/rest/api/content/{page.id}/descendant",
    }
    if "space" in expand:
        content["space"] = {
            "id": int(SPACE_ID),
            "key": SPACE_KEY,
            "name": SPACE_NAME,
            "type": "global",
            "status": "current",
            "_links": {"webui": f"/spaces/{SPACE_KEY}", "self": f"{site}/rest/api/space/{SPACE_KEY}"},
        }
    else:
        expandable["space"] = f"/rest/api/space/{SPACE_KEY}"
    if "version" in expand:
        content["version"] = {
            "by": {"type": "known", "accountId": page.author_id, "accountType": "atlassian"},
            "when": _timestamp(page.updated),
            "number": page.version,
            "minorEdit": False,
        }
    else:
        expandable["version"] = ""
    if "body.storage" in expand or "body" in expand:
        content["body"] = {
            "storage": {
                "value": page.storage,
                "representation": "storage",
                "embeddedContent": [],
                "_expandable": {"content": f"/rest/api/content/{page.id}"},
            },
            "_expandable": {"editor": "", "atlas_doc_format": "", "view": "", "export_view": "", "styled_view": ""},
        }
    else:
        expandable["body"] = ""
    content["_expandable"] = expandable
    content["_links"] = {
        "webui": _webui(page),
        "edit": f"/pages/resumedraft.action?draftId={page.id}",
        "tinyui": f"/x/{page.id}",
        "collection": "/rest/api/content",
        "base": site,
        "context": "/wiki",
        "self": f"{site}/rest/api/content/{page.id}",
    }
    return content


def _v2_page(page: ConfluencePage, site: str, *, with_body: bool) -> dict[str, object]:
    return {
        "id": page.id,
        "status": "current",
        "title": page.title,
        "spaceId": SPACE_ID,
        "parentId": None,
        "parentType": None,
        "position": int(page.id) % 1000,
        "authorId": page.author_id,
        "ownerId": page.author_id,
        "lastOwnerId": None,
        "createdAt": _timestamp(page.created),
        "version": {
            "createdAt": _timestamp(page.updated),
            "message": "",
            "number": page.version,
            "minorEdit": False,
            "authorId": page.author_id,
        },
        "body": {"storage": {"representation": "storage", "value": page.storage}} if with_body else {},
        "_links": {
            "webui": _webui(page),
            "editui": f"/pages/resumedraft.action?draftId={page.id}",
            "tinyui": f"/x/{page.id}",
            "base": site,
        },
    }


def _v1_history(page: ConfluencePage) -> dict[str, object]:
    by = {"type": "known", "accountId": page.author_id, "accountType": "atlassian"}
    return {
        "latest": True,
        "createdBy": by,
        "createdDate": _timestamp(page.created),
        "lastUpdated": {"by": by, "when": _timestamp(page.updated), "number": page.version, "minorEdit": False},
    }


def _timestamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _v1_error(status: int, message: str) -> web.Response:
    reasons = {400: "Bad Request", 409: "Conflict"}
    return _json({"statusCode": status, "message": message, "reason": reasons[status]}, status=status)


def _v1_not_found(page_id: str) -> web.Response:
    return _json(
        {
            "statusCode": 404,
            "data": {"authorized": True, "valid": True, "errors": [], "successful": True},
            "message": f"No content found with id: ContentId{{id={page_id}}}",
            "reason": "Not Found",
        },
        status=404,
    )


def _v2_error(status: int, code: str, title: str) -> web.Response:
    return _json({"errors": [{"status": status, "code": code, "title": title, "detail": None}]}, status=status)


def _json(data: object, status: int = 200) -> web.Response:
    return web.Response(body=json.dumps(data).encode(), status=status, content_type="application/json")


def _html(page: ConfluencePage) -> str:
    # Storage XML is close enough to XHTML for a browser to show headings and tables.
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(page.title)} - {SPACE_NAME} - Confluence</title></head>"
        f"<body><h1>{html.escape(page.title)}</h1>{page.storage}</body></html>"
    )
