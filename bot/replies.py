"""Jira wiki markup the bot's answers share: monospaced names, job references, plans, help.

Every pipeline that answers on a ticket writes a job id as `job_ref(job_id)` (`{{3f2c…}}`),
a command as `monospace("/augment status")`, and a plan with `plan_summary`, so the answers
look alike and no pipeline spells the markup by hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.config import TriggerRule
from schemas.jobs import PlanOperation

if TYPE_CHECKING:  # `bot.commands.context` answers with `job_ref`
    from bot.commands.context import Registry


def monospace(text: str) -> str:
    """`text` in Jira's monospace markup: `{{text}}`."""
    return f"{{{{{text}}}}}"


def job_ref(job_id: str) -> str:
    """A job id as the answers name it: `{{<job_id>}}`."""
    return monospace(job_id)


def plan_summary(plan: Sequence[PlanOperation]) -> str:
    """The plan as a Jira wiki list, one line per operation."""
    lines = []
    for operation in plan:
        if operation.kind == "update_fields":
            fields = ", ".join(sorted(operation.payload.get("fields", {})))
            lines.append(f"# set {fields} of {operation.ticket_key}")
        else:
            lines.append(f"# {operation.kind.replace('_', ' ')} ({operation.ticket_key or 'new'})")
    return "\n".join(lines)


def help_text(registry: Registry, rules: Sequence[TriggerRule]) -> str:
    """The commands every pipeline registered, then those the `comment_command` rules add."""
    lines = [f"* {monospace(route.usage)} — {route.help}" for _, route in sorted(registry.commands.items())]
    lines += [
        f"* {monospace(f'/augment {rule.command}')} — rule {rule.name}: runs {rule.action.job_type}"
        for rule in rules
        if rule.on == "comment_command"
    ]
    return "h4. Augment commands\n" + "\n".join(lines)
