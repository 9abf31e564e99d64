"""`POST /webhooks/jira`: the body Jira sends and what Augment answers."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, RootModel

from schemas.events import JiraEvent


class JiraWebhook(RootModel[JiraEvent]):
    """A Jira Cloud webhook body; `webhookEvent` says which event model applies."""


class WebhookAccepted(BaseModel):
    status: Literal["accepted", "duplicate"] = Field(
        description=(
            "duplicate: this delivery was seen before (a Jira retry, or the same body under another "
            "identifier); nothing new was published."
        )
    )
    identifier: str = Field(description="X-Atlassian-Webhook-Identifier (or the body's hash when absent).")
    webhook_event: str
    ticket_key: str | None = None
