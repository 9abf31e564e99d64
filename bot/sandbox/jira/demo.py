"""The demo site: project DEMO with an epic backed by a PRD and an RFC, its stories,
a few tasks, a scrum board with closed, active and future sprints, and the people
who use it (the bot, a human admin, two developers and a read-only viewer).

Dates are relative to "now" so the active sprint is always running.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.sandbox.jira.model import (
    SPRINT_FIELD,
    Board,
    ChangeGroup,
    ChangeItem,
    Comment,
    CustomField,
    Issue,
    IssueLink,
    IssueLinkType,
    IssueType,
    Priority,
    Project,
    SiteData,
    Sprint,
    Status,
    User,
)

BOT_ID = "712020:0b5e9c1a-7f2d-4c1e-9a55-a0a0a0a0b0b1"
ADMIN_ID = "712020:3f0e6a9c-5a1b-4c7d-9e2f-000000000002"
SAM_ID = "712020:5d2c7b8e-1a3f-4e6d-8c9b-000000000003"
KIM_ID = "712020:9a8b7c6d-5e4f-4a3b-2c1d-000000000004"
VIEWER_ID = "712020:c4d3e2f1-0a9b-4c8d-7e6f-000000000005"

BOARD_ID = 1
PROJECT_KEY = "DEMO"

CUSTOM_FIELD_IDS = {
    "prd": "customfield_10050",
    "rfc": "customfield_10051",
    "test_cases": "customfield_10052",
    "mandays": "customfield_10053",
    "sprint": SPRINT_FIELD,
    "story_points": "customfield_10016",
}

_EPIC, _STORY, _TASK, _BUG, _SUBTASK = "10000", "10001", "10002", "10003", "10004"
_TO_DO, _IN_PROGRESS, _DONE = "10000", "3", "10001"
_MEDIUM, _HIGH = "3", "2"


@dataclass(frozen=True)
class DemoLinks:
    """Absolute Cloud URLs of the Confluence pages the epic points at."""

    prd_url: str
    rfc_url: str


def demo_site(now: datetime, links: DemoLinks) -> SiteData:
    site = SiteData(
        users=_users(),
        statuses=[
            Status(id=_TO_DO, name="To Do", category="new"),
            Status(id=_IN_PROGRESS, name="In Progress", category="indeterminate"),
            Status(id=_DONE, name="Done", category="done"),
        ],
        priorities=[
            Priority(id="1", name="Highest"),
            Priority(id=_HIGH, name="High"),
            Priority(id=_MEDIUM, name="Medium"),
            Priority(id="4", name="Low"),
            Priority(id="5", name="Lowest"),
        ],
        issue_types=[
            IssueType(
                id=_EPIC, name="Epic", description="A big user story that needs to be broken down.", hierarchy_level=1
            ),
            IssueType(
                id=_STORY,
                name="Story",
                description="Functionality or a feature expressed as a user goal.",
                hierarchy_level=0,
            ),
            IssueType(id=_TASK, name="Task", description="A small, distinct piece of work.", hierarchy_level=0),
            IssueType(id=_BUG, name="Bug", description="A problem or error.", hierarchy_level=0),
            IssueType(
                id=_SUBTASK,
                name="Sub-task",
                description="A small piece of work that's part of a larger task.",
                hierarchy_level=-1,
            ),
        ],
        projects=[
            Project(
                id="10000",
                key=PROJECT_KEY,
                name="Demo project",
                description="Where Augment shows what it does.",
                lead_account_id=ADMIN_ID,
                issue_type_ids=[_EPIC, _STORY, _TASK, _BUG, _SUBTASK],
            )
        ],
        custom_fields=_custom_fields(),
        link_types=[
            IssueLinkType(id="10000", name="Blocks", inward="is blocked by", outward="blocks"),
            IssueLinkType(id="10001", name="Cloners", inward="is cloned by", outward="clones"),
            IssueLinkType(id="10002", name="Duplicate", inward="is duplicated by", outward="duplicates"),
            IssueLinkType(id="10003", name="Relates", inward="relates to", outward="relates to"),
            IssueLinkType(id="10004", name="Work item split", inward="split from", outward="split to"),
        ],
        boards=[Board(id=BOARD_ID, name="DEMO board", type="scrum", project_id="10000")],
        sprints=_sprints(now),
    )
    site.issues = _issues(now, links)
    site.links = [
        IssueLink(id="10000", type_id="10000", inward_issue_id="10007", outward_issue_id="10002"),
        IssueLink(id="10001", type_id="10003", inward_issue_id="10004", outward_issue_id="10005"),
    ]
    site.next_ids = {
        "issue": 10000 + len(site.issues),
        "comment": 10003,
        "link": 10002,
        "changegroup": 10004,
        "sprint": 5,
        "webhook": 1,
    }
    site.issue_counters = {PROJECT_KEY: len(site.issues)}
    return site


def _users() -> list[User]:
    return [
        User(
            account_id=BOT_ID,
            email="augment-bot@example.com",
            display_name="Augment Bot",
            api_token="ATATT3xSandboxBotToken0001",
            role="member",
        ),
        User(
            account_id=ADMIN_ID,
            email="alex@example.com",
            display_name="Alex Admin",
            api_token="ATATT3xSandboxAdminToken02",
            role="admin",
        ),
        User(
            account_id=SAM_ID,
            email="sam@example.com",
            display_name="Sam Developer",
            api_token="ATATT3xSandboxSamToken0003",
            role="member",
        ),
        User(
            account_id=KIM_ID,
            email="kim@example.com",
            display_name="Kim Tester",
            api_token="ATATT3xSandboxKimToken0004",
            role="member",
        ),
        User(
            account_id=VIEWER_ID,
            email="robin@example.com",
            display_name="Robin Reader",
            api_token="ATATT3xSandboxViewToken005",
            role="viewer",
        ),
    ]


def _custom_fields() -> list[CustomField]:
    url_type = "com.atlassian.jira.plugin.system.customfieldtypes:url"
    return [
        CustomField(
            id="customfield_10050", name="PRD Link", type="string", custom_type=url_type, clause_suffix="URL Field"
        ),
        CustomField(
            id="customfield_10051", name="RFC Link", type="string", custom_type=url_type, clause_suffix="URL Field"
        ),
        CustomField(
            id="customfield_10052",
            name="Test Cases",
            type="string",
            custom_type="com.atlassian.jira.plugin.system.customfieldtypes:textarea",
            clause_suffix="Paragraph",
        ),
        CustomField(
            id="customfield_10053",
            name="Mandays",
            type="number",
            custom_type="com.atlassian.jira.plugin.system.customfieldtypes:float",
            clause_suffix="Number",
        ),
        CustomField(
            id=SPRINT_FIELD,
            name="Sprint",
            type="array",
            items="json",
            custom_type="com.pyxis.greenhopper.jira:gh-sprint",
            clause_suffix="Sprint",
        ),
        CustomField(
            id="customfield_10016",
            name="Story Points",
            type="number",
            custom_type="com.pyxis.greenhopper.jira:jsw-story-points",
            clause_suffix="Number",
        ),
    ]


def _sprints(now: datetime) -> list[Sprint]:
    day = timedelta(days=1)
    start_1 = (now - 17 * day).replace(hour=9, minute=0, second=0, microsecond=0)
    start_2 = start_1 + 14 * day
    return [
        Sprint(
            id=1,
            name="DEMO Sprint 1",
            state="closed",
            board_id=BOARD_ID,
            goal="Ship CSV export to beta",
            start=start_1,
            end=start_1 + 14 * day,
            complete=start_1 + 14 * day,
            created=start_1 - 3 * day,
        ),
        Sprint(
            id=2,
            name="DEMO Sprint 2",
            state="active",
            board_id=BOARD_ID,
            goal="Scheduled exports",
            start=start_2,
            end=start_2 + 14 * day,
            created=start_1 + 10 * day,
        ),
        Sprint(id=3, name="DEMO Sprint 3", state="future", board_id=BOARD_ID, created=start_2 + day),
        Sprint(id=4, name="DEMO Sprint 4", state="future", board_id=BOARD_ID, created=start_2 + day),
    ]


def _issues(now: datetime, links: DemoLinks) -> list[Issue]:
    day = timedelta(days=1)
    created = (now - 24 * day).replace(microsecond=0)

    def issue(number: int, type_id: str, summary: str, **fields: object) -> Issue:
        moment = created + number * timedelta(hours=3)
        values: dict[str, object] = {
            "id": str(9999 + number),
            "key": f"{PROJECT_KEY}-{number}",
            "project_id": "10000",
            "issue_type_id": type_id,
            "status_id": _TO_DO,
            "priority_id": _MEDIUM,
            "summary": summary,
            "creator_id": ADMIN_ID,
            "reporter_id": ADMIN_ID,
            "created": moment,
            "updated": moment,
            "status_changed": moment,
        }
        values.update(fields)
        return Issue.model_validate(values)

    epic_id = "10000"
    return [
        issue(
            1,
            _EPIC,
            "Self-serve data export",
            description=(
                "h2. Summary\nLet workspace owners export their account data without filing a support ticket.\n\n"
                "h2. Documents\n* PRD: the product requirements\n* RFC: the technical design"
            ),
            labels=["data-export"],
            custom={"customfield_10050": links.prd_url, "customfield_10051": links.rfc_url},
        ),
        issue(
            2,
            _STORY,
            "Export account data as CSV",
            parent_id=epic_id,
            status_id=_DONE,
            assignee_id=SAM_ID,
            sprint_ids=[1],
            resolution_date=now - 4 * day,
            description=(
                "As a workspace owner I want to download my account data as CSV files "
                "so that I can analyse it in a spreadsheet.\n\n"
                "h3. Acceptance criteria\n* One CSV file per data set, UTF-8 with a header row\n"
                "* Dates use ISO 8601"
            ),
            custom={
                "customfield_10016": 5,
                "customfield_10052": "||Step||Expected||\n|Request a CSV export|A ZIP arrives|",
            },
        ),
        issue(
            3,
            _STORY,
            "Schedule recurring exports",
            parent_id=epic_id,
            status_id=_IN_PROGRESS,
            assignee_id=SAM_ID,
            sprint_ids=[2],
            priority_id=_HIGH,
            description=(
                "As a finance admin I want exports to run every month so that audit data is ready without manual work."
            ),
            custom={"customfield_10016": 8},
        ),
        issue(4, _STORY, "Show export history", parent_id=epic_id, sprint_ids=[2], labels=["ui"]),
        issue(
            5,
            _STORY,
            "Restrict exports to workspace admins",
            parent_id=epic_id,
            description="Only owners and admins may run or schedule exports.",
        ),
        issue(6, _STORY, "Notify users when an export is ready", parent_id=epic_id),
        issue(7, _STORY, "Export to JSON", parent_id=epic_id, labels=["needs-refinement"]),
        issue(
            8,
            _TASK,
            "Set up the export storage bucket",
            parent_id=epic_id,
            assignee_id=KIM_ID,
            sprint_ids=[2],
            custom={"customfield_10053": 2},
            description="Per-region bucket with a 7-day lifecycle rule.",
            comments=[
                Comment(
                    id="10000",
                    author_id=ADMIN_ID,
                    body="Please reuse the backup bucket policy.",
                    created=now - 2 * day,
                    updated=now - 2 * day,
                    update_author_id=ADMIN_ID,
                ),
                Comment(
                    id="10001",
                    author_id=KIM_ID,
                    body="Will do, terraform change is up for review.",
                    created=now - day,
                    updated=now - day,
                    update_author_id=KIM_ID,
                ),
            ],
        ),
        issue(9, _TASK, "Document the export API rate limits", custom={"customfield_10053": 1}),
        issue(
            10,
            _BUG,
            "CSV export drops non-ASCII characters",
            status_id=_TO_DO,
            priority_id=_HIGH,
            description="Names like *Zoë* come out as {{Zo?}} in the CSV.",
            comments=[
                Comment(
                    id="10002",
                    author_id=SAM_ID,
                    body="Reproduced with the Latin-1 writer.",
                    created=now - 3 * day,
                    updated=now - 3 * day,
                    update_author_id=SAM_ID,
                ),
            ],
            history=[
                ChangeGroup(
                    id="10000",
                    author_id=ADMIN_ID,
                    created=now - 3 * day,
                    items=[
                        ChangeItem(
                            field="priority",
                            fieldtype="jira",
                            field_id="priority",
                            from_value=_MEDIUM,
                            from_string="Medium",
                            to_value=_HIGH,
                            to_string="High",
                        )
                    ],
                )
            ],
        ),
    ]
