"""Attachments: add files to an issue, read an attachment's metadata, download its content.

As Jira Cloud does:
- `POST /rest/api/{2,3}/issue/{key}/attachments` takes `multipart/form-data`, one or more parts
  named `file`; without `X-Atlassian-Token: no-check` it is refused as a cross-site request
  (403, `XSRF check failed`, plain text); a file over `MAX_ATTACHMENT_BYTES` answers 413 with
  Jira's message and nothing is stored; it answers 200 with the list of attachment beans;
- the issue shows them in its `attachment` field;
- `GET /rest/api/{2,3}/attachment/{id}` is its metadata (`AttachmentMetadata`: the id a number),
  `GET .../attachment/content/{id}` the bytes with the type they were sent with.
The bytes are kept base64 in the site model, so snapshots keep them.
"""

from __future__ import annotations

import base64

from aiohttp import BodyPartReader, web

from sandbox.jira.auth import require
from sandbox.jira.errors import JiraError
from sandbox.jira.http import jira_json
from sandbox.jira.issue_shape import attachment_bean
from sandbox.jira.model import Attachment, Issue
from sandbox.jira.routes import API
from sandbox.jira.state import JiraState, state_of

# Jira Cloud's default attachment size limit is far higher; the sandbox keeps it small.
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_FILES = 20
_FIRST_ID = 10000
_CHUNK = 64 * 1024


async def add_attachments(request: web.Request) -> web.Response:
    if request.headers.get("X-Atlassian-Token", "").lower() not in ("no-check", "nocheck"):
        return web.Response(status=403, text="XSRF check failed", content_type="text/plain")
    actor = require(request, "write", "You do not have permission to create attachments for this issue.")
    state = state_of(request)
    issue = state.find_issue(request.match_info["issue"])
    if not request.content_type.startswith("multipart/"):
        raise JiraError(415, "Unsupported media type: send multipart/form-data with a part named file.")
    files = await _read_files(request)
    if not files:
        raise JiraError(400, "The request did not contain any file part named 'file'.")
    now = state.clock.now()
    added = []
    for filename, media_type, content in files:
        attachment = Attachment(
            id=str(_next_id(state)),
            filename=filename,
            author_id=actor.account_id,
            created=now,
            mime_type=media_type,
            size=len(content),
            content_base64=base64.b64encode(content).decode(),
        )
        issue.attachments.append(attachment)
        added.append(attachment)
    issue.updated = now
    view = state.view(request)
    return jira_json([attachment_bean(view, attachment) for attachment in added])


async def get_attachment(request: web.Request) -> web.Response:
    require(request, "browse")
    state = state_of(request)
    _, attachment = _find(state, request.match_info["attachment"])
    # `AttachmentMetadata`: the same bean with a numeric id and Jira's (empty) properties.
    bean = attachment_bean(state.view(request), attachment)
    return jira_json({**bean, "id": int(attachment.id), "properties": {}})


async def get_content(request: web.Request) -> web.Response:
    require(request, "browse")
    _, attachment = _find(state_of(request), request.match_info["attachment"])
    return web.Response(
        body=base64.b64decode(attachment.content_base64),
        content_type=attachment.mime_type,
        headers={"Content-Disposition": f'attachment; filename="{_quoted(attachment.filename)}"'},
    )


async def _read_files(request: web.Request) -> list[tuple[str, str, bytes]]:
    reader = await request.multipart()
    files: list[tuple[str, str, bytes]] = []
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader) or part.name != "file":
            continue
        if len(files) == MAX_FILES:
            raise JiraError(400, f"At most {MAX_FILES} files can be attached in one request.")
        content = bytearray()
        while chunk := await part.read_chunk(_CHUNK):
            content += chunk
            if len(content) > MAX_ATTACHMENT_BYTES:
                raise JiraError(
                    413, f"The field file exceeds its maximum permitted size of {MAX_ATTACHMENT_BYTES} bytes."
                )
        filename = (part.filename or "").strip()
        if not filename:
            raise JiraError(400, "Every file part needs a filename.")
        media_type = part.headers.get("Content-Type", "application/octet-stream").split(";")[0].strip()
        files.append((filename[:255], media_type or "application/octet-stream", bytes(content)))
    return files


def _next_id(state: JiraState) -> int:
    ids = state.site.data.next_ids
    value = ids.get("attachment", _FIRST_ID)
    ids["attachment"] = value + 1
    return value


def _find(state: JiraState, attachment_id: str) -> tuple[Issue, Attachment]:
    for issue in state.site.issues():
        for attachment in issue.attachments:
            if attachment.id == attachment_id:
                return issue, attachment
    raise JiraError(404, f"The attachment with id '{attachment_id}' does not exist")


def _quoted(filename: str) -> str:
    return "".join(ch for ch in filename if ch.isprintable() and ch not in '"\\')


def add_routes(app: web.Application) -> None:
    router = app.router
    router.add_post(f"{API}/issue/{{issue}}/attachments", add_attachments)
    router.add_get(f"{API}/attachment/content/{{attachment}}", get_content)
    router.add_get(f"{API}/attachment/{{attachment}}", get_attachment)
