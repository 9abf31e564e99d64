"""Read a PRD/RFC Confluence page by its URL, as clean text, once per job.

atlassian-python-api's ``Confluence(..., cloud=False)`` is used because its Cloud class
lacks ``get_page_by_id``; the v1 content endpoint it calls is served by Cloud too. The
client is synchronous, so calls run on a thread (or a given executor), and the storage
→ text conversion runs there as well: a large page should not stall the event loop.

One reader serves one job: a batch describing 200 tickets of one epic reads its PRD
once. Failures that will not change within a job (no such page, no permission) are
remembered too; a timeout, a rate limit or a server error is not, so a later read tries
again.

Links are matched by the site people browse, which need not be the API's address: with a
scoped API token or a service account the API is the gateway
``https://api.atlassian.com/ex/confluence/<cloudId>``, while PRD links stay on
``https://<site>.atlassian.net/wiki/...``; such a link is read through the gateway.
"""

from __future__ import annotations

import asyncio
import math
import re
import threading
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, TypeVar
from urllib.parse import urlsplit, urlunsplit

import requests

from bot.config import Settings
from bot.documents.page_urls import is_tiny_link, page_id_from_url
from bot.documents.storage_text import storage_to_text

if TYPE_CHECKING:
    from atlassian import Confluence

T = TypeVar("T")

Reason = Literal["not_a_page_url", "other_site", "not_found", "no_permission", "rate_limited", "unreachable", "failed"]


@dataclass(frozen=True)
class Document:
    url: str
    page_id: str
    title: str
    text: str  # cleaned by storage_to_text, not yet cut to a budget
    storage: str = field(default="", repr=False)  # the page's storage format, for readers of its structure


class DocumentError(Exception):
    """Why a document could not be read; the message names it and is safe to show users."""

    def __init__(self, url: str, reason: Reason, detail: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"Cannot read the document {url}: {detail}")


@dataclass(frozen=True)
class _Page:
    page_id: str
    title: str
    text: str
    storage: str


@dataclass(frozen=True)
class _Failure:
    reason: Reason
    detail: str
    # Worth trying again later in the same job (timeouts, rate limits, 5xx).
    transient: bool


class DocumentReader:
    def __init__(
        self,
        url: str,
        email: str,
        token: str,
        *,
        site_url: str = "",
        timeout: float = 30.0,
        executor: Executor | None = None,
    ) -> None:
        """``url``: where the API is (``https://acme.atlassian.net``, or a gateway URL
        ``https://api.atlassian.com/ex/confluence/<cloudId>``); ``site_url``: the site whose
        page links are read (empty: ``url``'s site, or any ``*.atlassian.net`` site behind a
        gateway); ``timeout``: seconds per HTTP call, rounded up to whole seconds."""
        self._site = _site_root(url)
        self._links_site = _site_root(site_url) if site_url else ""
        self._executor = executor
        self._credentials = (email, token)
        # The client keeps whole seconds (and rejects 0): round up.
        self._timeout = max(1, math.ceil(timeout))
        self._confluence: Confluence | None = None  # made by the first read (`_client`)
        self._making_client = threading.Lock()  # reads run on several threads at once
        self._fetches: dict[str, asyncio.Task[_Page | _Failure]] = {}

    async def read(self, page_url: str) -> Document:
        shown = _without_credentials(page_url.strip())
        page_id = self.check_link(page_url)
        fetch = self._fetches.get(page_id)
        if fetch is None:
            fetch = asyncio.create_task(self._fetch(page_id))
            self._fetches[page_id] = fetch
        # Shielded: one caller giving up must not cancel the fetch others are waiting for.
        outcome = await asyncio.shield(fetch)
        if isinstance(outcome, _Failure):
            raise DocumentError(shown, outcome.reason, outcome.detail)
        return Document(
            url=shown, page_id=outcome.page_id, title=outcome.title, text=outcome.text, storage=outcome.storage
        )

    def check_link(self, page_url: str) -> str:
        """The page id of a link this reader reads, without a network call; else DocumentError."""
        shown = _without_credentials(page_url.strip())
        page_id = page_id_from_url(page_url)
        if page_id is None:
            if is_tiny_link(page_url):
                detail = (
                    "it is a Confluence short link (/wiki/x/...), which only Confluence can resolve; "
                    "use the page's full URL (.../wiki/spaces/KEY/pages/<id>/...)"
                )
            else:
                detail = "it is not a Confluence page URL (expected .../wiki/spaces/KEY/pages/<id>/...)"
            raise DocumentError(shown, "not_a_page_url", detail)
        if not self._our_link(page_url):
            raise DocumentError(
                shown,
                "other_site",
                f"it is on another site; Augment reads Confluence pages from {self._shown_site} only",
            )
        return page_id

    @classmethod
    def from_settings(cls, settings: Settings) -> DocumentReader:
        """The reader for the configured Confluence (the `confluence` keys, else `jira`'s)."""
        confluence, jira = settings.confluence, settings.jira
        return cls(
            confluence_api_url(confluence.url, jira.url),
            confluence.email or jira.email,
            confluence.token.get_secret_value() or jira.token.get_secret_value(),
            site_url=confluence.site_url,
        )

    def _our_link(self, page_url: str) -> bool:
        """On `site_url`; without one, on the API's site, or on any Cloud site behind a gateway."""
        if self._links_site:
            return _same_site(page_url, self._links_site)
        if _is_gateway(self._site):
            return (urlsplit(page_url.strip()).hostname or "").lower().endswith(CLOUD_SITE_SUFFIX)
        return _same_site(page_url, self._site)

    @property
    def _shown_site(self) -> str:
        if self._links_site or not _is_gateway(self._site):
            return self._links_site or self._site
        return f"Atlassian Cloud sites (*{CLOUD_SITE_SUFFIX})"

    async def _fetch(self, page_id: str) -> _Page | _Failure:
        try:
            outcome = await self._in_thread(self._load, page_id)
        except BaseException:
            self._fetches.pop(page_id, None)
            raise
        if isinstance(outcome, _Failure) and outcome.transient:
            self._fetches.pop(page_id, None)
        return outcome

    async def _in_thread(self, function: Callable[[str], T], argument: str) -> T:
        if self._executor is None:
            return await asyncio.to_thread(function, argument)
        return await asyncio.get_running_loop().run_in_executor(self._executor, function, argument)

    def _client(self) -> Confluence:
        """atlassian-python-api, imported with the first page read: about 10 MiB a process that
        only checks links (the API) never needs."""
        with self._making_client:
            if self._confluence is not None:
                return self._confluence
            from atlassian import Confluence

            email, token = self._credentials
            self._confluence = Confluence(
                url=f"{self._site}/wiki",
                username=email,
                password=token,
                cloud=False,
                timeout=self._timeout,
                # It sleeps out a 429's Retry-After on our thread; never longer than a call
                # may take (its default is 30 minutes).
                max_backoff_seconds=self._timeout,
            )
            return self._confluence

    def _load(self, page_id: str) -> _Page | _Failure:
        """On a worker thread: fetch the page and convert its body."""
        from atlassian.errors import ApiError

        try:
            page = self._client().get_page_by_id(page_id, expand="body.storage")
        except ApiError as error:
            # get_page_by_id turns a 404 into ApiError, keeping the HTTPError as reason.
            response = getattr(error.reason, "response", None)
            return _http_failure(page_id, getattr(response, "status_code", None), self._site)
        except requests.HTTPError as error:
            return _http_failure(page_id, getattr(error.response, "status_code", None), self._site)
        except requests.Timeout:
            return _Failure("unreachable", f"Confluence at {self._site} did not answer in time", transient=True)
        except requests.ConnectionError:
            return _Failure("unreachable", f"Confluence at {self._site} could not be reached", transient=True)
        except (requests.RequestException, ValueError):  # ValueError: a body that is not JSON
            return _Failure("failed", "Confluence gave an answer that could not be read", transient=True)
        storage = _storage_of(page)
        if storage is None:
            return _Failure("failed", f"Confluence returned content {page_id} without a page body", transient=False)
        title = page.get("title") if isinstance(page.get("title"), str) else ""
        return _Page(page_id=page_id, title=title, text=storage_to_text(storage), storage=storage)


