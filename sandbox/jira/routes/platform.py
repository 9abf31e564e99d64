"""Site, people and configuration: serverInfo, myself, users, fields, projects, issue
types, statuses, priorities and the create/edit metadata."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sandbox.jira.auth import current_user, require
from sandbox.jira.clock import platform_time
from sandbox.jira.errors import JiraError
from sandbox.jira.http import jira_json, query_int, site_base
from sandbox.jira.issue_edits import screen_custom_fields
from sandbox.jira.issue_shape import SYSTEM_FIELDS, View, field_catalog
from sandbox.jira.model import IssueType, Project
from sandbox.jira.routes import API
from sandbox.jira.shapes import (
    Json,
    avatar_urls,
    custom_field_schema,
    issue_type_details,
    priority_bean,
    project_bean,
    status_details,
    user_bean,
)
from sandbox.jira.state import api_version, state_of

_BUILD = {
    "version": "1001.0.0-SNAPSHOT",
    "versionNumbers": [1001, 0, 0],
    "buildNumber": 100290,
    "buildDate": "2025-06-02T00:00:00.000+0000",
    "scmInfo": "4b6c4d0f8a4f1c8a3e0d77f6b3a6f0e6a1d2c3b4",
}


async def server_info(request: web.Request) -> web.Response:
    base = site_base(request)
    state = state_of(request)
    return jira_json(
        {
            "baseUrl": base,
            "displayUrl": base,
            "displayUrlServicedeskHelpCenter": base,
            "displayUrlConfluence": f"{base}/wiki",
            **_BUILD,
            "deploymentType": "Cloud",
            "serverTime": platform_time(state.clock.now()),
            "serverTimeZone": "Etc/UTC",
            "serverTitle": "Jira",
        }
    )


async def myself(request: web.Request) -> web.Response:
    return jira_json(user_bean(site_base(request), current_user(request), api_version(request), with_email=True))


async def user(request: web.Request) -> web.Response:
    require(request, "browse")
    found = state_of(request).site.user(request.query.get("accountId"))
    if found is None:
        raise JiraError(404, "Specified user does not exist or you do not have required permissions")
    return jira_json(user_bean(site_base(request), found, api_version(request)))


async def user_search(request: web.Request) -> web.Response:
    """Users whose display name or e-mail starts with ``query`` (word prefixes count,
    as in Cloud), or the one with ``accountId``."""
    require(request, "browse")
    query = request.query.get("query", "").strip().lower()
    account_id = request.query.get("accountId")
    if not query and not account_id and "property" not in request.query:
        raise JiraError(400, "One of 'query', 'accountId' or 'property' must be provided.")
    start = query_int(request, "startAt", 0)
    limit = query_int(request, "maxResults", 50)
    found = [
        person
        for person in state_of(request).site.data.users
        if (account_id and person.account_id == account_id)
        or (query and _prefix_match(query, person.display_name, person.email))
    ]
    base, version = site_base(request), api_version(request)
    return jira_json([user_bean(base, person, version) for person in found[start : start + limit]])


def _prefix_match(query: str, display_name: str, email: str) -> bool:
    words = display_name.lower().split() + [display_name.lower(), email.lower()]
    return any(word.startswith(query) for word in words)


async def fields(request: web.Request) -> web.Response:
    require(request, "browse")
    return jira_json(field_catalog(state_of(request).site))


async def projects(request: web.Request) -> web.Response:
    require(request, "browse")
    state = state_of(request)
    base, version = site_base(request), api_version(request)
    full = "issueTypes" in request.query.get("expand", "")
    return jira_json([project_bean(base, state.site, p, version, full=full) for p in state.site.data.projects])


async def project_search(request: web.Request) -> web.Response:
    """``PageBeanProject``; atlassian's Cloud client follows ``nextPage`` until ``isLast``."""
    require(request, "browse")
    state = state_of(request)
    start = query_int(request, "startAt", 0)
    limit = query_int(request, "maxResults", 50, minimum=1)
    wanted = {key.upper() for key in request.query.get("keys", "").split(",") if key}
    query = request.query.get("query", "").lower()
    matching = [
        p
        for p in state.site.data.projects
        if (not wanted or p.key in wanted) and (query in p.key.lower() or query in p.name.lower())
    ]
    base, version = site_base(request), api_version(request)
    page = matching[start : start + limit]
    is_last = start + limit >= len(matching)
    self_url = f"{base}/rest/api/{version}/project/search?startAt={start}&maxResults={limit}"
    body: Json = {
        "self": self_url,
        "maxResults": limit,
        "startAt": start,
        "total": len(matching),
        "isLast": is_last,
        "values": [project_bean(base, state.site, p, version, full=False) for p in page],
    }
    if not is_last:
        body["nextPage"] = f"{base}/rest/api/{version}/project/search?startAt={start + limit}&maxResults={limit}"
    return jira_json(body)


