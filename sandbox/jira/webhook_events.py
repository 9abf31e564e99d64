"""Jira-format webhook events for the changes made through the API.

Each change the handlers make is announced here; ``WebhookEvents`` builds the payload
Jira Cloud sends (issue in the REST v2 shape, changelog items, comment, link, sprint)
and hands it to the dispatcher once per matching, enabled webhook. A webhook's JQL
filter applies to events that carry an issue (issue and comment events).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sandbox.jira.clock import epoch_millis
from sandbox.jira.issue_shape import (
    FieldSelection,
    View,
    change_items,
    comment_bean,
    issue_bean,
    trimmed_issue,
)
from sandbox.jira.model import ChangeGroup, Comment, Issue, IssueLink, Sprint, User
from sandbox.jira.search import matches
from sandbox.jira.shapes import Json, sprint_bean, user_bean
from sandbox.jira.site import Site
from sandbox.jira.webhook_delivery import WebhookDispatcher

_ALL_FIELDS = FieldSelection.parse(["*all"], "*all")


class WebhookEvents:
    def __init__(
        self,
        site_of: Callable[[], Site],
        base_url: Callable[[], str],
        now: Callable[[], datetime],
        dispatcher: WebhookDispatcher,
    ) -> None:
        self._site_of = site_of
        self._base_url = base_url
        self._now = now
        self.dispatcher = dispatcher

    # --- issues -------------------------------------------------------------------

    def issue_created(self, issue: Issue, actor: User) -> None:
        self._publish(
            "jira:issue_created",
            issue,
            {
                "issue_event_type_name": "issue_created",
                "user": self._user(actor),
                "issue": self._issue(issue),
            },
        )

    def issue_updated(
        self,
        issue: Issue,
        actor: User,
        group: ChangeGroup | None,
        *,
        event_type: str = "issue_updated",
        comment: Comment | None = None,
    ) -> None:
        payload: Json = {"issue_event_type_name": event_type, "user": self._user(actor), "issue": self._issue(issue)}
        if group is not None:
            payload["changelog"] = {"id": group.id, "items": change_items(group)}
        if comment is not None:
            payload["comment"] = comment_bean(self._view(), issue, comment)
        self._publish("jira:issue_updated", issue, payload)

    # --- comments -----------------------------------------------------------------

    def comment_created(self, issue: Issue, comment: Comment) -> None:
        self._comment_event("comment_created", issue, comment)

    def comment_updated(self, issue: Issue, comment: Comment) -> None:
        self._comment_event("comment_updated", issue, comment)

    def _comment_event(self, event: str, issue: Issue, comment: Comment) -> None:
        view = self._view()
        self._publish(
            event, issue, {"comment": comment_bean(view, issue, comment), "issue": trimmed_issue(view, issue)}
        )

    # --- links and sprints ----------------------------------------------------------

    def issuelink_created(self, link: IssueLink) -> None:
        link_type = self._site_of().link_type(link.type_id)
        assert link_type is not None
        self._publish(
            "issuelink_created",
            None,
            {
                "issueLink": {
                    "id": int(link.id),
                    "sourceIssueId": int(link.inward_issue_id),
                    "destinationIssueId": int(link.outward_issue_id),
                    "issueLinkType": {
                        "id": int(link_type.id),
                        "name": link_type.name,
                        "outwardName": link_type.outward,
                        "inwardName": link_type.inward,
                        "isSubTaskLinkType": False,
                        "isSystemLinkType": False,
                    },
                    "systemLink": False,
                }
            },
        )

    def sprint_event(self, event: str, sprint: Sprint, old: Json | None = None) -> None:
        """``sprint_created``, ``sprint_updated`` (with ``oldValue``), ``sprint_started``, ``sprint_closed``."""
        payload: Json = {"sprint": sprint_bean(self._base_url(), sprint)}
        if old is not None:
            payload["oldValue"] = old
        self._publish(event, None, payload)

    # --- plumbing -----------------------------------------------------------------

    def _view(self) -> View:
        return View(self._base_url(), self._site_of(), "2")

    def _issue(self, issue: Issue) -> Json:
        return issue_bean(self._view(), issue, _ALL_FIELDS, set())

    def _user(self, user: User) -> Json:
        return user_bean(self._base_url(), user, "2")

    def _publish(self, event: str, issue: Issue | None, body: dict[str, Any]) -> None:
        site = self._site_of()
        now = self._now()
        for webhook in site.data.webhooks:
            if not webhook.enabled or event not in webhook.events:
                continue
            if issue is not None and webhook.jql and not matches(site, webhook.jql, issue, now):
                continue
            payload = {"timestamp": epoch_millis(now), "webhookEvent": event, **body, "matchedWebhookIds": [webhook.id]}
            self.dispatcher.send(webhook.id, webhook.url, webhook.secret, event, payload)
