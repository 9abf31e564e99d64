"""Teams and their members: the team member database (`/teams`, `augment teams import`).

- A team's `id` is a slug, 1–64 characters of `a-z`, `0-9` and `-` (it becomes a KV key); a
  client may choose it, else it is derived from the name (`slug`).
- `default_sprint_days`: the team's usual sprint, 1–60 working days; members' capacities are
  per sprint of that length.
- At most 200 members, each with a `name`, a Jira `account_id` (Cloud's shape, e.g.
  `712020:5d2c…`; unique within the team), a `skill` and `capacity_days_per_sprint` (more
  than 0, at most 60).
- The skills allowed are the configured `planning.teams`, which schemas cannot know: the
  service checks and canonicalises them (`bot/teams/skills.py`).
- Responses add read-only figures: capacity per skill and in total, and the revision
  (`ETag`, `If-Match`).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator
from pydantic.config import JsonDict

from schemas.base import RequestModel

TEAM_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"
ACCOUNT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9:_-]{0,127}$"
MAX_MEMBERS = 200
MAX_SPRINT_DAYS = 60

TeamId = Annotated[
    str,
    StringConstraints(max_length=64, pattern=TEAM_ID_PATTERN),
    Field(description="A slug: 1–64 characters of a-z, 0-9 and -.", examples=["demo"]),
]
AccountId = Annotated[
    str,
    StringConstraints(max_length=128, pattern=ACCOUNT_ID_PATTERN),
    Field(description="The member's Jira accountId.", examples=["712020:5d2c7b8e-1a3f-4e6d-8c9b-000000000003"]),
]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]


def slug(name: str) -> str:
    """`Payments Core (EU)` → `payments-core-eu`: ASCII letters and digits, `-` between words, at most 64."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name).strip("-")[:64].rstrip("-")


class TeamMember(RequestModel):
    name: Name = Field(description="The member's name.")
    account_id: AccountId
    skill: str = Field(
        min_length=1,
        max_length=80,
        description="One of the configured skills (`planning.teams`), any case; answered in the configured case.",
        examples=["Backend"],
    )
    capacity_days_per_sprint: float = Field(
        gt=0, le=MAX_SPRINT_DAYS, strict=True, description="Man-days the member gives a sprint of the default length."
    )


class TeamFields(RequestModel):
    """What a team is, without its id."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    name: Name = Field(description="The team's name.")
    default_sprint_days: int = Field(
        default=10, ge=1, le=MAX_SPRINT_DAYS, strict=True, description="The team's usual sprint, in working days."
    )
    members: list[TeamMember] = Field(default_factory=list, max_length=MAX_MEMBERS)
    """The team's members and their skills."""

    @field_validator("members")
    @classmethod
    def _unique_accounts(cls, members: list[TeamMember]) -> list[TeamMember]:
        counts = Counter(member.account_id for member in members)
        twice = sorted(account for account, count in counts.items() if count > 1)
        if twice:
            raise ValueError(f"an account_id may appear once in a team; repeated: {', '.join(twice)}")
        return members


class TeamCreate(TeamFields):
    """`POST /teams`: `id` optional (derived from the name)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "demo",
                    "name": "Demo Team",
                    "default_sprint_days": 10,
                    "members": [
                        {
                            "name": "Sam Developer",
                            "account_id": "712020:5d2c7b8e-1a3f-4e6d-8c9b-000000000003",
                            "skill": "Backend",
                            "capacity_days_per_sprint": 8,
                        },
                        {
                            "name": "Alex Admin",
                            "account_id": "712020:3f0e6a9c-5a1b-4c7d-9e2f-000000000002",
                            "skill": "Frontend",
                            "capacity_days_per_sprint": 6,
                        },
                        {
                            "name": "Kim Tester",
                            "account_id": "712020:9a8b7c6d-5e4f-4a3b-2c1d-000000000004",
                            "skill": "QA",
                            "capacity_days_per_sprint": 7.5,
                        },
                    ],
                }
            ]
        },
        use_attribute_docstrings=True,
    )

    id: TeamId | None = Field(default=None, validate_default=True)
    """The team's identifier; derived from its name when left out."""

    @field_validator("id")
    @classmethod
    def _derived_id(cls, team_id: str | None, info: ValidationInfo) -> str:
        if team_id is not None:
            return team_id
        derived = slug(info.data.get("name", ""))
        if not derived:
            raise ValueError("the name has no letters or digits to make an id of; give an id")
        return derived


class TeamReplace(TeamFields):
    """`PUT /teams/{id}`: the whole team; an `id` in the body must be the path's."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Demo Team",
                    "default_sprint_days": 10,
                    "members": [
                        {
                            "name": "Sam Developer",
                            "account_id": "712020:5d2c7b8e-1a3f-4e6d-8c9b-000000000003",
                            "skill": "Backend",
                            "capacity_days_per_sprint": 8,
                        },
                        {
                            "name": "Alex Admin",
                            "account_id": "712020:3f0e6a9c-5a1b-4c7d-9e2f-000000000002",
                            "skill": "Frontend",
                            "capacity_days_per_sprint": 4,
                        },
                        {
                            "name": "Kim Tester",
                            "account_id": "712020:9a8b7c6d-5e4f-4a3b-2c1d-000000000004",
                            "skill": "QA",
                            "capacity_days_per_sprint": 7.5,
                        },
                    ],
                }
            ]
        },
        use_attribute_docstrings=True,
    )

    id: TeamId | None = None
    """The team's identifier; must match the path when given."""


class Team(BaseModel):
    """A team as stored in `augment_teams`."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    id: TeamId
    name: str
    """The team's name."""
    default_sprint_days: int
    """Working days in one of the team's sprints."""
    members: list[TeamMember]
    """The team's members and their skills."""


# The demo team as `GET /teams/demo` answers it: the example of a team and of a list of them.
TEAM_VIEW_EXAMPLE: JsonDict = {
    "id": "demo",
    "name": "Demo Team",
    "default_sprint_days": 10,
    "members": [
        {
            "name": "Sam Developer",
            "account_id": "712020:5d2c7b8e-1a3f-4e6d-8c9b-000000000003",
            "skill": "Backend",
            "capacity_days_per_sprint": 8.0,
        },
        {
            "name": "Kim Tester",
            "account_id": "712020:9a8b7c6d-5e4f-4a3b-2c1d-000000000004",
            "skill": "QA",
            "capacity_days_per_sprint": 7.5,
        },
    ],
    "revision": 1,
    "capacity_per_skill": {"Backend": 8.0, "QA": 7.5},
    "total_capacity_days": 15.5,
}


class TeamView(Team):
    """A team as answered: the stored team and figures derived from it."""

    model_config = ConfigDict(json_schema_extra={"examples": [TEAM_VIEW_EXAMPLE]})

    revision: int = Field(description="The stored revision; send it as `If-Match` to replace only this version.")
    capacity_per_skill: dict[str, float] = Field(
        description="Man-days per sprint of `default_sprint_days`, by skill (read-only)."
    )
    total_capacity_days: float = Field(description="All members' man-days per sprint (read-only).")


class TeamPath(BaseModel):
    """`/teams/{team_id}`."""

    team_id: TeamId


class TeamListQuery(RequestModel):
    limit: int = Field(default=50, ge=1, le=200, description="Teams per answer, in id order.")


class TeamList(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"teams": [TEAM_VIEW_EXAMPLE], "total": 1}]}, use_attribute_docstrings=True
    )

    teams: list[TeamView]
    """The teams."""
    total: int = Field(description="Teams in the database.")
