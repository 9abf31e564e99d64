"""The sandbox's JQL engine: what each query selects, in which order, and Jira's errors.

Six issues in two projects; "now" is Wednesday 2025-03-12 15:30 UTC, so the week began
on Sunday 2025-03-09. Expected keys are listed in the default order, ascending id.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from sandbox.jql import IssueFacts, JqlError, compile_jql

NOW = datetime(2025, 3, 12, 15, 30, tzinfo=UTC)
CUSTOM_FIELDS = {"prd link": "customfield_10050", "story points": "customfield_10016"}


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


def issue(key: str, id: int, **facts: object) -> IssueFacts:
    project = key.split("-")[0]
    defaults: dict[str, object] = {
        "project": project,
        "project_name": {"DEMO": "Demo project", "OPS": "Operations"}[project],
        "issuetype": "Task",
        "status": "To Do",
        "labels": (),
        "parent": None,
        "sprints": (),
        "summary": "",
        "description": "",
        "comments": (),
        "assignee": None,
        "reporter": None,
        "custom": {},
    }
    return IssueFacts(key=key, id=id, **{**defaults, **facts})  # type: ignore[arg-type]


SPRINT_1 = (1, "Sprint 1", "closed")
SPRINT_2 = (2, "Sprint 2", "active")
SPRINT_3 = (3, "Sprint 3", "future")

ISSUES = [
    issue(
        "DEMO-1", 10001, issuetype="Epic", status="In Progress", labels=("backend",),
        summary="Checkout revamp", description="Rework the whole checkout flow for mobile users.",
        assignee="acc-alice", reporter="acc-bob",
        created=at("2025-01-06 09:00"), updated=at("2025-03-01 10:00"),
        custom={"customfield_10050": "https://wiki.example.com/prd/checkout", "customfield_10016": None},
    ),
    issue(
        "DEMO-2", 10002, issuetype="Story", status="Done", labels=("frontend", "auth"), parent="DEMO-1",
        sprints=(SPRINT_1, SPRINT_2), summary="Login page rejects valid passwords",
        description="The login form fails when the e-mail address has upper-case letters.",
        comments=("Reproduced on staging.", "Fixed by normalising the case of e-mail addresses."),
        assignee="acc-alice", reporter="acc-bob",
        created=at("2025-02-03 14:00"), updated=at("2025-03-12 09:00"),
        custom={"customfield_10016": 5},
    ),
    issue(
        "DEMO-3", 10003, issuetype="Sub-task", status="Done", parent="DEMO-2", sprints=(SPRINT_2,),
        summary="Normalise e-mail case at login", assignee="acc-carol", reporter="acc-alice",
        created=at("2025-02-20 08:00"), updated=at("2025-03-11 18:00"),
    ),
    issue(
        "DEMO-10", 10010, parent="DEMO-1", sprints=(SPRINT_2,), summary="Write checkout tests",
        description="Cover the payment step end to end.", comments=("Blocked until the sandbox is ready.",),
        reporter="acc-bob", created=at("2025-03-09 10:00"), updated=at("2025-03-10 12:00"),
        custom={"customfield_10016": 3},
    ),
    issue(
        "DEMO-11", 10011, issuetype="Bug", labels=("Backend", "urgent"), sprints=(SPRINT_3,),
        summary="Payment gateway timeout", description="Card payments time out after 30 seconds.",
        comments=("Seen twice in production.",), assignee="acc-bob", reporter="acc-alice",
        created=at("2025-03-12 15:00"), updated=at("2025-03-12 15:10"),
        custom={"customfield_10016": 8, "customfield_10050": None},
    ),
    issue(
        "OPS-1", 20001, status="In Progress", labels=("infra",), summary="Rotate database credentials",
        description="Quarterly rotation.", reporter="acc-carol",
        created=at("2024-12-31 23:00"), updated=at("2025-02-28 16:00"),
    ),
]  # fmt: skip

ALL = ["DEMO-1", "DEMO-2", "DEMO-3", "DEMO-10", "DEMO-11", "OPS-1"]


def search(jql: str, **options: object) -> list[str]:
    settings: dict[str, object] = {"now": NOW, "custom_field_names": CUSTOM_FIELDS, "current_user": "acc-alice"}
    query = compile_jql(jql, **{**settings, **options})  # type: ignore[arg-type]
    return [found.key for found in query.order(fact for fact in ISSUES if query.matches(fact))]


def error(jql: str, **options: object) -> str:
    with pytest.raises(JqlError) as raised:
        search(jql, **options)
    return str(raised.value)


SELECTIONS = [
    # No condition selects everything.
    ("", ALL),
    ("   ", ALL),
    # project: key or name, any case.
    ("project = DEMO", ["DEMO-1", "DEMO-2", "DEMO-3", "DEMO-10", "DEMO-11"]),
    ("project = demo", ["DEMO-1", "DEMO-2", "DEMO-3", "DEMO-10", "DEMO-11"]),
    ('project = "Operations"', ["OPS-1"]),
    ("project = 'demo PROJECT'", ["DEMO-1", "DEMO-2", "DEMO-3", "DEMO-10", "DEMO-11"]),
    ("project in (OPS, NOPE)", ["OPS-1"]),
    ("project != DEMO", ["OPS-1"]),
    ("project not in (DEMO, OPS)", []),
    ("project is EMPTY", []),
    ("project is not EMPTY", ALL),
    # key, issuekey, id: by key or id; comparisons within a project.
    ("key = DEMO-2", ["DEMO-2"]),
    ("issuekey = demo-2", ["DEMO-2"]),
    ("id = 10003", ["DEMO-3"]),
    ('key = "10003"', ["DEMO-3"]),
    ("key in (DEMO-1, 20001)", ["DEMO-1", "OPS-1"]),
    ("key != DEMO-1 AND project = DEMO", ["DEMO-2", "DEMO-3", "DEMO-10", "DEMO-11"]),
    ("key > DEMO-3", ["DEMO-10", "DEMO-11"]),
    ("key <= DEMO-2", ["DEMO-1", "DEMO-2"]),
    ("id >= 10010", ["DEMO-10", "DEMO-11", "OPS-1"]),
    # issuetype, issueType, type.
    ("issuetype = Story", ["DEMO-2"]),
    ("issueType = story", ["DEMO-2"]),
    ("type in (Bug, Task)", ["DEMO-10", "DEMO-11", "OPS-1"]),
    ("issuetype != Epic", ["DEMO-2", "DEMO-3", "DEMO-10", "DEMO-11", "OPS-1"]),
    ("issuetype in standardIssueTypes()", ["DEMO-1", "DEMO-2", "DEMO-10", "DEMO-11", "OPS-1"]),
    ("issuetype in subTaskIssueTypes()", ["DEMO-3"]),
    # status.
    ('status = "In Progress"', ["DEMO-1", "OPS-1"]),
    ("status = 'to do'", ["DEMO-10", "DEMO-11"]),
    ("status = In\\ Progress", ["DEMO-1", "OPS-1"]),
    ('status = "In\\u0020Progress"', ["DEMO-1", "OPS-1"]),
    ('status not in (Done, "To Do")', ["DEMO-1", "OPS-1"]),
    # labels: case-sensitive; != and NOT IN skip issues without labels, NOT does not.
    ("labels = backend", ["DEMO-1"]),
    ("labels in (Backend, infra)", ["DEMO-11", "OPS-1"]),
    ("labels != backend", ["DEMO-2", "DEMO-11", "OPS-1"]),
    ("labels not in (backend, auth)", ["DEMO-11", "OPS-1"]),
    ("NOT labels = backend", ["DEMO-2", "DEMO-3", "DEMO-10", "DEMO-11", "OPS-1"]),
    ("labels is EMPTY", ["DEMO-3", "DEMO-10"]),
    ("labels IS NULL", ["DEMO-3", "DEMO-10"]),
    ("labels is not empty", ["DEMO-1", "DEMO-2", "DEMO-11", "OPS-1"]),
    ("labels = EMPTY", ["DEMO-3", "DEMO-10"]),
    ("labels != EMPTY", ["DEMO-1", "DEMO-2", "DEMO-11", "OPS-1"]),
    ("labels in (urgent, EMPTY)", ["DEMO-3", "DEMO-10", "DEMO-11"]),
    ("labels not in (backend, EMPTY)", ["DEMO-2", "DEMO-11", "OPS-1"]),
    # parent.
    ("parent = DEMO-1", ["DEMO-2", "DEMO-10"]),
    ("parent in (demo-2)", ["DEMO-3"]),
    ("parent != DEMO-1", ["DEMO-3"]),
    ("parent is EMPTY", ["DEMO-1", "DEMO-11", "OPS-1"]),
    # sprint: id, name or state.
    ("sprint = 2", ["DEMO-2", "DEMO-3", "DEMO-10"]),
    ('sprint = "sprint 1"', ["DEMO-2"]),
    ("sprint in (1, 'Sprint 3')", ["DEMO-2", "DEMO-11"]),
    ("sprint in openSprints()", ["DEMO-2", "DEMO-3", "DEMO-10"]),
    ("sprint in futureSprints()", ["DEMO-11"]),
    ("sprint in closedSprints()", ["DEMO-2"]),
    ("sprint not in openSprints()", ["DEMO-11"]),
    ("sprint != 1", ["DEMO-3", "DEMO-10", "DEMO-11"]),
    ("sprint is EMPTY", ["DEMO-1", "OPS-1"]),
    ("sprint is not EMPTY", ["DEMO-2", "DEMO-3", "DEMO-10", "DEMO-11"]),
    # Text search: words in any order, phrases, prefixes, stop words; never substrings.
    ("summary ~ checkout", ["DEMO-1", "DEMO-10"]),
    ("summary ~ CHECKOUT", ["DEMO-1", "DEMO-10"]),
    ('summary ~ "checkout tests"', ["DEMO-10"]),
    ('summary ~ "tests checkout"', ["DEMO-10"]),
    ('summary ~ "\\"checkout tests\\""', ["DEMO-10"]),
    ('summary ~ "\\"tests checkout\\""', []),
    ("summary ~ '\"valid passwords\"'", ["DEMO-2"]),
    ("summary ~ 'pass*'", ["DEMO-2"]),
    ("summary ~ 'check* tests'", ["DEMO-10"]),
    ('summary ~ "the login"', ["DEMO-2", "DEMO-3"]),
    ("summary ~ log", []),
    ("summary ~ 'tests or checkout'", ["DEMO-10"]),
    ('summary ~ "\\"checkout -revamp\\""', ["DEMO-1"]),
    ("summary !~ checkout", ["DEMO-2", "DEMO-3", "DEMO-11", "OPS-1"]),
    ("description ~ card", ["DEMO-11"]),
    ("description ~ 'e-mail'", ["DEMO-2"]),
    ("description is EMPTY", ["DEMO-3"]),
    ("description !~ checkout", ["DEMO-2", "DEMO-10", "DEMO-11", "OPS-1"]),
    ("comment ~ staging", ["DEMO-2"]),
    ('comment ~ "staging normalising"', []),
    ("comment ~ 'e-mail'", ["DEMO-2"]),
    ("comment !~ production", ["DEMO-2", "DEMO-10"]),
    ("text ~ revamp", ["DEMO-1"]),
    ("text ~ quarterly", ["OPS-1"]),
    ("text ~ sandbox", ["DEMO-10"]),
    # assignee and reporter: account ids, exactly; currentUser().
    ("assignee = acc-alice", ["DEMO-1", "DEMO-2"]),
    ("assignee = ACC-ALICE", []),
    ("assignee != acc-alice", ["DEMO-3", "DEMO-11"]),
    ("assignee is EMPTY", ["DEMO-10", "OPS-1"]),
    ("assignee = currentUser()", ["DEMO-1", "DEMO-2"]),
    ("reporter in (currentUser(), acc-carol)", ["DEMO-3", "DEMO-11", "OPS-1"]),
    ("reporter not in (acc-bob)", ["DEMO-3", "DEMO-11", "OPS-1"]),
    # Dates: absolute, relative to now, and date functions.
    ("created >= -7d", ["DEMO-10", "DEMO-11"]),
    ('created > "-2w"', ["DEMO-10", "DEMO-11"]),
    ('created >= "-1w 3d"', ["DEMO-10", "DEMO-11"]),
    ("updated > -12h", ["DEMO-2", "DEMO-11"]),
    ("updated > -30m", ["DEMO-11"]),
    ("updated < 1w", ALL),
    ('created < "2025-01-01"', ["OPS-1"]),
    ('created >= "2025/02/01" AND created <= "2025-02-20 08:00"', ["DEMO-2", "DEMO-3"]),
    ('created = "2025/02/20 08:00"', ["DEMO-3"]),
    ('created != "2025-02-20 08:00"', ["DEMO-1", "DEMO-2", "DEMO-10", "DEMO-11", "OPS-1"]),
    ("createdDate < 2025-01-01", ["OPS-1"]),
    ("updated <= now()", ALL),
    ("created >= startOfDay()", ["DEMO-11"]),
    ("updated >= startOfDay(-1) AND updated < startOfDay()", ["DEMO-3"]),
    ("updated >= STARTOFDAY('-1d') AND updated < startofday()", ["DEMO-3"]),
    ("created <= endOfDay(-1)", ["DEMO-1", "DEMO-2", "DEMO-3", "DEMO-10", "OPS-1"]),
    ("created >= startOfWeek()", ["DEMO-10", "DEMO-11"]),
    ("created >= startOfWeek(-1) AND created <= endOfWeek(-1)", []),
    ("created >= startOfMonth()", ["DEMO-10", "DEMO-11"]),
    ("created >= startOfMonth(-1) AND created <= endOfMonth(-1)", ["DEMO-2", "DEMO-3"]),
    ('created >= startOfMonth("+8d")', ["DEMO-10", "DEMO-11"]),
    ("created < startOfYear()", ["OPS-1"]),
    ("created > endOfYear(-1)", ["DEMO-1", "DEMO-2", "DEMO-3", "DEMO-10", "DEMO-11"]),
    # Custom fields by display name or cf[id].
    ('"PRD Link" is not EMPTY', ["DEMO-1"]),
    ("cf[10050] is EMPTY", ["DEMO-2", "DEMO-3", "DEMO-10", "DEMO-11", "OPS-1"]),
    ('"PRD Link" ~ checkout', ["DEMO-1"]),
    ('"story points" > 4', ["DEMO-2", "DEMO-11"]),
    ("cf[10016] = 3", ["DEMO-10"]),
    ('"Story Points" in (3, "5")', ["DEMO-2", "DEMO-10"]),
    ("cf[10016] <= 5", ["DEMO-2", "DEMO-10"]),
    ("cf[10016] != 3", ["DEMO-2", "DEMO-11"]),
    # Precedence: NOT, then AND, then OR; parentheses first.
    ("status = Done OR project = OPS AND reporter = acc-bob", ["DEMO-2", "DEMO-3"]),
    ("(status = Done OR project = OPS) AND reporter = acc-bob", ["DEMO-2"]),
    ("NOT status = Done AND project = DEMO", ["DEMO-1", "DEMO-10", "DEMO-11"]),
    ("NOT (status = Done AND project = DEMO)", ["DEMO-1", "DEMO-10", "DEMO-11", "OPS-1"]),
    ("! (project = OPS OR status = Done)", ["DEMO-1", "DEMO-10", "DEMO-11"]),
    ("not not project = OPS", ["OPS-1"]),
    ("project = DEMO && labels = auth || labels = infra", ["DEMO-2", "OPS-1"]),
    ("project = DEMO & (labels = auth | labels = urgent)", ["DEMO-2", "DEMO-11"]),
    # Keywords and field names in any case; whitespace and line breaks anywhere.
    ("PROJECT = demo and STATUS = done", ["DEMO-2", "DEMO-3"]),
    ("Project IN (ops) Or KEY = demo-1", ["DEMO-1", "OPS-1"]),
    ("project=DEMO\nAND\tstatus=Done", ["DEMO-2", "DEMO-3"]),
    # ORDER BY alone changes nothing about the selection.
    ("ORDER BY key", ALL),
]


@pytest.mark.parametrize(("jql", "keys"), SELECTIONS, ids=[jql or "<empty>" for jql, _ in SELECTIONS])
def test_selects(jql: str, keys: list[str]) -> None:
    assert search(jql) == keys


ORDERINGS = [
    # Natural key order: DEMO-2 before DEMO-10.
    ("project = DEMO ORDER BY key", ["DEMO-1", "DEMO-2", "DEMO-3", "DEMO-10", "DEMO-11"]),
    ("ORDER BY key DESC", ["OPS-1", "DEMO-11", "DEMO-10", "DEMO-3", "DEMO-2", "DEMO-1"]),
    ("ORDER BY id desc", ["OPS-1", "DEMO-11", "DEMO-10", "DEMO-3", "DEMO-2", "DEMO-1"]),
    # Dates default to newest first.
    ("ORDER BY created", ["DEMO-11", "DEMO-10", "DEMO-3", "DEMO-2", "DEMO-1", "OPS-1"]),
    ("ORDER BY created ASC", ["OPS-1", "DEMO-1", "DEMO-2", "DEMO-3", "DEMO-10", "DEMO-11"]),
    ("ORDER BY updated", ["DEMO-11", "DEMO-2", "DEMO-3", "DEMO-10", "DEMO-1", "OPS-1"]),
    # Status in workflow order; later fields break ties.
    ("ORDER BY status, key DESC", ["DEMO-11", "DEMO-10", "OPS-1", "DEMO-1", "DEMO-3", "DEMO-2"]),
    ("ORDER BY status DESC", ["DEMO-2", "DEMO-3", "DEMO-1", "OPS-1", "DEMO-10", "DEMO-11"]),
    ("ORDER BY summary", ["DEMO-1", "DEMO-2", "DEMO-3", "DEMO-11", "OPS-1", "DEMO-10"]),
    ("ORDER BY issuetype, id DESC", ["DEMO-11", "DEMO-1", "DEMO-2", "DEMO-3", "OPS-1", "DEMO-10"]),
    ("ORDER BY project DESC, key", ["OPS-1", "DEMO-1", "DEMO-2", "DEMO-3", "DEMO-10", "DEMO-11"]),
    # Empty values last, or first when descending; ties by ascending id.
    ("ORDER BY assignee", ["DEMO-1", "DEMO-2", "DEMO-11", "DEMO-3", "DEMO-10", "OPS-1"]),
    ("ORDER BY assignee DESC", ["DEMO-10", "OPS-1", "DEMO-3", "DEMO-11", "DEMO-1", "DEMO-2"]),
    ("project = DEMO ORDER BY parent, key", ["DEMO-2", "DEMO-10", "DEMO-3", "DEMO-1", "DEMO-11"]),
    ('ORDER BY "Story Points" DESC', ["DEMO-1", "DEMO-3", "OPS-1", "DEMO-11", "DEMO-2", "DEMO-10"]),
    ("ORDER BY cf[10016]", ["DEMO-10", "DEMO-2", "DEMO-11", "DEMO-1", "DEMO-3", "OPS-1"]),
]


@pytest.mark.parametrize(("jql", "keys"), ORDERINGS, ids=[jql for jql, _ in ORDERINGS])
def test_orders(jql: str, keys: list[str]) -> None:
    assert search(jql) == keys


def test_default_order_is_ascending_id_whatever_the_input_order() -> None:
    query = compile_jql("project = DEMO OR project = OPS", now=NOW)
    assert [found.key for found in query.order(reversed(ISSUES))] == ALL


def test_dates_without_a_zone_are_in_the_zone_of_now() -> None:
    two_hours_ahead = NOW.astimezone(timezone(timedelta(hours=2)))
    # DEMO-3 was updated at 2025-03-11 18:00 UTC, which is 20:00 at UTC+2.
    assert search('updated >= "2025-03-11 20:00"', now=two_hours_ahead) == ["DEMO-2", "DEMO-3", "DEMO-11"]
    assert search('updated >= "2025-03-11 20:01"', now=two_hours_ahead) == ["DEMO-2", "DEMO-11"]
    assert search("updated >= startOfDay()", now=two_hours_ahead) == ["DEMO-2", "DEMO-11"]


def test_now_defaults_to_the_current_time() -> None:
    query = compile_jql("created <= now() AND created > -36500d")
    assert [fact.key for fact in ISSUES if query.matches(fact)] == ALL


KNOWN = {
    "project": {"DEMO", "Demo project", "OPS", "Operations"},
    "status": {"To Do", "In Progress", "Done"},
    "issuetype": {"Epic", "Story", "Task", "Bug", "Sub-task"},
    "sprint": {"1", "Sprint 1", "2", "Sprint 2", "3", "Sprint 3"},
    "assignee": {"acc-alice", "acc-bob", "acc-carol"},
}


def test_known_values_accept_what_exists_in_any_case() -> None:
    jql = 'project in (demo, "OPERATIONS") AND status != done AND type != epic AND sprint != "sprint 1"'
    assert search(jql, known_values=KNOWN) == ["DEMO-10", "DEMO-11"]


ERRORS = [
    # Syntax, with Jira's positions (1-based) and wording.
    (
        "project = DEMO xyz",
        "Error in the JQL Query: Expecting either 'OR' or 'AND' but got 'xyz'. (line 1, character 16)",
    ),
    (
        "invalid query",
        (
            "Error in the JQL Query: Expecting operator but got 'query'. The valid operators are '=', '!=', '<', '>', "
            "'<=', '>=', '~', '!~', 'IN', 'NOT IN', 'IS' and 'IS NOT'. (line 1, character 9)"
        ),
    ),
    (
        "status",
        (
            "Error in the JQL Query: Expecting operator before the end of the query. The valid operators are '=', "
            "'!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', 'IS' and 'IS NOT'."
        ),
    ),
    ("status =", "Error in the JQL Query: Expecting either a value, list or function before the end of the query."),
    (
        "status = !",
        (
            "Error in the JQL Query: Expecting either a value, list or function but got '!'. "
            "You must surround '!' in quotation marks to use it as a value. (line 1, character 10)"
        ),
    ),
    (
        "project = CF",
        (
            "Error in the JQL Query: Expecting either a value, list or function but got 'CF'. "
            "You must surround 'CF' in quotation marks to use it as a value. (line 1, character 11)"
        ),
    ),
    (
        "summary ~ 'abc",
        "Error in the JQL Query: The quoted string 'abc' has not been completed. (line 1, character 11)",
    ),
    ('summary ~ "', "Error in the JQL Query: The quoted string has not been completed. (line 1, character 11)"),
    ("project = DEMO AND", "Error in the JQL Query: Expecting a field name at the end of the query."),
    ("(project = DEMO", "Error in the JQL Query: Expecting ')' before the end of the query."),
    ("project in (DEMO OPS)", "Error in the JQL Query: Expecting ',' or ')' but got 'OPS'. (line 1, character 18)"),
    ("project = DEMO ORDER key", "Error in the JQL Query: Expecting 'by' but got 'key'. (line 1, character 22)"),
    ("project = DEMO ORDER", "Error in the JQL Query: Expecting 'by' before the end of the query."),
    ("ORDER BY", "Error in the JQL Query: Expecting a field name at the end of the query."),
    (
        "ORDER BY key sideways",
        "Error in the JQL Query: Expecting either 'ASC' or 'DESC' but got 'sideways'. (line 1, character 14)",
    ),
    ("ORDER BY key DESC created", "Error in the JQL Query: Expecting ',' but got 'created'. (line 1, character 19)"),
    (
        "status = End",
        (
            "Error in the JQL Query: 'End' is a reserved JQL word. You must surround it in quotation marks to use it "
            "in a query. (line 1, character 10)"
        ),
    ),
    (
        "assignee = bob@example.com",
        (
            "Error in the JQL Query: The character '@' is a reserved JQL character. You must enclose it in a string "
            "or use the escape '\\u0040' instead. (line 1, character 15)"
        ),
    ),
    (
        "summary ~ win*",
        (
            "Error in the JQL Query: The character '*' is a reserved JQL character. You must enclose it in a string "
            "or use the escape '\\u002a' instead. (line 1, character 14)"
        ),
    ),
    (
        "created > 2025/01/15",
        (
            "Error in the JQL Query: The character '/' is a reserved JQL character. You must enclose it in a string "
            "or use the escape '\\u002f' instead. (line 1, character 15)"
        ),
    ),
    (
        "project = DE\\kMO",
        (
            "Error in the JQL Query: '\\k' is an illegal JQL escape sequence. The valid escape sequences are \\', "
            "\\\", \\t, \\n, \\r, \\\\, '\\ ' and \\uXXXX. (line 1, character 13)"
        ),
    ),
    (
        "project = DEMO\\",
        (
            "Error in the JQL Query: The escape sequence has not been completed. The valid escape sequences are \\', "
            "\\\", \\t, \\n, \\r, \\\\, '\\ ' and \\uXXXX. (line 1, character 15)"
        ),
    ),
    ("status IS ! EMPTY", "Error in the JQL Query: Expecting 'NOT' but got '!'. (line 1, character 11)"),
    ("status NOT IS EMPTY", "Error in the JQL Query: Expecting 'IN' but got 'IS'. (line 1, character 12)"),
    (
        "cf[abc] = 1",
        (
            "Error in the JQL Query: Expecting a custom field id (a positive number) but got 'abc'. "
            "(line 1, character 4)"
        ),
    ),
    ("cf[10016 = 1", "Error in the JQL Query: Expecting ']' but got '='. (line 1, character 10)"),
    (
        "[10050] = x",
        "Error in the JQL Query: Expecting a field name but got '['. Did you mean 'cf['? (line 1, character 1)",
    ),
    (
        ", status = Done",
        (
            "Error in the JQL Query: Expecting a field name but got ','. You must surround ',' in quotation marks to "
            "use it as a field name. (line 1, character 1)"
        ),
    ),
    ("'' = x", "Error in the JQL Query: A field name cannot be empty. (line 1, character 1)"),
    (
        "project = DEMO\nAND status = Done\n  foo",
        "Error in the JQL Query: Expecting either 'OR' or 'AND' but got 'foo'. (line 3, character 3)",
    ),
    ("created > startOfDay(", "Error in the JQL Query: Expecting ')' before the end of the query."),
    (
        "created > startOfDay(-1,)",
        "Error in the JQL Query: Function argument must be specified. (line 1, character 25)",
    ),
    (
        "status = \x7f",
        (
            "Error in the JQL Query: The character 'U+007F' on line 1 at position 10 must be escaped. "
            "Use the escape '\\u007f' instead. (line 1, character 10)"
        ),
    ),
    (
        "id = 99999999999999999999",
        (
            "Error in the JQL Query: '99999999999999999999' is not a valid number. Numbers must be between "
            "-9,223,372,036,854,775,808 and 9,223,372,036,854,775,807. (line 1, character 6)"
        ),
    ),
    # Fields.
    ("foo = bar", "Field 'foo' does not exist or you do not have permission to view it."),
    ('"No Such Field" is EMPTY', "Field 'No Such Field' does not exist or you do not have permission to view it."),
    ("cf[99999] = 1", "Field 'cf[99999]' does not exist or you do not have permission to view it."),
    ("statusCategory = Done", "Field 'statusCategory' does not exist or you do not have permission to view it."),
    ("ORDER BY foo", "Field 'foo' does not exist or you do not have permission to view it."),
    ("ORDER BY description", "Not able to sort using field 'description'."),
    ("ORDER BY labels", "Not able to sort using field 'labels'."),
    # Operators a field does not take; the field as written.
    ("project ~ DEMO", "The operator '~' is not supported by the 'project' field."),
    ("Project ~ DEMO", "The operator '~' is not supported by the 'Project' field."),
    ("summary = foo", "The operator '=' is not supported by the 'summary' field."),
    ("text !~ foo", "The operator '!~' is not supported by the 'text' field."),
    ("status > Done", "The operator '>' is not supported by the 'status' field."),
    ("key is EMPTY", "The operator 'is' is not supported by the 'key' field."),
    (
        '"Story Points" in EMPTY',
        "Operator 'in' does not support the empty value representation 'EMPTY' for field 'Story Points'.",
    ),
    ("status was Done", "History searches do not support the 'status' field."),
    # Operands an operator does not take.
    ("status in Done", "Operator 'in' does not support the non-list value '\"Done\"' for field 'status'."),
    (
        "assignee in currentUser()",
        "Operator 'in' does not support the non-list value 'currentUser()' for field 'assignee'.",
    ),
    (
        'status = (Done, "To Do")',
        "Operator '=' does not support the list value '(\"Done\", \"To Do\")' for field 'status'.",
    ),
    ("sprint = openSprints()", "Operator '=' does not support the list value 'openSprints()' for field 'sprint'."),
    ("assignee is acc-alice", "Operator 'is' does not support searching for non-empty values for field 'assignee'."),
    ("labels in EMPTY", "Operator 'in' does not support the empty value representation 'EMPTY' for field 'labels'."),
    ("created > EMPTY", "Operator '>' does not support the empty value representation 'EMPTY' for field 'created'."),
    # Functions.
    ("assignee in membersOf(devs)", "Unable to find JQL function 'membersOf(devs)'."),
    ("issue in linkedIssues(DEMO-1, blocks)", "Unable to find JQL function 'linkedIssues(DEMO-1, blocks)'."),
    ("status = now()", "A value provided by the function 'now' is invalid for the field 'status'."),
    ("created > now(1)", "Function 'now' expected '0' arguments but received '1'."),
    ("sprint in openSprints(1)", "Function 'openSprints' expected '0' arguments but received '1'."),
    ("created > startOfDay(-1, 2)", "Function 'startOfDay' expected between '0' and '1' arguments but received '2'."),
    (
        "created > startOfDay(yesterday)",
        "Duration for function 'startOfDay' should have the format (+/-)n(yMwdm), e.g -1M for 1 month earlier.",
    ),
    # Values.
    (
        'created > "yesterday"',
        (
            "Date value 'yesterday' for field 'created' is invalid. Valid formats include: 'yyyy/MM/dd HH:mm', "
            "'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'."
        ),
    ),
    (
        'updated < "2025-02-30"',
        (
            "Date value '2025-02-30' for field 'updated' is invalid. Valid formats include: 'yyyy/MM/dd HH:mm', "
            "'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'."
        ),
    ),
    (
        "summary ~ '*out'",
        (
            "The text query '*out' for field 'summary' is not valid: the '*' and '?' are not allowed as first "
            "character in wildcard query."
        ),
    ),
    ("summary ~ ''", "The field 'summary' does not support searching for an empty string."),
    (
        "summary ~ 'login OR checkout'",
        (
            "The text query 'login OR checkout' for field 'summary' uses search syntax (OR, NOT, -, !, ~) that the "
            "Jira sandbox does not support."
        ),
    ),
    (
        "text ~ 'checkout -tests'",
        (
            "The text query 'checkout -tests' for field 'text' uses search syntax (OR, NOT, -, !, ~) that the "
            "Jira sandbox does not support."
        ),
    ),
    ("key = foo", "The issue key 'foo' for field 'key' is invalid."),
    ("parent = 10001", "The issue key '10001' for field 'parent' is invalid."),
    ('"Story Points" > lots', "Value 'lots' for the 'Story Points' field is not a valid number."),
]


@pytest.mark.parametrize(("jql", "message"), ERRORS, ids=[jql for jql, _ in ERRORS])
def test_refuses_with_jiras_message(jql: str, message: str) -> None:
    assert error(jql) == message


UNKNOWN_VALUES = [
    ("project = NOPE", "The value 'NOPE' does not exist for the field 'project'."),
    ("project in (DEMO, 10000)", "A value with ID '10000' does not exist for the field 'project'."),
    ("status = Blocked", "The value 'Blocked' does not exist for the field 'status'."),
    ("type = Spike", "The value 'Spike' does not exist for the field 'type'."),
    ("sprint = 9", "A value with ID '9' does not exist for the field 'sprint'."),
    ("assignee = ACC-ALICE", "The value 'ACC-ALICE' does not exist for the field 'assignee'."),
]


@pytest.mark.parametrize(("jql", "message"), UNKNOWN_VALUES, ids=[jql for jql, _ in UNKNOWN_VALUES])
def test_refuses_values_that_do_not_exist(jql: str, message: str) -> None:
    assert error(jql, known_values=KNOWN) == message


def test_current_user_needs_to_be_told() -> None:
    assert error("assignee = currentUser()", current_user=None) == "Unable to find JQL function 'currentUser()'."


def test_custom_field_ids_are_free_without_a_list_of_names() -> None:
    assert search("cf[10016] = 8", custom_field_names=None) == ["DEMO-11"]
    assert error('"Story Points" = 8', custom_field_names=None) == (
        "Field 'Story Points' does not exist or you do not have permission to view it."
    )


def test_syntax_errors_come_before_meaning_errors() -> None:
    assert error("foo = bar AND") == "Error in the JQL Query: Expecting a field name at the end of the query."


def test_error_is_a_value_error() -> None:
    assert issubclass(JqlError, ValueError)
