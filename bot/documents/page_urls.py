"""Confluence page URL → page id, without a network call.

Cloud page links carry the numeric content id in the path; older and Data Center links
carry it as ``?pageId=``. Short links (``/wiki/x/AbCd``) encode the id in a way that only
the server resolves (a redirect), so they are recognised but yield no id.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

# /spaces/KEY/pages/123, /spaces/KEY/pages/123/Title, /spaces/KEY/pages/edit-v2/123,
# /spaces/KEY/blog/2024/05/01/123/Title. KEY may be a personal space (~accountid).
_SPACE_PAGE = re.compile(r"/spaces/[^/]+/pages/(?:edit(?:-v2)?/)?([0-9]+)(?:/|$)")
_SPACE_BLOG = re.compile(r"/spaces/[^/]+/blog/[0-9]{4}/[0-9]{2}/[0-9]{2}/([0-9]+)(?:/|$)")
# viewpage.action, editpage.action, ... — any *.action page taking ?pageId=.
_ACTION = re.compile(r"/pages/[a-z]+\.action$")
_TINY = re.compile(r"(?:^|/)x/[A-Za-z0-9_-]+/?$")


def page_id_from_url(url: str) -> str | None:
    """The Confluence content id a page URL points at, or ``None`` if it has none."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    path = parts.path
    for pattern in (_SPACE_PAGE, _SPACE_BLOG):
        found = pattern.search(path)
        if found:
            return found.group(1)
    if _ACTION.search(path):
        ids = parse_qs(parts.query).get("pageId", [])
        if len(ids) == 1 and ids[0].isascii() and ids[0].isdigit():
            return ids[0]
    return None


def is_tiny_link(url: str) -> bool:
    """A Confluence short link (``/wiki/x/AbCd``): a page, but its id needs the server."""
    parts = urlsplit(url.strip())
    return parts.scheme in ("http", "https") and bool(_TINY.search(parts.path))
