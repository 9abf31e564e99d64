"""A Jira Cloud stand-in, faithful enough that code written against it works
unchanged against Jira Cloud: REST platform v2/v3, the agile API, admin webhooks with
Jira's delivery semantics, fault injection, and Confluence pages under ``/wiki``."""

from sandbox.jira.app import build_jira_app
from sandbox.jira.faults import FaultSettings
from sandbox.jira.state import JiraState
from sandbox.jira.webhook_delivery import sign_body

__all__ = ["FaultSettings", "JiraState", "build_jira_app", "sign_body"]