async def project(request: web.Request) -> web.Response:
    require(request, "browse")
    state = state_of(request)
    found = _project(request)
    return jira_json(project_bean(site_base(request), state.site, found, api_version(request), full=True))


async def project_statuses(request: web.Request) -> web.Response:
    require(request, "browse")
    state = state_of(request)
    found = _project(request)
    base, version = site_base(request), api_version(request)
    statuses = [status_details(base, status, version) for status in state.site.data.statuses]
    return jira_json(
        [
            {
                "self": f"{base}/rest/api/{version}/issuetype/{t}",
                "id": t,
                "name": state.site.issue_type(t).name,
                "subtask": state.site.issue_type(t).hierarchy_level < 0,
                "statuses": statuses,
            }
            for t in found.issue_type_ids
        ]
    )


async def issue_types(request: web.Request) -> web.Response:
    require(request, "browse")
    state = state_of(request)
    base, version = site_base(request), api_version(request)
    return jira_json([issue_type_details(base, t, version) for t in state.site.data.issue_types])


async def statuses(request: web.Request) -> web.Response:
    require(request, "browse")
    state = state_of(request)
    base, version = site_base(request), api_version(request)
    return jira_json([status_details(base, s, version) for s in state.site.data.statuses])


async def priorities(request: web.Request) -> web.Response:
    require(request, "browse")
    state = state_of(request)
    base, version = site_base(request), api_version(request)
    return jira_json([priority_bean(base, p, version) for p in state.site.data.priorities])


# --- create / edit metadata ---------------------------------------------------------


async def createmeta(request: web.Request) -> web.Response:
    """The deprecated ``issue/createmeta`` (still on Cloud): ``projectKeys``/``projectIds``,
    ``issuetypeNames``/``issuetypeIds``, ``expand=projects.issuetypes.fields``."""
    require(request, "browse")
    state = state_of(request)
    view = state.view(request)
    keys = {k.strip().upper() for value in request.query.getall("projectKeys", []) for k in value.split(",") if k}
    ids = {i.strip() for value in request.query.getall("projectIds", []) for i in value.split(",") if i}
    type_names = {n for value in request.query.getall("issuetypeNames", []) for n in value.split(",") if n}
    type_ids = {i for value in request.query.getall("issuetypeIds", []) for i in value.split(",") if i}
    with_fields = "projects.issuetypes.fields" in request.query.get("expand", "")
    result = []
    for found in state.site.data.projects:
        if (keys or ids) and found.key not in keys and found.id not in ids:
            continue
        types = [state.site.issue_type(t) for t in found.issue_type_ids]
        types = [t for t in types if (not type_names or t.name in type_names) and (not type_ids or t.id in type_ids)]
        result.append(
            {
                "expand": "issuetypes",
                "self": f"{view.api}/project/{found.id}",
                "id": found.id,
                "key": found.key,
                "name": found.name,
                "avatarUrls": avatar_urls(found.name),
                "issuetypes": [_meta_issue_type(view, found, t, with_fields) for t in types],
            }
        )
    return jira_json({"expand": "projects", "projects": result})


async def createmeta_issue_types(request: web.Request) -> web.Response:
    require(request, "browse")
    state = state_of(request)
    view = state.view(request)
    found = _project(request)
    types = [_meta_issue_type(view, found, state.site.issue_type(t), False) for t in found.issue_type_ids]
    for entry in types:
        entry.pop("expand", None)
    return jira_json(_page(request, types, "issueTypes"))


