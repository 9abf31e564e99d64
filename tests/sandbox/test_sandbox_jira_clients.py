"""The `jira` and `atlassian-python-api` clients, unmodified, against the sandbox."""

from __future__ import annotations

import asyncio

from atlassian import Jira
from jira import JIRA

from sandbox import Sandbox


async def test_jira_client_sees_a_cloud_site_and_the_bot(jira_client: JIRA, sandbox: Sandbox) -> None:
    me = await asyncio.to_thread(jira_client.myself)
    assert jira_client._is_cloud
    assert me["accountId"] == sandbox.bot.account_id
    assert me["displayName"] == "Augment Bot"


async def test_create_with_parent_custom_fields_and_labels(jira_client: JIRA, sandbox: Sandbox) -> None:
    fields = sandbox.custom_fields

    def create():
        return jira_client.create_issue(
            project=sandbox.project_key,
            issuetype="Story",
            summary="Export audit log",
            description="h2. Why\nAuditors ask for it.",
            parent={"key": "DEMO-1"},
            labels=["augment", "data-export"],
            **{fields["mandays"]: 2.5, fields["story_points"]: 3, fields["test_cases"]: "||Step||Result||"},
        )

    issue = await asyncio.to_thread(create)
    assert issue.key == "DEMO-24"
    assert issue.fields.parent.key == "DEMO-1"
    assert issue.fields.issuetype.name == "Story"
    assert issue.fields.labels == ["augment", "data-export"]
    assert issue.fields.description == "h2. Why\nAuditors ask for it."
    assert issue.raw["fields"][fields["mandays"]] == 2.5
    assert issue.raw["fields"][fields["story_points"]] == 3
    assert issue.raw["fields"][fields["test_cases"]] == "||Step||Result||"
    assert issue.fields.reporter.accountId == sandbox.bot.account_id


async def test_issue_update_puts_to_self_and_reloads(jira_client: JIRA) -> None:
    issue = await asyncio.to_thread(jira_client.issue, "DEMO-6")

    await asyncio.to_thread(
        issue.update,
        summary="Notify owners when an export is ready",
        description="Send an e-mail with a link.",
        fields={"customfield_10053": 1.5},
    )

    assert issue.fields.summary == "Notify owners when an export is ready"
    assert issue.fields.description == "Send an e-mail with a link."
    again = await asyncio.to_thread(jira_client.issue, "DEMO-6")
    assert again.raw["fields"]["customfield_10053"] == 1.5


async def test_labels_add_and_remove_through_update(jira_client: JIRA, atlassian_jira: Jira) -> None:
    issue = await asyncio.to_thread(jira_client.issue, "DEMO-4")
    await asyncio.to_thread(issue.add_field_value, "labels", "augment-described")
    await asyncio.to_thread(atlassian_jira.unlabel_issue, "DEMO-4", ["ui"])

    labels = (await asyncio.to_thread(jira_client.issue, "DEMO-4")).fields.labels
    assert labels == ["augment-described"]


async def test_comments_add_list_get_and_update(jira_client: JIRA, atlassian_jira: Jira) -> None:
    added = await asyncio.to_thread(jira_client.add_comment, "DEMO-5", "Preview:\n* one\n* two")
    await asyncio.to_thread(atlassian_jira.issue_edit_comment, "DEMO-5", added.id, "Preview (edited)")

    listed = await asyncio.to_thread(jira_client.comments, "DEMO-5")
    single = await asyncio.to_thread(jira_client.comment, "DEMO-5", added.id)
    assert [c.id for c in listed] == [added.id]
    assert single.body == "Preview (edited)"
    assert single.author.displayName == "Augment Bot"


async def test_issue_links_in_both_directions(jira_client: JIRA, atlassian_jira: Jira) -> None:
    types = await asyncio.to_thread(jira_client.issue_link_types)
    assert {t.name for t in types} >= {"Blocks", "Relates", "Duplicate", "Cloners", "Work item split"}

    await asyncio.to_thread(jira_client.create_issue_link, "Work item split", "DEMO-7", "DEMO-9")

    source = await asyncio.to_thread(jira_client.issue, "DEMO-7")
    target = await asyncio.to_thread(jira_client.issue, "DEMO-9")
    split = [link for link in source.fields.issuelinks if link.type.name == "Work item split"]
    assert [link.outwardIssue.key for link in split] == ["DEMO-9"]
    assert [link.inwardIssue.key for link in target.fields.issuelinks] == ["DEMO-7"]
    fetched = await asyncio.to_thread(atlassian_jira.get_issue_link, split[0].id)
    assert fetched["type"]["outward"] == "split to"


async def test_search_issues_pages_with_next_page_token(jira_client: JIRA) -> None:
    first = await asyncio.to_thread(jira_client.search_issues, "project = DEMO ORDER BY key ASC", maxResults=4)
    everything = await asyncio.to_thread(jira_client.search_issues, "project = DEMO", maxResults=0)
    by_token = await asyncio.to_thread(
        jira_client.enhanced_search_issues,
        "project = DEMO ORDER BY key ASC",
        nextPageToken=first.nextPageToken,
        maxResults=4,
    )

    assert [i.key for i in first] == ["DEMO-1", "DEMO-2", "DEMO-3", "DEMO-4"]
    assert first.nextPageToken
    assert [i.key for i in by_token] == ["DEMO-5", "DEMO-6", "DEMO-7", "DEMO-8"]
    assert len(everything) == 23
    assert everything[0].fields.summary  # *all by default in the jira client