def _http_failure(page_id: str, status: int | None, site: str) -> _Failure:
    if status == 404:
        # Confluence answers 404 for pages the account may not see, too.
        return _Failure(
            "not_found",
            f"page {page_id} was not found in Confluence (404), or Augment's account may not view it",
            transient=False,
        )
    if status == 401:
        return _Failure("no_permission", f"Confluence at {site} rejected Augment's credentials (401)", transient=False)
    if status == 403:
        return _Failure(
            "no_permission", f"Augment's account has no permission to view page {page_id} (403)", transient=False
        )
    if status == 429:
        return _Failure("rate_limited", "Confluence is rate limiting Augment (429); try again later", transient=True)
    shown = f"HTTP {status}" if status else "no status"
    return _Failure("failed", f"Confluence failed to return page {page_id} ({shown})", transient=True)


def _storage_of(page: object) -> str | None:
    if not isinstance(page, dict):
        return None
    storage = (page.get("body") or {}).get("storage") or {}
    value = storage.get("value") if isinstance(storage, dict) else None
    return value if isinstance(value, str) else None


GATEWAY_HOST = "api.atlassian.com"
CLOUD_SITE_SUFFIX = ".atlassian.net"
_JIRA_GATEWAY = re.compile(r"https://api\.atlassian\.com/ex/jira/([^/?#]+)/?")


def confluence_api_url(confluence_url: str, jira_url: str) -> str:
    """Where Confluence's API is: `confluence_url` if set; else Jira's site, or, for a Jira
    gateway URL (`https://api.atlassian.com/ex/jira/<cloudId>`), the same cloud's Confluence
    gateway (`.../ex/confluence/<cloudId>`)."""
    if confluence_url:
        return _site_root(confluence_url)
    gateway = _JIRA_GATEWAY.fullmatch(jira_url.strip())
    if gateway:
        return f"https://{GATEWAY_HOST}/ex/confluence/{gateway.group(1)}"
    return _site_root(jira_url)


def _is_gateway(url: str) -> bool:
    return (urlsplit(url).hostname or "").lower() == GATEWAY_HOST


def _site_root(url: str) -> str:
    # Accept the site with or without a trailing /wiki: both name the same Confluence.
    root = url.strip().rstrip("/")
    return root.removesuffix("/wiki")


def _same_site(page_url: str, site: str) -> bool:
    """The page lives on the configured site (else its id would name another page here)."""
    page, ours = urlsplit(page_url.strip()), urlsplit(site)
    if (page.hostname or "").lower() != (ours.hostname or "").lower():
        return False
    try:
        page_port, our_port = page.port, ours.port
    except ValueError:  # a port that is not a number
        return False
    if page_port is None and our_port is None:
        return True  # http vs https on one host is still one site
    defaults = {"http": 80, "https": 443}
    return (page_port or defaults.get(page.scheme)) == (our_port or defaults.get(ours.scheme))


def _without_credentials(url: str) -> str:
    """The URL for messages: user:password@ in a pasted link must not reach a ticket."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
