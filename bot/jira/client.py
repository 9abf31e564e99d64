"""Jira through the `jira` library, made async and given explicit retry rules.

The library is synchronous (requests), so calls run on a thread pool sized for the
work in flight. Its own retries are switched off: here, 429 waits as long as
`Retry-After` says, or without it until `X-RateLimit-Reset` (capped, plus jitter so many
workers do not retry in step); 5xx and connection failures back off exponentially with
jitter; everything else fails at once with a message that says what Jira answered.
A write that is not safe to repeat (a comment POST) is not retried after a 5xx or no
answer, since Jira may have made it: its caller looks before trying again.
`str(JIRAError)` can contain request headers, Authorization included, so it is never
used: messages are built from the status and Jira's own error text.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

import requests
import structlog
from jira import JIRA, JIRAError
from requests.adapters import HTTPAdapter
from urllib3 import encode_multipart_formdata

from bot import metrics
from bot.config import JiraSettings
from bot.logs import redact

log = structlog.get_logger(__name__)

T = TypeVar("T")

RETRY_AFTER_CAP_SECONDS = 60.0
BACKOFF_BASE_SECONDS = 0.5
JITTER_SECONDS = 0.25
# Jira's X-RateLimit-Reset is an ISO timestamp, with or without seconds.
_RESET_FORMATS = ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z", "%Y-%m-%dT%H:%M:%S.%f%z")
SEARCH_PAGE_SIZE = 100


# How far back a reply looks for itself before posting (see bot/jira/comments.py).
RECENT_COMMENTS = 100


class JiraError(Exception):
    """Jira refused or failed; `status` is Jira's HTTP status (None: no answer)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status

    @property
    def transient(self) -> bool:
        """Worth trying again later: no answer, 429 or 5xx (the client's own retries ran out)."""
        return self.status is None or self.status == 429 or self.status >= 500


class JiraNotFoundError(JiraError):
    pass


class JiraQueryError(JiraError):
    """Jira rejected a JQL query; the message is Jira's."""


@dataclass(frozen=True)
class Ticket:
    key: str
    summary: str
    issue_type: str
    status: str
    project: str
    description: str  # wiki markup, "" when empty
    labels: tuple[str, ...]
    parent_key: str | None
    custom: dict[str, Any] = field(default_factory=dict)
    team_managed: bool = False  # its project has fields of its own (`bot.jira.fields`)
    updated: str | None = None  # Jira's `updated`, as it sends it


