"""The demo site, read from ``sandbox/data/demo.yaml`` (see its header for what is in it).

The file holds everything that is fixed; this loader computes what is not: dates, which
are relative to "now" so the active sprint is always running, and the URLs of the
Confluence pages the epic points at, which depend on the sandbox's port.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from typing import Any

import yaml

from sandbox.jira.model import SiteData

_DATA: dict[str, Any] = yaml.safe_load((resources.files("sandbox") / "data" / "demo.yaml").read_text(encoding="utf-8"))

BOT_ID: str = _DATA["bot_id"]
ADMIN_ID: str = _DATA["admin_id"]
BOARD_ID: int = _DATA["board_id"]
PROJECT_KEY: str = _DATA["project_key"]
CUSTOM_FIELD_IDS: dict[str, str] = _DATA["custom_field_ids"]

_SITE_KEYS = ("users", "statuses", "priorities", "issue_types", "projects", "custom_fields", "link_types", "boards")
_DAY = timedelta(days=1)


@dataclass(frozen=True)
class DemoLinks:
    """Absolute Cloud URLs of the Confluence pages the epic points at."""

    prd_url: str
    rfc_url: str


def demo_site(now: datetime, links: DemoLinks) -> SiteData:
    data = copy.deepcopy(_DATA)  # the loaded file stays as read: every site is new
    issues = [_issue(entry, data["issue_defaults"], now, links) for entry in data["issues"]]
    counters: dict[str, int] = {}
    for issue in issues:
        project, number = issue["key"].split("-")
        counters[project] = max(counters.get(project, 0), int(number))
    return SiteData.model_validate(
        {
            **{key: data[key] for key in _SITE_KEYS},
            "sprints": [_sprint(entry, now) for entry in data["sprints"]],
            "issues": issues,
            "links": data["links"],
            "next_ids": {"issue": max(int(issue["id"]) for issue in issues) + 1, **data["next_ids"]},
            "issue_counters": counters,
        }
    )


def _sprint(entry: dict[str, Any], now: datetime) -> dict[str, Any]:
    first_start = (now - 17 * _DAY).replace(hour=9, minute=0, second=0, microsecond=0)
    dates = {
        key: first_start + days * _DAY
        for key in ("start", "end", "complete", "created")
        if (days := entry.get(key)) is not None
    }
    return {**entry, **dates}


def _issue(entry: dict[str, Any], defaults: dict[str, Any], now: datetime, links: DemoLinks) -> dict[str, Any]:
    number = entry.pop("number")
    project = entry.pop("project_key", PROJECT_KEY)
    moment = (now - 24 * _DAY).replace(microsecond=0) + number * timedelta(hours=3)
    issue = {
        "id": str(9999 + number),
        "key": f"{project}-{number}",
        **defaults,
        "created": moment,
        "updated": moment,
        "status_changed": moment,
        **entry,
    }
    if (resolved := entry.get("resolution_date")) is not None:
        issue["resolution_date"] = now - resolved * _DAY
    urls = {"prd": links.prd_url, "rfc": links.rfc_url}
    for document, field_id in issue.pop("document_links", {}).items():
        issue.setdefault("custom", {})[field_id] = urls[document]
    for comment in issue.get("comments", []):
        comment["created"] = now - comment["created"] * _DAY
        comment["updated"] = now - comment["updated"] * _DAY
    for change in issue.get("history", []):
        change["created"] = now - change["created"] * _DAY
    return issue
