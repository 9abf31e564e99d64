"""Jira's error shape: handlers raise ``JiraError`` and a middleware answers
``{"errorMessages": [...], "errors": {...}}`` with its status, as Jira does."""

from __future__ import annotations

from typing import Any

ISSUE_NOT_FOUND = "Issue does not exist or you do not have permission to see it."


class JiraError(Exception):
    def __init__(self, status: int, *messages: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(", ".join([*messages, *(errors or {}).values()]))
        self.status = status
        self.messages = list(messages)
        self.errors = dict(errors or {})

    def body(self) -> dict[str, Any]:
        return {"errorMessages": self.messages, "errors": self.errors}


def field_error(field: str, message: str) -> JiraError:
    """A 400 about one field, the way Jira reports bad input on create and edit."""
    return JiraError(400, errors={field: message})
