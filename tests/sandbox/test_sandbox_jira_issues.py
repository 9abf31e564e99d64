"""Creating and editing issues: Jira's validation, hierarchy and update operations."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from sandbox import Sandbox


async def _send(session: aiohttp.ClientSession, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    async with session.request(method, path, json=body) as response:
        text = await response.text()
        return response.status, (await response.json(content_type=None)) if text else None


def _story(**fields: Any) -> dict[str, Any]:
    return {"fields": {"project": {"key": "DEMO"}, "issuetype": {"name": "Story"}, "summary": "S", **fields}}


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"fields": {"issuetype": {"name": "Story"}, "summary": "S"}}, "project", "Specify a valid project ID or key"),
        ({"fields": {"project": {"key": "DEMO"}, "summary": "S"}}, "issuetype", "Specify an issue type"),
        ({"fields": {"project": {"key": "DEMO"}, "issuetype": {"name": "Story"}}}, "summary", "You must specify a"),
        (_story(summary="two\nlines"), "summary", "contains newline characters"),
        (_story(labels=["has space"]), "labels", "contains spaces"),
        (_story(customfield_10053="three"), "customfield_10053", "must be a number"),
        (_story(customfield_10050="not a url"), "customfield_10050", "Not a valid URL"),
        (_story(customfield_99999="x"), "customfield_99999", "cannot be set"),
        (_story(status={"name": "Done"}), "status", "cannot be set"),
        (_story(parent={"key": "DEMO-404"}), "parent", "Could not find issue"),
        (_story(parent={"key": "DEMO-2"}), "parent", "appropriate hierarchy"),
        (_story(assignee={"name": "sam"}), "assignee", "'accountId' must be"),
        (_story(description={"type": "doc", "version": 1, "content": []}), "description", "must be a string"),
        (_story(customfield_10020=1), "customfield_10020", "only active or future sprints"),
        (
            {"fields": {"project": {"key": "DEMO"}, "issuetype": {"name": "Sub-task"}, "summary": "S"}},
            "parent",
            "parent issue key or id not specified",
        ),
    ],
)
async def test_bad_input_gets_field_errors(
    jira_http: aiohttp.ClientSession, body: dict[str, Any], field: str, message: str
) -> None:
    status, answer = await _send(jira_http, "POST", "/rest/api/2/issue", body)
    assert status == 400
    assert answer["errorMessages"] == []
    assert message in answer["errors"][field]


async def test_all_field_errors_are_reported_together(jira_http: aiohttp.ClientSession) -> None:
    status, answer = await _send(
        jira_http, "POST", "/rest/api/2/issue", _story(labels=["a b"], customfield_10053="x", summary="")
    )
    assert status == 400
    assert set(answer["errors"]) == {"labels", "customfield_10053", "summary"}


async def test_nothing_is_created_when_the_input_is_bad(jira_http: aiohttp.ClientSession) -> None:
    await _send(jira_http, "POST", "/rest/api/2/issue", _story(labels=["a b"]))
    await _send(jira_http, "POST", "/rest/api/2/issue", _story(parent={"key": "DEMO-2"}))
    bad_link = {
        **_story(),
        "update": {"issuelinks": [{"add": {"type": {"name": "Nope"}, "inwardIssue": {"key": "DEMO-1"}}}]},
    }
    status, _ = await _send(jira_http, "POST", "/rest/api/2/issue", bad_link)
    assert status == 400
    status, created = await _send(jira_http, "POST", "/rest/api/2/issue", _story())
    assert status == 201 and created["key"] == "DEMO-24"


async def test_sub_tasks_and_stories_follow_the_hierarchy(jira_http: aiohttp.ClientSession) -> None:
    status, sub = await _send(
        jira_http,
        "POST",
        "/rest/api/2/issue",
        {
            "fields": {
                "project": {"key": "DEMO"},
                "issuetype": {"id": "10004"},
                "summary": "Sub",
                "parent": {"id": "10002"},
            }
        },
    )
    assert status == 201
    _, story = await _send(jira_http, "GET", "/rest/api/2/issue/DEMO-3?fields=subtasks")
    assert [s["key"] for s in story["fields"]["subtasks"]] == [sub["key"]]
    status, _ = await _send(jira_http, "PUT", "/rest/api/2/issue/DEMO-1", {"fields": {"parent": {"key": "DEMO-3"}}})
    assert status == 400


async def test_update_operations(jira_http: aiohttp.ClientSession) -> None:
    status, _ = await _send(
        jira_http,
        "PUT",
        "/rest/api/2/issue/DEMO-7",
        {
            "update": {
                "labels": [{"remove": "needs-refinement"}, {"add": "augment"}],
                "summary": [{"set": "Export to JSON (v2)"}],
                "comment": [{"add": {"body": "Refined by Augment."}}],
            }
        },
    )
    assert status == 204
    _, issue = await _send(jira_http, "GET", "/rest/api/2/issue/DEMO-7?fields=labels,summary,comment")
    assert issue["fields"]["labels"] == ["augment"]
    assert issue["fields"]["summary"] == "Export to JSON (v2)"
    assert [c["body"] for c in issue["fields"]["comment"]["comments"]] == ["Refined by Augment."]

    status, answer = await _send(jira_http, "PUT", "/rest/api/2/issue/DEMO-7", {"update": {"labels": ["plain"]}})
    assert status == 400 and "labels" in answer["errors"]
    status, answer = await _send(
        jira_http, "PUT", "/rest/api/2/issue/DEMO-7", {"fields": {"labels": []}, "update": {"labels": [{"add": "x"}]}}
    )
    assert status == 400 and "both" in answer["errors"]["labels"]


async def test_create_with_links_and_a_comment_in_update(jira_http: aiohttp.ClientSession) -> None:
    body = _story(summary="Split part")
    body["update"] = {
        "issuelinks": [{"add": {"type": {"name": "Work item split"}, "inwardIssue": {"key": "DEMO-7"}}}],
        "comment": [{"add": {"body": "Split from DEMO-7"}}],
    }
    status, created = await _send(jira_http, "POST", "/rest/api/2/issue", body)
    assert status == 201
    _, issue = await _send(jira_http, "GET", f"/rest/api/2/issue/{created['key']}?fields=issuelinks,comment")
    [link] = issue["fields"]["issuelinks"]
    assert link["inwardIssue"]["key"] == "DEMO-7" and link["type"]["inward"] == "split from"
    assert issue["fields"]["comment"]["total"] == 1


async def test_changelog_records_edits(jira_http: aiohttp.ClientSession, sandbox: Sandbox) -> None:
    await _send(
        jira_http, "PUT", "/rest/api/2/issue/DEMO-4", {"fields": {"assignee": {"accountId": sandbox.bot.account_id}}}
    )
    _, issue = await _send(jira_http, "GET", "/rest/api/2/issue/DEMO-4?expand=changelog&fields=assignee")
    [history] = issue["changelog"]["histories"]
    [item] = history["items"]
    assert item["field"] == "assignee" and item["to"] == sandbox.bot.account_id and item["toString"] == "Augment Bot"
    assert history["author"]["accountId"] == sandbox.bot.account_id


async def test_viewer_cannot_be_assigned(jira_http: aiohttp.ClientSession, sandbox: Sandbox) -> None:
    viewer = sandbox.credentials("robin@example.com")
    status, answer = await _send(
        jira_http, "PUT", "/rest/api/2/issue/DEMO-4/assignee", {"accountId": viewer.account_id}
    )
    assert status == 400 and "cannot be assigned" in answer["errors"]["assignee"]
    status, _ = await _send(
        jira_http, "PUT", "/rest/api/2/issue/DEMO-4/assignee", {"accountId": sandbox.admin.account_id}
    )
    assert status == 204


async def test_unknown_issues_are_404(jira_http: aiohttp.ClientSession) -> None:
    for method, path in (("GET", "/rest/api/2/issue/DEMO-999"), ("PUT", "/rest/api/3/issue/NOPE-1")):
        status, answer = await _send(jira_http, method, path, {"fields": {}} if method == "PUT" else None)
        assert status == 404
        assert answer == {
            "errorMessages": ["Issue does not exist or you do not have permission to see it."],
            "errors": {},
        }
    status, answer = await _send(jira_http, "PUT", "/rest/api/2/issue/DEMO-1", None)
    assert status == 400


TOO_LONG = "The entered text is too long. It exceeds the allowed limit of 32,767 characters."


def _adf(text: str) -> dict[str, Any]:
    return {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}],
    }


@pytest.mark.parametrize("field", ["description", "customfield_10052"])
async def test_rich_text_over_32767_characters_is_refused_like_jira(
    jira_http: aiohttp.ClientSession, field: str
) -> None:
    status, answer = await _send(jira_http, "PUT", "/rest/api/2/issue/DEMO-1", {"fields": {field: "x" * 32_768}})
    assert (status, answer) == (400, {"errorMessages": [], "errors": {field: TOO_LONG}})
    status, _ = await _send(jira_http, "PUT", "/rest/api/2/issue/DEMO-1", {"fields": {field: "x" * 32_767}})
    assert status == 204
    status, issue = await _send(jira_http, "GET", f"/rest/api/2/issue/DEMO-1?fields={field}")
    assert issue["fields"][field] == "x" * 32_767


async def test_summary_over_255_characters_is_refused(jira_http: aiohttp.ClientSession) -> None:
    status, answer = await _send(jira_http, "PUT", "/rest/api/2/issue/DEMO-1", {"fields": {"summary": "s" * 256}})
    assert status == 400
    assert answer["errors"] == {"summary": "Summary must be less than 255 characters."}


async def test_a_comment_over_the_limit_is_refused_and_not_added(jira_http: aiohttp.ClientSession) -> None:
    _, before = await _send(jira_http, "GET", "/rest/api/2/issue/DEMO-1/comment")
    status, answer = await _send(jira_http, "POST", "/rest/api/2/issue/DEMO-1/comment", {"body": "c" * 32_768})
    assert (status, answer) == (400, {"errorMessages": [], "errors": {"comment": TOO_LONG}})
    _, after = await _send(jira_http, "GET", "/rest/api/2/issue/DEMO-1/comment")
    assert after["total"] == before["total"]


async def test_v3_counts_the_adf_documents_json(jira_http: aiohttp.ClientSession) -> None:
    """ADF's own JSON counts toward the limit, so a v3 document holds less visible text."""
    fits_in_v2 = "x" * 32_700
    status, answer = await _send(
        jira_http, "PUT", "/rest/api/3/issue/DEMO-1", {"fields": {"description": _adf(fits_in_v2)}}
    )
    assert (status, answer) == (400, {"errorMessages": [], "errors": {"description": TOO_LONG}})
    status, _ = await _send(
        jira_http, "PUT", "/rest/api/3/issue/DEMO-1", {"fields": {"description": _adf("x" * 32_000)}}
    )
    assert status == 204
