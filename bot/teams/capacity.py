"""What the sprint planner asks of a team: capacity per skill for a sprint, and who has which skill.

A member's `capacity_days_per_sprint` is for a sprint of the team's `default_sprint_days`; a
sprint of another length scales it in proportion (a 5-day sprint of a 10-day team halves it).
"""

from __future__ import annotations

from schemas.teams import Team


def capacity_per_skill(team: Team, sprint_days: float | None = None) -> dict[str, float]:
    """Man-days per skill for a sprint of `sprint_days` working days (default: the team's own)."""
    if sprint_days is not None and sprint_days <= 0:
        raise ValueError(f"sprint_days must be more than 0, not {sprint_days}")
    scale = 1.0 if sprint_days is None else sprint_days / team.default_sprint_days
    totals: dict[str, float] = {}
    for member in team.members:
        totals[member.skill] = totals.get(member.skill, 0.0) + member.capacity_days_per_sprint * scale
    # Rounded to hundredths: a scaled capacity of 3.3333… man-days plans no better than 3.33.
    return {skill: round(days, 2) for skill, days in sorted(totals.items())}


def member_skill(team: Team, account_id: str) -> str | None:
    """The skill of the member with this Jira accountId, or None when no member has it."""
    return next((member.skill for member in team.members if member.account_id == account_id), None)
