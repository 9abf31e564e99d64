"""Everything one running Jira sandbox holds, shared by its route modules.

The site itself can be replaced (reset, snapshot import), so handlers always reach it
through ``state.site``. Changes are saved to the snapshot file, when there is one,
after every successful write request.
"""

from __future__ import annotations

import json
import os
import random
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp import web

from sandbox.confluence import ConfluencePage, demo_pages, page_web_path
from sandbox.jira.clock import Clock
from sandbox.jira.demo import BOT_ID, DemoLinks, demo_site
from sandbox.jira.errors import ISSUE_NOT_FOUND, JiraError
from sandbox.jira.faults import Faults, FaultSettings
from sandbox.jira.http import site_base
from sandbox.jira.issue_shape import View
from sandbox.jira.model import Issue, SiteData
from sandbox.jira.site import Site
from sandbox.jira.webhook_delivery import WebhookDispatcher
from sandbox.jira.webhook_events import WebhookEvents


class JiraState:
    def __init__(
        self, *, seed: int, webhook_time_scale: float, snapshot: Path | None, faults: FaultSettings | None = None
    ) -> None:
        self.clock = Clock()
        self.rng = random.Random(seed)
        self.fault_settings = faults or FaultSettings()
        self.faults = Faults(self.fault_settings, self.rng, self.clock)
        self.dispatcher = WebhookDispatcher(self.clock, self.fault_settings, self.rng, webhook_time_scale)
        self.snapshot = snapshot
        # The URL the sandbox advertises; set once it listens. Webhook payloads and the
        # demo data's Confluence links use it (responses use the URL the client used).
        self.base_url = ""
        self.pages: list[ConfluencePage] = demo_pages(author_id=BOT_ID)
        self.site = Site(
            SiteData(users=[], statuses=[], priorities=[], issue_types=[], projects=[], custom_fields=[], link_types=[])
        )
        self.events = WebhookEvents(lambda: self.site, lambda: self.base_url, self.clock.now, self.dispatcher)
        self.request_counts: Counter[str] = Counter()
        self._loaded = False  # `load` has run: the site is real, and may be saved
        # Issue edits in order: (key, whether Jira would have notified watchers).
        self.edit_notifications: list[tuple[str, bool]] = []

    # --- lifecycle ----------------------------------------------------------------

    def load(self, base_url: str) -> None:
        """Start from the snapshot file if there is one, else from the demo data."""
        self.base_url = base_url
        self._loaded = True
        if self.snapshot is not None and self.snapshot.exists():
            self.import_snapshot(json.loads(self.snapshot.read_text(encoding="utf-8")))
        else:
            self.reset()

    def reset(self) -> None:
        self.clock.offset = timedelta()
        prd, rfc = (f"{self.base_url}{page_web_path(page)}" for page in self.pages)
        self.site = Site(demo_site(self.clock.now(), DemoLinks(prd_url=prd, rfc_url=rfc)))
        self.save()

    def export_snapshot(self) -> dict[str, Any]:
        return {
            "clock_offset_seconds": self.clock.offset.total_seconds(),
            "site": self.site.data.model_dump(mode="json"),
        }

    def import_snapshot(self, snapshot: dict[str, Any]) -> None:
        """Replace the site; raises pydantic's ValidationError on a malformed snapshot."""
        data = SiteData.model_validate(snapshot["site"])
        self.clock.offset = timedelta(seconds=float(snapshot.get("clock_offset_seconds", 0)))
        self.site = Site(data)

    def save(self) -> None:
        # Before `load` the site is an empty placeholder: saving it would overwrite the
        # snapshot with a site that has not even the demo users (a start that failed).
        if self.snapshot is None or not self._loaded:
            return
        # Write then rename, so a crash never leaves half a snapshot.
        partial = self.snapshot.with_name(self.snapshot.name + ".partial")
        partial.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(json.dumps(self.export_snapshot()), encoding="utf-8")
        os.replace(partial, self.snapshot)

    # --- helpers for handlers -----------------------------------------------------

    def view(self, request: web.Request, version: str | None = None) -> View:
        return View(site_base(request), self.site, version or api_version(request))

    def find_issue(self, key_or_id: str) -> Issue:
        issue = self.site.issue(key_or_id)
        if issue is None:
            raise JiraError(404, ISSUE_NOT_FOUND)
        return issue


STATE = web.AppKey("jira_state", JiraState)


def state_of(request: web.Request) -> JiraState:
    return request.app[STATE]


def api_version(request: web.Request) -> str:
    """``2`` or ``3`` from ``/rest/api/{version}``; ``latest`` is v2 as in Jira."""
    version = request.match_info.get("version", "2")
    return "3" if version == "3" else "2"