async def createmeta_fields(request: web.Request) -> web.Response:
    require(request, "browse")
    state = state_of(request)
    view = state.view(request)
    found = _project(request)
    type_id = request.match_info["type_id"]
    if type_id not in found.issue_type_ids:
        raise JiraError(400, "The issue type selected is invalid.")
    metadata = create_fields(view, found, state.site.issue_type(type_id))
    entries = [{**meta, "fieldId": field_id} for field_id, meta in metadata.items()]
    return jira_json(_page(request, entries, "fields"))


async def editmeta(request: web.Request) -> web.Response:
    require(request, "browse")
    state = state_of(request)
    issue = state.find_issue(request.match_info["issue"])  # 404 for an unknown issue
    project = state.site.project(issue.project_id)
    assert project is not None
    return jira_json({"fields": edit_fields(state.view(request), project)})


def _meta_issue_type(view: View, project: Project, issue_type: IssueType, with_fields: bool) -> Json:
    entry: Json = {**issue_type_details(view.base, issue_type, view.version), "expand": "fields"}
    if with_fields:
        entry["fields"] = create_fields(view, project, issue_type)
    return entry


def create_fields(view: View, project: Project, issue_type: IssueType) -> dict[str, Json]:
    """``FieldMetadata`` by field id for creating an issue of this type."""
    required = {"summary", "issuetype", "project"} | ({"parent"} if issue_type.hierarchy_level < 0 else set())
    settable = [
        "summary",
        "issuetype",
        "project",
        "description",
        "labels",
        "parent",
        "assignee",
        "reporter",
        "priority",
    ]
    return _field_metadata(view, project, settable, required)


def edit_fields(view: View, project: Project) -> dict[str, Json]:
    settable = ["summary", "issuetype", "description", "labels", "parent", "assignee", "reporter", "priority"]
    return _field_metadata(view, project, settable, {"summary", "issuetype"})


def _field_metadata(view: View, project: Project, settable: list[str], required: set[str]) -> dict[str, Json]:
    system = {f.id: f for f in SYSTEM_FIELDS}
    metadata: dict[str, Json] = {}
    for field_id in settable:
        field = system[field_id]
        operations = ["add", "set", "remove"] if field_id == "labels" else ["set"]
        metadata[field_id] = {
            "required": field_id in required,
            "schema": field.schema or {"type": "issuelink", "system": field_id},
            "name": field.name,
            "key": field_id,
            "hasDefaultValue": False,
            "operations": operations,
        }
    for custom in screen_custom_fields(view.site, project):
        metadata[custom.id] = {
            "required": False,
            "schema": custom_field_schema(custom),
            "name": custom.name,
            "key": custom.id,
            "hasDefaultValue": False,
            "operations": ["set"],
        }
    metadata["priority"]["allowedValues"] = [
        priority_bean(view.base, p, view.version) for p in view.site.data.priorities
    ]
    return metadata


def _page(request: web.Request, values: list[Any], key: str) -> Json:
    start = query_int(request, "startAt", 0)
    limit = query_int(request, "maxResults", 50, minimum=1)
    return {"maxResults": limit, "startAt": start, "total": len(values), key: values[start : start + limit]}


def _project(request: web.Request) -> Project:
    found = state_of(request).site.project(request.match_info["project"])
    if found is None:
        raise JiraError(404, f"No project could be found with key '{request.match_info['project']}'.")
    return found


def add_routes(app: web.Application) -> None:
    router = app.router
    router.add_get(f"{API}/serverInfo", server_info)
    router.add_get(f"{API}/myself", myself)
    router.add_get(f"{API}/user", user)
    router.add_get(f"{API}/user/search", user_search)
    router.add_get(f"{API}/field", fields)
    router.add_get(f"{API}/project", projects)
    router.add_get(f"{API}/project/search", project_search)
    router.add_get(f"{API}/project/{{project}}", project)
    router.add_get(f"{API}/project/{{project}}/statuses", project_statuses)
    router.add_get(f"{API}/issuetype", issue_types)
    router.add_get(f"{API}/status", statuses)
    router.add_get(f"{API}/priority", priorities)
    router.add_get(f"{API}/issue/createmeta", createmeta)
    router.add_get(f"{API}/issue/createmeta/{{project}}/issuetypes", createmeta_issue_types)
    router.add_get(f"{API}/issue/createmeta/{{project}}/issuetypes/{{type_id}}", createmeta_fields)
    router.add_get(f"{API}/issue/{{issue}}/editmeta", editmeta)
