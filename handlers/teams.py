"""`/teams`: the team member database — list, create, read, replace, delete.

Skills are checked against the configured set (`planning.teams`) and stored in its spelling; a
skill outside it is a 422 at `["body", "members", i, "skill"]` that lists the allowed ones.
Every answer with a team carries `ETag: "<revision>"`; `PUT` with `If-Match: "<revision>"`
replaces only that revision (412 otherwise), without it replaces whatever is there (or creates).
"""

from __future__ import annotations

from aiohttp import web

from bot.http.routes import ApiError, FieldInvalidError, RouteTable, json_response
from bot.services import services
from bot.teams.capacity import capacity_per_skill
from bot.teams.skills import UnknownSkillError, canonical_skills
from bot.teams.store import RevisionMismatchError, StoredTeam, TeamConflictError, TeamExistsError, TeamStore
from schemas.teams import Team, TeamCreate, TeamFields, TeamList, TeamListQuery, TeamPath, TeamReplace, TeamView

routes = RouteTable("teams")


def _store(request: web.Request) -> TeamStore:
    return TeamStore(services(request).runtime.buckets.teams, services(request).runtime.js)


def _checked(request: web.Request, team_id: str, body: TeamFields) -> Team:
    """The team to store: skills spelled as configured, or a 422 naming the member's skill."""
    try:
        fields = canonical_skills(body, services(request).settings.planning.teams)
    except UnknownSkillError as err:
        raise FieldInvalidError(("body", "members", err.index, "skill"), str(err), err.skill) from None
    return Team(id=team_id, name=fields.name, default_sprint_days=fields.default_sprint_days, members=fields.members)


def _view(stored: StoredTeam) -> TeamView:
    capacity = capacity_per_skill(stored.team)
    return TeamView(
        **stored.team.model_dump(),
        revision=stored.revision,
        capacity_per_skill=capacity,
        total_capacity_days=round(sum(capacity.values()), 2),
    )


def _answer(stored: StoredTeam, status: int = 200, location: bool = False) -> web.Response:
    headers = {"ETag": f'"{stored.revision}"'}
    if location:
        headers["Location"] = f"/teams/{stored.team.id}"
    return json_response(_view(stored), status, headers)


def _if_match(request: web.Request) -> int | None:
    """The revision `If-Match` names (`"12"`, `W/"12"` or `12`); one that names none can match nothing."""
    header = request.headers.get("If-Match")
    if header is None:
        return None
    text = header.strip().removeprefix("W/").strip('"')
    if not text.isdigit() or len(text) > 19:
        raise ApiError(412, f"If-Match {header[:40]!r} names no revision; send the ETag of GET /teams/{{id}}")
    return int(text)


@routes.get("/teams", query=TeamListQuery, response=TeamList, summary="List teams")
async def list_teams(request: web.Request, query: TeamListQuery) -> TeamList:
    """The first `limit` teams in id order; `total` counts them all."""
    found, total = await _store(request).list(query.limit)
    return TeamList(teams=[_view(stored) for stored in found], total=total)


@routes.post(
    "/teams",
    body=TeamCreate,
    response=TeamView,
    status=201,
    errors={409: "A team with this id exists"},
    summary="Create a team",
)
async def create_team(request: web.Request, body: TeamCreate) -> web.Response:
    """`id` is optional: without it, it is made from the name (`Payments Core` → `payments-core`).
    Answers 201 with `Location` and `ETag`."""
    assert body.id is not None, "TeamCreate derives the id"
    team = _checked(request, body.id, body)
    try:
        revision = await _store(request).create(team)
    except TeamExistsError as err:
        raise ApiError(409, str(err)) from None
    return _answer(StoredTeam(team, revision), 201, location=True)


@routes.get("/teams/{team_id}", path_params=TeamPath, response=TeamView, errors={404: "Unknown team"}, summary="A team")
async def get_team(request: web.Request, team_id: str) -> web.Response:
    """The team, its members and their capacity per sprint; the `ETag` header carries its
    `revision`, for a `PUT` with `If-Match`."""
    stored = await _store(request).get(team_id)
    if stored is None:
        raise ApiError(404, f"Team {team_id} not found")
    return _answer(stored)


@routes.put(
    "/teams/{team_id}",
    path_params=TeamPath,
    body=TeamReplace,
    response=TeamView,
    responses={
        201: ("Created (there was no such team)", TeamView),
        412: ("`If-Match` names another revision than the team's", None),
    },
    summary="Replace a team",
)
async def replace_team(request: web.Request, team_id: str, body: TeamReplace) -> web.Response:
    """The whole team (members left out are removed); creates it if absent (201). With
    `If-Match: "<revision>"` only that revision is replaced, else 412."""
    if body.id is not None and body.id != team_id:
        raise FieldInvalidError(
            ("body", "id"), f"the id in the body must be the path's ({team_id}) or left out", body.id
        )
    expected = _if_match(request)
    team = _checked(request, team_id, body)
    try:
        replaced = await _store(request).replace(team, expected)
    except RevisionMismatchError as err:
        raise ApiError(412, str(err)) from None
    except TeamConflictError as err:
        raise ApiError(503, str(err), {"Retry-After": "1"}) from None
    return _answer(StoredTeam(team, replaced.revision), 201 if replaced.created else 200)


@routes.delete(
    "/teams/{team_id}", path_params=TeamPath, status=204, errors={404: "Unknown team"}, summary="Delete a team"
)
async def delete_team(request: web.Request, team_id: str) -> web.Response:
    """Removes the team from the team database: 204 with no body, 404 if there is no such team."""
    try:
        deleted = await _store(request).delete(team_id)
    except TeamConflictError as err:
        raise ApiError(503, str(err), {"Retry-After": "1"}) from None
    if not deleted:
        raise ApiError(404, f"Team {team_id} not found")
    return web.Response(status=204)