async def test_search_with_post_and_selected_fields(jira_client: JIRA) -> None:
    found = await asyncio.to_thread(
        jira_client.search_issues, 'parent = DEMO-1 AND labels = "ui"', fields="summary,labels", use_post=True
    )
    assert [i.key for i in found] == ["DEMO-4"]
    assert set(found[0].raw["fields"]) == {"summary", "labels"}


async def test_atlassian_jql_and_enhanced_jql(atlassian_jira: Jira) -> None:
    result = await asyncio.to_thread(atlassian_jira.jql, "issuetype = Story AND status = Done")
    paged = await asyncio.to_thread(atlassian_jira.enhanced_jql, "project = DEMO", limit=3)
    tickets = await asyncio.to_thread(atlassian_jira.enhanced_jql_get_list_of_tickets, "project = DEMO")

    assert [i["key"] for i in result["issues"]] == ["DEMO-2"]
    assert result["issues"][0]["fields"]["description"]["type"] == "doc"  # v3 answers in ADF
    assert len(paged["issues"]) == 3 and paged["nextPageToken"] and paged["isLast"] is False
    assert len(tickets) == 23


async def test_atlassian_create_edit_and_read(atlassian_jira: Jira, sandbox: Sandbox) -> None:
    created = await asyncio.to_thread(
        atlassian_jira.create_issue,
        fields={
            "project": {"key": "DEMO"},
            "issuetype": {"name": "Task"},
            "summary": "Write the runbook",
            "parent": {"key": "DEMO-1"},
        },
    )
    await asyncio.to_thread(
        atlassian_jira.update_issue_field, created["key"], {"labels": ["ops"], sandbox.custom_fields["mandays"]: 4}
    )
    issue = await asyncio.to_thread(atlassian_jira.issue, created["key"])

    assert issue["fields"]["labels"] == ["ops"]
    assert issue["fields"][sandbox.custom_fields["mandays"]] == 4
    assert issue["fields"]["parent"]["key"] == "DEMO-1"


async def test_users_projects_and_fields(jira_client: JIRA, atlassian_jira: Jira, sandbox: Sandbox) -> None:
    users = await asyncio.to_thread(jira_client.search_users, query="alex@example.com")
    projects = await asyncio.to_thread(atlassian_jira.projects)
    project = await asyncio.to_thread(jira_client.project, "DEMO")
    sprint_field = await asyncio.to_thread(jira_client._get_sprint_field_id)

    assert [u.accountId for u in users] == [sandbox.admin.account_id]
    assert [p["key"] for p in projects] == ["DEMO", "TEAM"]
    assert [t.name for t in project.issueTypes] == ["Epic", "Story", "Task", "Bug", "Sub-task"]
    assert sprint_field == 10020


async def test_agile_sprints_with_the_jira_client(jira_client: JIRA, sandbox: Sandbox) -> None:
    future = await asyncio.to_thread(jira_client.sprints, sandbox.board_id, state="future")
    closed_and_active = await asyncio.to_thread(jira_client.sprints, sandbox.board_id, state="closed,active")
    created = await asyncio.to_thread(jira_client.create_sprint, "DEMO Sprint 5", sandbox.board_id, goal="Hardening")
    await asyncio.to_thread(jira_client.add_issues_to_sprint, created.id, ["DEMO-5", "DEMO-6"])
    renamed = await asyncio.to_thread(jira_client.update_sprint, created.id, name="DEMO Sprint 5 (hardening)")

    assert [s.name for s in future] == ["DEMO Sprint 3", "DEMO Sprint 4"]
    assert [s.state for s in closed_and_active] == ["closed", "active"]
    assert created.state == "future"
    assert renamed["name"] == "DEMO Sprint 5 (hardening)"
    issue = await asyncio.to_thread(jira_client.issue, "DEMO-5")
    assert [s["id"] for s in issue.raw["fields"]["customfield_10020"]] == [created.id]


async def test_agile_with_the_atlassian_client(atlassian_jira: Jira, sandbox: Sandbox) -> None:
    boards = await asyncio.to_thread(atlassian_jira.get_all_agile_boards, project_key="DEMO")
    sprints = await asyncio.to_thread(atlassian_jira.get_all_sprints_from_board, sandbox.board_id, state="active")
    created = await asyncio.to_thread(
        atlassian_jira.create_sprint,
        "Next",
        sandbox.board_id,
        "2030-01-06T09:00:00.000+00:00",
        "2030-01-20T09:00:00.000+00:00",
    )
    await asyncio.to_thread(atlassian_jira.add_issues_to_sprint, created["id"], ["DEMO-7"])
    issues = await asyncio.to_thread(atlassian_jira.get_sprint_issues, created["id"], 0, 50)

    assert [b["id"] for b in boards["values"]] == [sandbox.board_id]
    assert [s["name"] for s in sprints["values"]] == ["DEMO Sprint 2"]
    assert created["startDate"] == "2030-01-06T09:00:00.000+00:00"
    assert issues["total"] == 1 and issues["issues"][0]["key"] == "DEMO-7"


async def test_transitions_move_status_and_resolution(jira_client: JIRA) -> None:
    transitions = await asyncio.to_thread(jira_client.transitions, "DEMO-4")
    done = next(t["id"] for t in transitions if t["name"] == "Done")
    await asyncio.to_thread(jira_client.transition_issue, "DEMO-4", done)

    issue = await asyncio.to_thread(jira_client.issue, "DEMO-4")
    assert issue.fields.status.name == "Done"
    assert issue.fields.resolution.name == "Done"