class JiraClient:
    def __init__(self, settings: JiraSettings, *, threads: int = 8) -> None:
        self._settings = settings
        self._threads = threads
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="jira")
        self._connect_lock = threading.Lock()
        self._jira: JIRA | None = None
        self._account_id: str | None = None

    @property
    def attempts(self) -> int:
        """How often a failing call is tried in all."""
        return self._settings.max_retries + 1

    @property
    def search_settle_seconds(self) -> float:
        """How long after a write Jira's search is trusted to show it (`jira.search_settle_seconds`)."""
        return self._settings.search_settle_seconds

    async def close(self) -> None:
        await asyncio.to_thread(self._pool.shutdown, wait=True, cancel_futures=True)
        if self._jira is not None:
            self._jira.close()

    # -- reading ---------------------------------------------------------------------

    async def ticket(self, key: str, *, custom_fields: tuple[str, ...] = ()) -> Ticket:
        fields = ["summary", "issuetype", "status", "project", "description", "labels", "parent", "updated"]
        fields += custom_fields
        issue = await self._call(f"read {key}", lambda jira: jira.issue(key, fields=",".join(fields)).raw)
        return _ticket(issue, custom_fields)

    async def field_values(self, key: str, names: list[str]) -> dict[str, Any]:
        issue = await self._call(f"read {key}", lambda jira: jira.issue(key, fields=",".join(names)).raw)
        return {name: issue["fields"].get(name) for name in names}

    async def fields(self) -> list[dict[str, Any]]:
        """Every field of the site (`GET /field`), custom ones with their names and scope."""
        return await self._call("read fields", lambda jira: jira._get_json("field"))

    async def edit_metadata(self, key: str) -> dict[str, Any]:
        """Field id -> metadata (`name`, ...) of the fields that can be set on `key`."""
        meta = await self._call(f"read editmeta of {key}", lambda jira: jira._get_json(f"issue/{key}/editmeta"))
        return dict(meta.get("fields") or {})

    async def create_metadata(self, project: str, issue_type: str) -> dict[str, Any]:
        """Field id -> metadata of the fields that can be set creating an `issue_type` (by name)
        in `project`; {} when the project has no such type. At most 5 pages of 200 fields."""
        path = f"issue/createmeta/{project}/issuetypes"
        types = await self._call(f"read createmeta of {project}", lambda jira: jira._get_json(path))
        type_id = next((t["id"] for t in types.get("issueTypes") or () if t.get("name") == issue_type), None)
        fields: dict[str, Any] = {}
        for page in range(5 if type_id else 0):
            params = {"startAt": page * 200, "maxResults": 200}
            read = partial(JIRA._get_json, path=f"{path}/{type_id}", params=params)
            found = await self._call(f"read createmeta of {project}", read)
            entries = found.get("fields") or []
            fields |= {entry["fieldId"]: entry for entry in entries}
            if not entries or page * 200 + len(entries) >= int(found.get("total") or 0):
                break
        return fields

    async def search_keys(self, jql: str, limit: int) -> list[str]:
        """Keys of the issues matching `jql`, in Jira's order, at most `limit`."""
        return [issue["key"] for issue in await self.search_issues(jql, limit)]

    async def search_issues(self, jql: str, limit: int, fields: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        """The issues matching `jql` (`key` and the `fields` asked for), in Jira's order, at most
        `limit`. Jira's search index lags writes: what it shows may be seconds old."""
        issues: list[dict[str, Any]] = []
        token: str | None = None
        wanted = ["key", *fields]
        while len(issues) < limit:
            page_size = min(SEARCH_PAGE_SIZE, limit - len(issues))
            page = await self._call(
                "search", partial(_search_page, jql=jql, token=token, size=page_size, fields=wanted)
            )
            issues += [{"key": issue["key"], "fields": issue.get("fields") or {}} for issue in page.get("issues", [])]
            token = page.get("nextPageToken")
            if page.get("isLast", token is None) or not token:
                break
        return issues[:limit]

    async def check_jql(self, jql: str) -> None:
        """Raise JiraQueryError with Jira's message when Jira rejects the query."""
        await self._call(
            "search", lambda jira: jira.enhanced_search_issues(jql, maxResults=1, fields=["key"], json_result=True)
        )

    async def bot_account_id(self) -> str:
        """The accountId of the account Augment uses (GET /myself), asked once."""
        if self._account_id is None:
            me = await self._call("myself", lambda jira: jira.myself())
            self._account_id = me["accountId"]
        return self._account_id

    async def comment_bodies(self, key: str) -> list[str]:
        """The ticket's latest `RECENT_COMMENTS` comments (wiki markup), newest first."""
        found = await self._call(
            f"read comments of {key}",
            lambda jira: jira.comments(key, order_by="-created", max_results=RECENT_COMMENTS),
        )
        return [comment.body or "" for comment in found]

    # -- writing ---------------------------------------------------------------------

    async def update_fields(self, key: str, fields: dict[str, Any]) -> None:
        # One PUT through the library's session: `Issue.update()` also reads the issue before
        # and after, and every extra call is one more chance of a 429 in a big batch.
        # `jira.notify_users: false` adds notifyUsers=false; Jira honours it for admins only.
        body = json.dumps({"fields": fields})
        params = None if self._settings.notify_users else {"notifyUsers": "false"}
        await self._call(
            f"update {key}",
            lambda jira: jira._session.put(jira._get_url(f"issue/{key}"), data=body, params=params),
        )

    async def add_comment(self, key: str, body: str) -> None:
        """Post once: a 5xx or no answer may follow a comment Jira made, so it is not retried
        here (see `bot.jira.comments.post_once`, which looks before posting again)."""
        await self._call(f"comment on {key}", lambda jira: jira.add_comment(key, body), repeatable=False)

    async def add_attachment(self, key: str, filename: str, content: bytes, media_type: str) -> str:
        """Attach a file once; its attachment id. Multipart, with the `X-Atlassian-Token: no-check`
        Jira requires (it refuses other multipart POSTs as cross-site requests). A 5xx or no answer
        may follow an attachment Jira stored, so before trying again the issue is read: an
        attachment of this filename and size already there is the one sent."""
        if not 0 < len(filename) <= 255 or not filename.isprintable():
            raise ValueError("an attachment's filename must be 1-255 printable characters")
        body, content_type = encode_multipart_formdata({"file": (filename, content, media_type)})
        headers = {"Content-Type": content_type, "X-Atlassian-Token": "no-check"}

        def attach(jira: JIRA) -> str:
            response = jira._session.post(jira._get_url(f"issue/{key}/attachments"), data=body, headers=headers)
            return str(response.json()[0]["id"])

        for attempt in range(1, self.attempts + 1):
            try:
                return await self._call(f"attach {filename} to {key}", attach, repeatable=False)
            except JiraError as err:
                if not err.transient or attempt == self.attempts:
                    raise
            found = await self.attachment_id(key, filename, len(content))
            if found is not None:
                return found
            await asyncio.sleep(backoff_seconds(attempt))
        raise AssertionError("unreachable")

    async def attachment_id(self, key: str, filename: str, size: int | None = None) -> str | None:
        """The id of the issue's attachment named `filename` (and of `size` bytes, when given), else None."""
        attached = (await self.field_values(key, ["attachment"]))["attachment"] or []
        return next(
            (
                str(a["id"])
                for a in attached
                if a.get("filename") == filename and (size is None or a.get("size") == size)
            ),
            None,
        )

    # -- the calls -------------------------------------------------------------------

    async def call(self, action: str, call: Callable[[JIRA], T], *, repeatable: bool = True) -> T:
        """Run `call` on the library's client with these retry rules (`bot.jira.agile` uses it)."""
        return await self._call(action, call, repeatable=repeatable)

    async def _call(self, action: str, call: Callable[[JIRA], T], *, repeatable: bool = True) -> T:
        """Run `call`, retrying what can help; `repeatable=False`: only a 429 (refused before
        anything was done) is retried."""
        loop = asyncio.get_running_loop()
        attempts = self.attempts
        for attempt in range(1, attempts + 1):
            try:
                answer = await loop.run_in_executor(self._pool, self._run, call)
            except JIRAError as err:
                delay = _retry_delay(err.status_code, _retry_after(err), attempt)
                final = delay is None or attempt == attempts or (err.status_code != 429 and not repeatable)
                if err.status_code == 429:
                    metrics.JIRA_RATE_LIMITED.inc()
                else:
                    (metrics.JIRA_ERROR if final else metrics.JIRA_RETRIED).inc()
                if final or delay is None:
                    raise _as_error(action, err) from None
                log.warning("jira call failed; retrying", action=action, status=err.status_code, delay=delay)
            except (requests.ConnectionError, requests.Timeout) as err:
                if attempt == attempts or not repeatable:
                    metrics.JIRA_ERROR.inc()
                    raise JiraError(f"Jira did not answer ({action}): {redact(type(err).__name__)}") from None
                delay = backoff_seconds(attempt)
                metrics.JIRA_RETRIED.inc()
                log.warning("jira unreachable; retrying", action=action, delay=delay)
            else:
                metrics.JIRA_OK.inc()
                return answer
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    def _run(self, call: Callable[[JIRA], T]) -> T:
        return call(self._client())

    def _client(self) -> JIRA:
        with self._connect_lock:
            if self._jira is None:
                settings = self._settings
                self._jira = JIRA(
                    server=settings.url,
                    basic_auth=(settings.email, settings.token.get_secret_value()),
                    timeout=settings.timeout_seconds,
                    max_retries=0,  # retries are decided in _call
                    options={"rest_api_version": "2"},
                )
                # requests keeps 10 connections a host by default: with more threads than that,
                # each extra call would open (and throw away) a connection of its own.
                adapter = HTTPAdapter(pool_connections=1, pool_maxsize=self._threads)
                for scheme in ("https://", "http://"):
                    self._jira._session.mount(scheme, adapter)
            return self._jira

    # -- links and parents -------------------------------------------------------------

    async def link_types(self) -> list[dict[str, Any]]:
        """The site's issue link types: `name`, `inward` and `outward` phrases."""
        found = await self._call("read link types", lambda jira: jira._get_json("issueLinkType"))
        return list(found.get("issueLinkTypes") or [])

    async def issue_links(self, key: str) -> list[dict[str, Any]]:
        """The ticket's links as Jira shows them: `type`, and `outwardIssue` or `inwardIssue`."""
        return (await self.field_values(key, ["issuelinks"]))["issuelinks"] or []

    async def create_link(self, link_type: str, inward_key: str, outward_key: str) -> None:
        """`inward_key` <type's outward phrase> `outward_key` ("A blocks B"). Safe to repeat:
        Jira answers a duplicate of an existing link as created and makes no second one."""
        link = {"type": {"name": link_type}, "inwardIssue": {"key": inward_key}, "outwardIssue": {"key": outward_key}}
        body = json.dumps(link)
        await self._call(
            f"link {inward_key} to {outward_key}",
            lambda jira: jira._session.post(jira._get_url("issueLink"), data=body),
        )

    async def set_parent(self, key: str, parent_key: str) -> None:
        await self.update_fields(key, {"parent": {"key": parent_key}})

    async def create_issue(self, fields: dict[str, Any], links: list[dict[str, Any]] | None = None) -> str:
        """Create an issue, with `links` (Jira's `update.issuelinks` `add` entries) in the same
        write; its key. Not retried after a 5xx or no answer, since Jira may have made it: the
        caller looks for it before trying again (`bot.jira.applier`)."""
        request: dict[str, Any] = {"fields": fields}
        if links:
            request["update"] = {"issuelinks": [{"add": link} for link in links]}
        body = json.dumps(request)

        def create(jira: JIRA) -> str:
            response = jira._session.post(jira._get_url("issue"), data=body)
            return str(response.json()["key"])

        return await self._call("create an issue", create, repeatable=False)


def _search_page(jira: JIRA, *, jql: str, token: str | None, size: int, fields: list[str]) -> dict[str, Any]:
    return jira.enhanced_search_issues(jql, nextPageToken=token, maxResults=size, fields=fields, json_result=True)


def _ticket(issue: dict[str, Any], custom_fields: tuple[str, ...]) -> Ticket:
    fields = issue["fields"]
    parent = fields.get("parent") or {}
    project = fields.get("project") or {}
    return Ticket(
        key=issue["key"],
        summary=fields.get("summary") or "",
        issue_type=(fields.get("issuetype") or {}).get("name", ""),
        status=(fields.get("status") or {}).get("name", ""),
        project=project.get("key", issue["key"].split("-")[0]),
        description=fields.get("description") or "",
        labels=tuple(fields.get("labels") or ()),
        parent_key=parent.get("key"),
        custom={name: fields.get(name) for name in custom_fields},
        team_managed=bool(project.get("simplified")),
        updated=fields.get("updated"),
    )


def _retry_after(err: JIRAError) -> float | None:
    """Seconds Jira asked us to wait: `Retry-After`, else until `X-RateLimit-Reset`; None: no hint."""
    headers = err.response.headers if err.response is not None else {}
    value = headers.get("Retry-After")
    if value is not None:
        try:
            return float(value)
        except ValueError:
            return None  # an HTTP-date: fall back to our own backoff
    reset = _reset_time(headers.get("X-RateLimit-Reset"))
    return None if reset is None else (reset - datetime.now(UTC)).total_seconds()


def _reset_time(value: str | None) -> datetime | None:
    if not value:
        return None
    text = value.replace("Z", "+0000")
    for form in _RESET_FORMATS:
        try:
            return datetime.strptime(text, form)
        except ValueError:
            continue
    return None


def _retry_delay(status: int | None, retry_after: float | None, attempt: int) -> float | None:
    """Seconds to wait before trying again, or None when retrying cannot help.

    Jira's hint is honoured (capped, a time already past counts as 0) with a little jitter
    added; no hint means our own exponential backoff."""
    if status == 429 or (status is not None and status >= 500):
        if retry_after is not None:
            return min(max(retry_after, 0.0), RETRY_AFTER_CAP_SECONDS) + random.uniform(0, JITTER_SECONDS)
        return backoff_seconds(attempt)
    return None


def backoff_seconds(attempt: int) -> float:
    """Exponential backoff with ±20 % jitter, so many workers do not retry in step."""
    return BACKOFF_BASE_SECONDS * 2 ** (attempt - 1) * random.uniform(0.8, 1.2)


def _as_error(action: str, err: JIRAError) -> JiraError:
    status = err.status_code
    detail = redact((err.text or "").strip()) or "no details"
    if status == 404:
        return JiraNotFoundError(f"Jira: not found ({action}): {detail}", status)
    if status == 400 and action == "search":
        return JiraQueryError(detail, status)
    if status in (401, 403):
        return JiraError(
            f"Jira refused the bot account ({action}): HTTP {status}; check jira.email and jira.token", status
        )
    if status == 429 or (status is not None and status >= 500):
        return JiraError(f"Jira kept failing ({action}): HTTP {status} after retries: {detail}", status)
    return JiraError(f"Jira rejected the request ({action}): HTTP {status}: {detail}", status)
