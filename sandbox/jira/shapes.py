"""JSON shapes of Jira's smaller resources, as the official OpenAPI documents name them.

Every function takes ``base``, the site URL the client used (``http://host:port``), so
``self`` links are absolute and lead back to this sandbox. ``version`` is the REST
platform version in the path (``"2"`` or ``"3"``).
"""

from __future__ import annotations

from typing import Any

from sandbox.jira.clock import agile_time, platform_time
from sandbox.jira.model import (
    Board,
    CustomField,
    IssueLinkType,
    IssueType,
    Priority,
    Project,
    Sprint,
    Status,
    User,
)
from sandbox.jira.site import Site

Json = dict[str, Any]

_CATEGORIES = {
    "new": {"id": 2, "key": "new", "colorName": "blue-gray", "name": "To Do"},
    "indeterminate": {"id": 4, "key": "indeterminate", "colorName": "yellow", "name": "In Progress"},
    "done": {"id": 3, "key": "done", "colorName": "green", "name": "Done"},
}


def api(base: str, version: str) -> str:
    return f"{base}/rest/api/{version}"


def avatar_urls(seed: str) -> dict[str, str]:
    initials = "".join(word[0] for word in seed.split()[:2]).upper() or "U"
    prefix = f"https://avatar-management--avatars.us-west-2.prod.public.atl-paas.net/initials/{initials}-5.png"
    return {f"{size}x{size}": f"{prefix}?size={size}&s={size}" for size in (48, 24, 16, 32)}


def user_details(base: str, user: User, version: str = "2") -> Json:
    """``UserDetails``: how people appear inside issues and comments (no e-mail: Cloud
    hides it by default)."""
    return {
        "self": f"{api(base, version)}/user?accountId={user.account_id}",
        "accountId": user.account_id,
        "avatarUrls": avatar_urls(user.display_name),
        "displayName": user.display_name,
        "active": user.active,
        "timeZone": user.time_zone,
        "accountType": "atlassian",
    }


def user_bean(base: str, user: User, version: str, *, with_email: bool = False) -> Json:
    """``User``: /myself (with the caller's own e-mail), /user and /user/search."""
    bean = user_details(base, user, version)
    if with_email:
        bean["emailAddress"] = user.email
    bean["locale"] = "en_US"
    return bean


def status_details(base: str, status: Status, version: str = "2") -> Json:
    category = _CATEGORIES[status.category]
    return {
        "self": f"{api(base, version)}/status/{status.id}",
        "description": "",
        "iconUrl": f"{base}/images/icons/statuses/generic.png",
        "name": status.name,
        "id": status.id,
        "statusCategory": {"self": f"{api(base, version)}/statuscategory/{category['id']}", **category},
    }


def issue_type_details(base: str, issue_type: IssueType, version: str = "2") -> Json:
    return {
        "self": f"{api(base, version)}/issuetype/{issue_type.id}",
        "id": issue_type.id,
        "description": issue_type.description,
        "iconUrl": f"{base}/rest/api/2/universal_avatar/view/type/issuetype/avatar/{issue_type.id}?size=medium",
        "name": issue_type.name,
        "subtask": issue_type.hierarchy_level < 0,
        "avatarId": int(issue_type.id),
        "hierarchyLevel": issue_type.hierarchy_level,
    }


def priority_bean(base: str, priority: Priority, version: str = "2") -> Json:
    return {
        "self": f"{api(base, version)}/priority/{priority.id}",
        "iconUrl": f"{base}/images/icons/priorities/{priority.name.lower()}.svg",
        "name": priority.name,
        "id": priority.id,
    }


def project_details(base: str, project: Project, version: str = "2") -> Json:
    """``ProjectDetails``: the project as it appears inside an issue."""
    return {
        "self": f"{api(base, version)}/project/{project.id}",
        "id": project.id,
        "key": project.key,
        "name": project.name,
        "projectTypeKey": "software",
        "simplified": project.team_managed,
        "avatarUrls": avatar_urls(project.name),
    }


