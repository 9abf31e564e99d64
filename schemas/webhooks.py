"""`POST /webhooks/jira`: the body Jira sends and what Augment answers."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

from schemas.events import JiraEvent


class JiraWebhook(RootModel[JiraEvent]):
    """A Jira Cloud webhook body; `webhookEvent` says which event model applies."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "webhookEvent": "comment_created",
                    "timestamp": 1798794000000,
                    "comment": {
                        "id": "10200",
                        "body": "/augment describe",
                        "author": {
                            "accountId": "712020:3f0e6a9c-5a1b-4c7d-9e2f-000000000002",
                            "displayName": "Alex Admin",
                        },
                    },
                    "issue": {"id": "10002", "key": "DEMO-3", "fields": {"summary": "Schedule recurring exports"}},
                }
            ]
        }
    )


class WebhookAccepted(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "accepted",
                    "identifier": "5f0d2c1e-9a8b-4c7d-8e6f-000000000001",
                    "webhook_event": "comment_created",
                    "ticket_key": "DEMO-3",
                }
            ]
        },
        use_attribute_docstrings=True,
    )

    status: Literal["accepted", "duplicate"] = Field(
        description=(
            "duplicate: this delivery was seen before (a Jira retry, or the same body under another "
            "identifier); nothing new was published."
        )
    )
    identifier: str = Field(description="X-Atlassian-Webhook-Identifier (or the body's hash when absent).")
    webhook_event: str
    """The event received."""
    ticket_key: str | None = None
    """The issue the event is about."""
