"""Confluence Cloud, the read-only slice Augment uses: pages by id with storage bodies.

Served by the Jira sandbox's app under ``/wiki``, as on a real Cloud site:

- v1 ``GET /wiki/rest/api/content/{id}?expand=body.storage,version,space`` — what
  ``atlassian.Confluence(url + "/wiki", cloud=False).get_page_by_id`` calls;
- v2 ``GET /wiki/api/v2/pages/{id}?body-format=storage`` — what ``ConfluenceV2`` calls;
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
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
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


def add_confluence_routes(app: web.Application, pages: list[ConfluencePage]) -> None:
    by_id = {page.id: page for page in pages}

    async def content_v1(request: web.Request) -> web.Response:
        page = by_id.get(request.match_info["page_id"])
        if page is None:
            return _v1_not_found(request.match_info["page_id"])
        expand = {part.strip() for part in request.query.get("expand", "").split(",") if part.strip()}
        return _json(_v1_content(page, _site(request), expand))

    async def page_v2(request: web.Request) -> web.Response:
        page = by_id.get(request.match_info["page_id"])
        if page is None:
            return _v2_error(404, "NOT_FOUND", "Not Found")
        body_format = request.query.get("body-format", "none")
        if body_format not in ("storage", "none"):
            # The sandbox keeps storage format only; say so rather than convert badly.
            return _v2_error(400, "INVALID_REQUEST_PARAMETER", f"body-format '{body_format}' is not available")
        return _json(_v2_page(page, _site(request), with_body=body_format == "storage"))

    async def web_page(request: web.Request) -> web.Response:
        page_id = request.match_info.get("page_id") or request.query.get("pageId", "")
        page = by_id.get(page_id)
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
    app.router.add_get("/wiki/rest/api/content/{page_id}", content_v1)
    app.router.add_get("/wiki/api/v2/pages/{page_id}", page_v2)
    app.router.add_get("/wiki/spaces/{space}/pages/{page_id}", web_page)
    app.router.add_get("/wiki/spaces/{space}/pages/{page_id}/{title}", web_page)
    app.router.add_get("/wiki/pages/viewpage.action", web_page)


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
            "when": _UPDATED.isoformat().replace("+00:00", "Z"),
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
        "createdAt": _CREATED.isoformat().replace("+00:00", "Z"),
        "version": {
            "createdAt": _UPDATED.isoformat().replace("+00:00", "Z"),
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
