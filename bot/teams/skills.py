"""A member's skill is one of the configured set (`planning.teams`), matched without regard to
case and stored in the configured spelling, so `backend` and `Backend` are one skill."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from schemas.teams import TeamFields

T = TypeVar("T", bound=TeamFields)


class UnknownSkillError(ValueError):
    """`members[index].skill` is not one of `allowed`."""

    def __init__(self, index: int, skill: str, allowed: Sequence[str]) -> None:
        super().__init__(f"skill {skill!r} is not one of the configured skills: {', '.join(allowed)}")
        self.index = index
        self.skill = skill


def canonical_skills(team: T, allowed: Sequence[str]) -> T:
    """A copy of `team` whose members' skills are spelled as configured; raises
    `UnknownSkillError` for the first member whose skill is not configured."""
    spelling = {skill.casefold(): skill for skill in allowed}
    members = []
    for index, member in enumerate(team.members):
        canonical = spelling.get(member.skill.strip().casefold())
        if canonical is None:
            raise UnknownSkillError(index, member.skill, allowed)
        members.append(member.model_copy(update={"skill": canonical}))
    return team.model_copy(update={"members": members})