def project_bean(base: str, site: Site, project: Project, version: str, *, full: bool) -> Json:
    """``Project``: /project lists the short form, /project/{key} the full one."""
    bean: Json = {
        "expand": "description,lead,issueTypes,url,projectKeys,permissions,insight",
        **project_details(base, project, version),
        "style": "next-gen" if project.team_managed else "classic",
        "isPrivate": False,
        "properties": {},
    }
    if full:
        lead = site.user(project.lead_account_id)
        bean.update(
            {
                "description": project.description,
                "lead": user_bean(base, lead, version) if lead else None,
                "components": [],
                "issueTypes": [issue_type_details(base, site.issue_type(t), version) for t in project.issue_type_ids],
                "assigneeType": "UNASSIGNED",
                "versions": [],
                "roles": {},
            }
        )
    return bean


def field_details(
    field_id: str,
    name: str,
    *,
    schema: Json | None,
    clause_names: list[str],
    custom: bool,
    navigable: bool = True,
    orderable: bool = True,
    searchable: bool = True,
) -> Json:
    details: Json = {
        "id": field_id,
        "key": field_id,
        "name": name,
        "custom": custom,
        "orderable": orderable,
        "navigable": navigable,
        "searchable": searchable,
        "clauseNames": clause_names,
    }
    if schema is not None:
        details["schema"] = schema
    return details


def custom_field_schema(field: CustomField) -> Json:
    schema: Json = {"type": field.type, "custom": field.custom_type, "customId": int(field.id.split("_")[1])}
    if field.items:
        schema["items"] = field.items
    return schema


def custom_field_details(field: CustomField) -> Json:
    """A team-managed project's field carries its `scope`, as on Jira Cloud."""
    number = field.id.split("_")[1]
    details = field_details(
        field.id,
        field.name,
        schema=custom_field_schema(field),
        clause_names=[f"cf[{number}]", field.name, f"{field.name}[{field.clause_suffix}]"],
        custom=True,
    )
    if field.project_id is not None:
        details["scope"] = {"type": "PROJECT", "project": {"id": field.project_id}}
    return details


def link_type_bean(base: str, link_type: IssueLinkType, version: str = "2") -> Json:
    return {
        "id": link_type.id,
        "name": link_type.name,
        "inward": link_type.inward,
        "outward": link_type.outward,
        "self": f"{api(base, version)}/issueLinkType/{link_type.id}",
    }


def sprint_bean(base: str, sprint: Sprint) -> Json:
    """Agile ``SprintBean``; dates only once set, ``completeDate`` once closed."""
    bean: Json = {
        "id": sprint.id,
        "self": f"{base}/rest/agile/1.0/sprint/{sprint.id}",
        "state": sprint.state,
        "name": sprint.name,
    }
    if sprint.start is not None:
        bean["startDate"] = agile_time(sprint.start)
    if sprint.end is not None:
        bean["endDate"] = agile_time(sprint.end)
    if sprint.complete is not None:
        bean["completeDate"] = agile_time(sprint.complete)
    bean["createdDate"] = agile_time(sprint.created)
    bean["originBoardId"] = sprint.board_id
    bean["goal"] = sprint.goal or ""
    return bean


def sprint_field_value(sprint: Sprint) -> Json:
    """One entry of the Sprint custom field inside an issue (Cloud's object form)."""
    value: Json = {
        "id": sprint.id,
        "name": sprint.name,
        "state": sprint.state,
        "boardId": sprint.board_id,
        "goal": sprint.goal or "",
    }
    if sprint.start is not None:
        value["startDate"] = agile_time(sprint.start)
    if sprint.end is not None:
        value["endDate"] = agile_time(sprint.end)
    if sprint.complete is not None:
        value["completeDate"] = agile_time(sprint.complete)
    return value


def board_bean(base: str, site: Site, board: Board) -> Json:
    project = site.project(board.project_id)
    assert project is not None
    return {
        "id": board.id,
        "self": f"{base}/rest/agile/1.0/board/{board.id}",
        "name": board.name,
        "type": board.type,
        "location": {
            "projectId": int(project.id),
            "displayName": f"{project.name} ({project.key})",
            "projectName": project.name,
            "projectKey": project.key,
            "projectTypeKey": "software",
            "avatarURI": f"{base}/rest/api/2/universal_avatar/view/type/project/avatar/10400?size=small",
            "name": f"{project.name} ({project.key})",
        },
    }


def timestamp(moment: Any) -> str | None:
    return None if moment is None else platform_time(moment)
