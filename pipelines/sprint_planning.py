"""The `sprint_planning` and `timeline_planning` jobs: an epic's tasks into a board's sprints.

Plan, then apply; the plan is made once and kept in the record, so a redelivered job keeps it.
What the plan is made of, read from Jira:
- **Tasks**: the epic's children (`parent = EPIC`, every page, at most `MAX_TASKS` open ones) in
  rank order (`ORDER BY Rank`; a Jira that cannot sort by Rank gives key order, with a
  warning); done ones (status category done) are left out. Estimate: Mandays, else story
  points × `sprints.story_point_days`, else `sprints.default_estimate_days` with a warning
  (read from the project's own fields when the epic's project is team-managed).
  Skill: a label naming a configured team (task generation writes one), else, with a team, the
  assignee's skill there. Blockers: "Blocks" links from other open tasks of the epic; one
  outside the epic is a warning and ignored; a cycle fails the job (422) naming the tickets.
  A blocker that stays in the active sprint makes its dependants' `Task.earliest` the sprint
  after it.
- **Sprints**: the board's open sprints (every page): active ones first, then future ones by
  start date; closed ones are never used. The issues already in an open sprint that are not
  open tasks of the epic count against its capacity; the epic's tasks in an active sprint are
  never moved (they count there too). Sprints without dates follow the one before,
  `sprint_duration_days` long. With `auto_create_sprints` new sprints are proposed after the
  last, named after the board's last numbered sprint ("DEMO Sprint 4" → "DEMO Sprint 5"), else
  `sprints.name_pattern`.
- **Capacity**: with `team_id`, per skill from the team for each sprint's working days (a task
  without a skill the team has is left out and named in `errors`); else one total per sprint.
The solver (`bot.scheduling.solve`) runs in a worker thread under the time limit; the timeline
(`bot.scheduling.schedule`) puts the plan on working days. The plan: one `create_sprint` per
proposed sprint that holds work, then `move_to_sprint` per sprint in chunks of at most 50
(`created_by` names a new sprint), applied through `job.apply` unless `dry_run`; a preview is
written later with `POST /jobs/{id}/apply`. Both jobs keep the whole timeline in their result
under `timeline`: `bot.scheduling.Timeline`'s fields, dates ISO, each sprint with its
`sprint_id` and each task with its `summary`, `skill` and `blocked_by` added for the chart.

`/augment plan-sprints` on an epic previews a `sprint_planning` job; a preview that came from a
comment attaches its Gantt chart to the epic itself (`timeline-<8>.png`, once: recorded in the
job's `TimelineChart` section and looked for on the epic before sending), so the reply, which
only renders text, shows it by name and a redelivered reply attaches nothing.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from jira import JIRA as JiraLibrary
from pydantic import ValidationError

from bot.charts.source import gantt_input
from bot.commands.context import CommandContext
from bot.commands.parsing import CommandArgumentError
from bot.formatting.plans import table_cell
from bot.jira.agile import MAX_MOVE, AgileClient, day_of
from bot.jira.applier import created_by
from bot.jira.client import JiraClient, JiraError, JiraNotFoundError, JiraQueryError
from bot.jira.fields import ProjectFields
from bot.jobs.context import JobContext
from bot.jobs.errors import JIRA, InvalidInputJobError, NotFoundJobError, jira_failure
from bot.jobs.pipeline import Pipeline
from bot.replies import job_ref, monospace
from bot.scheduling import (
    DependencyCycleError,
    InfeasiblePlanError,
    NewSprints,
    Options,
    Plan,
    Problem,
    SprintDates,
    SprintSlot,
    SprintState,
    Task,
    Timeline,
    schedule,
    solve,
)
from bot.scheduling.timeline import working_days
from bot.teams.capacity import capacity_per_skill, member_skill
from bot.teams.store import TeamStore
from schemas.jobs import AppliedOperation, JobRecord, JobType, PlanOperation
from schemas.sprint_planning import (
    PREVIEW_MESSAGE,
    Assignment,
    PlanEpicRequest,
    ProposedSprint,
    SprintPlanResult,
    TimelineChart,
    TimelineRequest,
    TimelineResult,
    TimelineSprint,
    TimelineTask,
)
from schemas.teams import Team

pipeline = Pipeline("sprint_planning")

MAX_TASKS = 1000  # open tasks of one epic the planner takes; more is a 422
MAX_OPEN_SPRINTS = 100  # open sprints of a board considered, earliest first
BLOCKS = "Blocks"
EPIC = "Epic"
DONE = "done"
PNG = "image/png"
COMMAND_OPTIONS = ("board", "capacity", "team")
NUMBER = {"board": re.compile(r"\d{1,9}"), "capacity": re.compile(r"\d{1,5}(\.\d+)?")}
MAX_KEYS_SHOWN = 12  # task keys named in a row of the reply's table
MAX_NOTES = 20  # warnings and errors listed in the reply
ESTIMATE_ROLES = ("mandays", "story_points")
NUMBERED = re.compile(r"^(?P<prefix>.*?)(?P<number>\d+)\s*$")

Request = PlanEpicRequest | TimelineRequest


async def sprint_planning(job: JobContext) -> SprintPlanResult:
    request = PlanEpicRequest.model_validate(job.request)
    return SprintPlanResult.model_validate(await _run(job, request))


async def timeline_planning(job: JobContext) -> TimelineResult:
    request = TimelineRequest.model_validate(job.request)
    return TimelineResult.model_validate(await _run(job, request))


async def _run(job: JobContext, request: Request) -> dict[str, Any]:
    epic = request.epic_key.upper()

    async def make() -> tuple[list[PlanOperation], dict[str, Any]]:
        await job.progress(f"Reading epic {epic} and board {request.board_id}", processed=0, total=1)
        return await Planner(job, request, epic).plan()

    plan, draft = await job.plan_once(make)
    if request.dry_run:
        if job.record.reply is not None:  # from a comment: the chart goes on the epic, for the reply
            await _attach_chart(job, epic, draft)
        return draft
    applied = await job.apply(plan, ticket_key=epic, doing=f"Writing the sprint plan of {epic}")
    return _written(draft, plan, applied)


def chart_filename(job_id: str) -> str:
    return f"timeline-{job_id[:8]}.png"


async def _attach_chart(job: JobContext, epic: str, draft: dict[str, Any]) -> None:
    """Attach the plan's Gantt chart to the epic, once: a filename recorded in the job's
    `TimelineChart` section is done; else an attachment of that name already on the epic (a
    run that crashed after attaching) is taken as it, and only otherwise is one sent. Jira
    refusing it is recorded in `chart_error`, and the preview is posted without the picture."""
    if job.record.section(TimelineChart).chart_attachment is not None:
        return
    chart = gantt_input(draft, today=datetime.now(UTC).date())
    if chart is None:
        return
    filename, jira = chart_filename(job.job_id), job.runtime.jira
    try:
        if await jira.attachment_id(epic, filename) is None:
            await job.progress(f"Attaching the timeline chart to {epic}")
            from bot.charts import gantt  # matplotlib (about 60 MiB) loads with the first chart drawn

            await jira.add_attachment(epic, filename, await asyncio.to_thread(gantt.render_png, chart), PNG)
        kept = TimelineChart(chart_attachment=filename)
    except JiraError as err:
        kept = TimelineChart(chart_error=str(err))
    await job.update(lambda record: record.keep(kept))


# -- reading Jira into a problem ------------------------------------------------------------


@dataclass
class EpicTask:
    key: str
    summary: str
    estimate: float
    skill: str | None
    blocked_by: tuple[str, ...]


@dataclass
class OpenSprint:
    id: int
    name: str
    state: SprintState
    dates: SprintDates
    issues: list[dict[str, Any]]


@dataclass
class Read:
    """What the planner read: the epic's summary, its open tasks in rank order, the board."""

    summary: str
    tasks: list[EpicTask]
    sprints: list[OpenSprint]
    names: list[str]  # every sprint name of the board, for the new sprints' pattern


class Planner:
    def __init__(self, job: JobContext, request: Request, epic: str) -> None:
        self._job = job
        self._jira: JiraClient = job.runtime.jira
        self._agile = AgileClient(job.runtime.jira)
        self._settings = job.runtime.settings
        self._request = request
        self._epic = epic
        self._team: Team | None = None
        self._warnings: list[str] = []
        self._errors: list[str] = []
        jira = self._settings.jira
        # The site's estimate fields; a team-managed project's own replace them (`_read`).
        self._mandays, self._points = jira.mandays_custom_field, jira.story_points_custom_field
        # Task generation labels a task with its team, spaces as dashes.
        self._label_skills = {"-".join(team.split()).casefold(): team for team in self._settings.planning.teams}

    async def plan(self) -> tuple[list[PlanOperation], dict[str, Any]]:
        request, epic = self._request, self._epic
        if request.team_id is not None:
            stored = await TeamStore(self._job.runtime.buckets.teams, self._job.runtime.js).get(request.team_id)
            if stored is None:
                raise InvalidInputJobError(
                    f"team_id: no team {request.team_id!r} in the team database", ticket_key=epic
                )
            self._team = stored.team
        try:
            read = await self._read()
        except JiraNotFoundError as err:
            raise NotFoundJobError(str(err), ticket_key=epic, provider=JIRA) from None
        except JiraError as err:
            raise jira_failure(err, ticket_key=epic) from None
        problem, tasks = self._problem(read)
        await self._job.progress(f"Planning {len(problem.tasks)} tasks of {epic}")
        try:
            solved = await asyncio.to_thread(solve, problem)
        except DependencyCycleError as cycle:
            raise InvalidInputJobError(
                f"epic_key: the Blocks links of {epic}'s tasks form a cycle: "
                + " -> ".join([*cycle.keys, cycle.keys[0]]),
                ticket_key=epic,
            ) from None
        except InfeasiblePlanError as err:
            hint = "" if request.auto_create_sprints else "; set auto_create_sprints to propose new sprints"
            raise InvalidInputJobError(f"board_id: {err}{hint}", ticket_key=epic) from None
        timeline = schedule(
            problem,
            solved,
            [sprint.dates for sprint in read.sprints],
            first_new_start=self._first_new_start(read.sprints),
            new_length_days=request.sprint_duration_days,
        )
        self._warnings += [*solved.warnings, *timeline.warnings]
        answer = Answer(request, epic, read, tasks, solved, timeline, self._warnings, self._errors)
        return answer.operations(), answer.draft()

    # -- reading ------------------------------------------------------------------------

    async def _read(self) -> Read:
        epic = await self._jira.ticket(self._epic)
        if epic.issue_type != EPIC:
            raise InvalidInputJobError(
                f"epic_key: {self._epic} is a {epic.issue_type}, not an Epic", ticket_key=epic.key
            )
        if epic.team_managed:
            ids = await ProjectFields(self._settings, self._jira).ids(epic.project, epic.key, ESTIMATE_ROLES)
            self._mandays, self._points = ids["mandays"], ids["story_points"]
        wanted = ("summary", "status", "labels", "assignee", "issuelinks", *self._estimate_fields())
        try:
            found = await self._jira.search_issues(f"parent = {self._epic} ORDER BY Rank ASC", 10 * MAX_TASKS, wanted)
        except JiraQueryError as err:
            self._warnings.append(f"Jira cannot order by Rank ({err}); the tasks are ranked by key")
            found = await self._jira.search_issues(f"parent = {self._epic} ORDER BY key ASC", 10 * MAX_TASKS, wanted)
        open_issues = [issue for issue in found if _category(issue) != DONE]
        if len(open_issues) > MAX_TASKS:
            raise InvalidInputJobError(
                f"epic_key: {self._epic} has more than {MAX_TASKS} open tasks; plan a smaller epic", ticket_key=epic.key
            )
        children = {issue["key"] for issue in found}
        tasks = [self._task(issue, children) for issue in open_issues]
        sprints, names = await self._sprints()
        return Read(epic.summary, tasks, sprints, names)

    def _task(self, issue: dict[str, Any], children: set[str]) -> EpicTask:
        fields = issue.get("fields") or {}
        key = issue["key"]
        blockers = []
        for link in fields.get("issuelinks") or []:
            # Seen from the blocked issue, its blocker is the link's inward end ("is blocked by").
            blocker = (link.get("inwardIssue") or {}).get("key")
            if (link.get("type") or {}).get("name") != BLOCKS or not blocker:
                continue
            if blocker in children:
                blockers.append(blocker)
            else:
                self._warnings.append(f"{key} is blocked by {blocker}, which is not in {self._epic}: ignored")
        return EpicTask(
            key, fields.get("summary") or "", self._estimate(key, fields), self._skill(fields), tuple(blockers)
        )

    def _estimate_fields(self) -> tuple[str, ...]:
        return tuple(field for field in (self._mandays, self._points) if field)

    def _estimate(self, key: str | None, fields: dict[str, Any]) -> float:
        """Mandays, else story points × the factor, else the default (a warning names `key`)."""
        mandays = _days(fields.get(self._mandays)) if self._mandays else None
        points = _days(fields.get(self._points)) if self._points else None
        if mandays is not None:
            return mandays
        if points is not None:
            return round(points * self._settings.sprints.story_point_days, 2)
        default = self._settings.sprints.default_estimate_days
        if key is not None:
            self._warnings.append(f"{key} has no Mandays or story points: estimated at {default:g} days")
        return default

    def _skill(self, fields: dict[str, Any]) -> str | None:
        for label in fields.get("labels") or []:
            if (skill := self._label_skills.get(str(label).casefold())) is not None:
                return skill
        assignee = (fields.get("assignee") or {}).get("accountId")
        return member_skill(self._team, assignee) if self._team is not None and assignee else None

    async def _sprints(self) -> tuple[list[OpenSprint], list[str]]:
        """The board's open sprints in planning order (active, then future by start date), with
        their dates and issues; and every sprint name of the board."""
        board = self._request.board_id
        every = await self._agile.sprints(board)
        found = [s for s in every if s.get("state") in ("active", "future")]
        far = date.max.isoformat()
        found.sort(key=lambda s: (s.get("state") != "active", (s.get("startDate") or far)[:10], s["id"]))
        if len(found) > MAX_OPEN_SPRINTS:
            self._warnings.append(f"board {board} has {len(found)} open sprints: the first {MAX_OPEN_SPRINTS} are used")
            found = found[:MAX_OPEN_SPRINTS]
        wanted = ("status", "labels", "assignee", *self._estimate_fields())
        held = await asyncio.gather(*(self._agile.sprint_issues(sprint["id"], wanted) for sprint in found))
        sprints: list[OpenSprint] = []
        cursor = self._request.start_date or datetime.now(UTC).date()
        length = self._request.sprint_duration_days
        for sprint, issues in zip(found, held, strict=True):
            # A sprint without dates follows the one before it.
            start = day_of(sprint.get("startDate")) or cursor
            end = max(day_of(sprint.get("endDate")) or start + timedelta(days=length - 1), start)
            dates = SprintDates(start, (end - start).days + 1)
            sprints.append(
                OpenSprint(sprint["id"], sprint.get("name") or "", SprintState(sprint["state"]), dates, issues)
            )
            cursor = end + timedelta(days=1)
        return sprints, [str(s.get("name") or "") for s in every]

    # -- the problem -------------------------------------------------------------------

    def _problem(self, read: Read) -> tuple[Problem, dict[str, EpicTask]]:
        """The solver's input; and the tasks it plans, by key."""
        # The epic's tasks in an active sprint stay there: they are that sprint's existing work,
        # and a task they block may only use the sprints after theirs.
        fixed = {
            issue["key"]: index
            for index, s in enumerate(read.sprints)
            if s.state is SprintState.active
            for issue in s.issues
        }
        tasks = [task for task in read.tasks if task.key not in fixed]
        planned = {task.key for task in tasks}
        slots = []
        for sprint in read.sprints:
            days = len(working_days(sprint.dates.start, sprint.dates.length_days))
            capacity = self._capacity(days)
            existing = [issue for issue in sprint.issues if issue["key"] not in planned]
            used = self._used(existing, capacity)
            slots.append(SprintSlot(str(sprint.id), sprint.name, sprint.state, capacity, days, used))
        if self._team is not None:
            tasks = self._skilled(tasks)
        first_new = self._first_new_start(read.sprints)
        new_days = len(working_days(first_new, self._request.sprint_duration_days))
        pattern, first_number = _name_pattern(read.names, self._settings.sprints.name_pattern)
        new = NewSprints(
            count=len(tasks) if self._request.auto_create_sprints else 0,
            capacity=self._capacity(new_days),
            working_days=new_days,
            name_pattern=pattern,
            first_number=first_number,
        )
        keys = {task.key for task in tasks}
        problem = Problem(
            tasks=tuple(
                Task(
                    t.key,
                    t.estimate,
                    t.skill,
                    rank,
                    tuple(b for b in t.blocked_by if b in keys),
                    earliest=max((fixed[b] + 1 for b in t.blocked_by if b in fixed), default=0),
                )
                for rank, t in enumerate(tasks)
            ),
            sprints=tuple(slots),
            new_sprints=new,
            options=Options(
                same_sprint_dependencies=self._request.same_sprint_dependencies,
                time_limit_seconds=self._request.time_limit_seconds or self._settings.sprints.time_limit_seconds,
            ),
        )
        return problem, {task.key: task for task in tasks}

    def _capacity(self, working: int) -> float | dict[str, float]:
        if self._team is None:
            return self._request.capacity_days
        return capacity_per_skill(self._team, max(working, 1))

    def _used(self, issues: list[dict[str, Any]], capacity: float | dict[str, float]) -> float | dict[str, float]:
        """The days of `issues` against the sprint's capacity; per skill with a team, where work
        of no known skill is shared out in proportion to each skill's capacity."""
        days = [
            (self._estimate(None, issue.get("fields") or {}), self._skill(issue.get("fields") or {}))
            for issue in issues
        ]
        if not isinstance(capacity, dict):
            return round(sum(d for d, _ in days), 2)
        used = dict.fromkeys(capacity, 0.0)
        total = sum(capacity.values()) or 1.0
        for estimate, skill in days:
            if skill in used:
                used[skill] += estimate
            else:
                for name, share in capacity.items():
                    used[name] += estimate * share / total
        return {name: round(value, 2) for name, value in used.items()}

    def _skilled(self, tasks: list[EpicTask]) -> list[EpicTask]:
        """With a team: the tasks with a skill the team has; each other one is an error."""
        assert self._team is not None
        skills = set(capacity_per_skill(self._team))
        kept = []
        for task in tasks:
            if task.skill in skills:
                kept.append(task)
            elif task.skill is None:
                self._errors.append(
                    f"{task.key} has no skill (no team label, no assignee in team {self._team.id}): not planned"
                )
            else:
                self._errors.append(
                    f"{task.key} needs {task.skill}, which team {self._team.id} does not have: not planned"
                )
        return kept

    def _first_new_start(self, sprints: list[OpenSprint]) -> date:
        if sprints:
            last = sprints[-1].dates
            return last.start + timedelta(days=last.length_days)
        return self._request.start_date or datetime.now(UTC).date()


def _category(issue: dict[str, Any]) -> str | None:
    status = (issue.get("fields") or {}).get("status") or {}
    return (status.get("statusCategory") or {}).get("key")


def _days(value: Any) -> float | None:
    """A positive number of a numeric field, else None."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    return None


def _name_pattern(names: list[str], fallback: str) -> tuple[str, int]:
    """New sprints' name pattern and first number: after the board's last numbered sprint
    ("DEMO Sprint 4" → "DEMO Sprint {n}", 5), else `fallback` after its highest number in use."""
    numbered = [m for name in names if (m := NUMBERED.match(name))]
    prefix, suffix = (numbered[-1]["prefix"], "") if numbered else tuple(fallback.split("{n}"))
    shape = re.compile(re.escape(prefix) + r"(\d+)" + re.escape(suffix) + r"\s*$")
    taken = [int(m[1]) for name in names if (m := shape.match(name))]
    pattern = prefix.replace("{", "{{").replace("}", "}}") + "{n}" + suffix
    return pattern, max(taken, default=0) + 1


# -- the answer and the plan ---------------------------------------------------------------


@dataclass
class Answer:
    request: Request
    epic: str
    read: Read
    tasks: dict[str, EpicTask]
    solved: Plan
    timeline: Timeline
    warnings: list[str]
    errors: list[str]

    def operations(self) -> list[PlanOperation]:
        """A `create_sprint` per proposed sprint holding work, then its moves, 50 issues a call."""
        ops: list[PlanOperation] = []
        for slot in self.solved.slots:
            if not slot.task_keys:
                continue
            target: int | dict[str, str] = int(slot.id) if slot.id is not None else created_by(f"sprint:{slot.index}")
            if slot.id is None:
                span = self._dates(slot.index)
                payload = {
                    "board_id": self.request.board_id,
                    "name": slot.name,
                    "start_date": span.start.isoformat(),
                    "end_date": span.end.isoformat(),
                    "goal": f"Planned for {self.epic}",
                }
                ops.append(
                    PlanOperation(
                        op_id=f"sprint:{slot.index}", kind="create_sprint", ticket_key=self.epic, payload=payload
                    )
                )
            keys = list(slot.task_keys)
            for start in range(0, len(keys), MAX_MOVE):
                chunk = keys[start : start + MAX_MOVE]
                ops.append(
                    PlanOperation(
                        op_id=f"move:{slot.index}:{start // MAX_MOVE}",
                        kind="move_to_sprint",
                        ticket_key=chunk[0],
                        payload={"sprint_id": target, "issue_keys": chunk},
                    )
                )
        return ops

    def draft(self) -> dict[str, Any]:
        used = [slot for slot in self.solved.slots if slot.task_keys]
        common: dict[str, Any] = {
            "epic_key": self.epic,
            "board_id": self.request.board_id,
            "total_tasks": len(self.tasks),
            "total_sprints": len(used),
            "sprints_created": [
                ProposedSprint(
                    name=slot.name, start_date=self._dates(slot.index).start, end_date=self._dates(slot.index).end
                )
                for slot in used
                if slot.id is None
            ],
            "errors": self.errors,
            "warnings": list(dict.fromkeys(self.warnings)),
            "optimal": self.solved.optimal,
            "sprints_used": self.solved.sprints_used,
            "lower_bound": self.solved.lower_bound,
            "solve_seconds": round(self.solved.solve_seconds, 3),
            "message": PREVIEW_MESSAGE,
            "timeline": self._timeline(),
        }
        if isinstance(self.request, PlanEpicRequest):
            result: SprintPlanResult | TimelineResult = SprintPlanResult(
                **common,
                assignments=[
                    Assignment(
                        task_key=key,
                        task_summary=self.tasks[key].summary,
                        sprint_id=_id(slot.id),
                        sprint_name=slot.name,
                        estimated_days=self.tasks[key].estimate,
                        team=self.tasks[key].skill,
                    )
                    for slot in used
                    for key in slot.task_keys
                ],
                capacity_utilization={
                    slot.id or slot.name: round(slot.utilisation_percent / 100, 4) for slot in self.solved.slots
                },
            )
        else:
            ids = {slot.index: _id(slot.id) for slot in self.solved.slots}
            result = TimelineResult(
                **common,
                start_date=self.request.start_date,
                sprint_duration_days=self.request.sprint_duration_days,
                sprints=[
                    TimelineSprint(
                        sprint_id=ids.get(sprint.index),
                        sprint_name=sprint.name,
                        start_date=sprint.start,
                        end_date=sprint.end,
                        tasks=[
                            TimelineTask(
                                key=task.key,
                                summary=self.tasks[task.key].summary,
                                skill=self.tasks[task.key].skill,
                                start=task.start,
                                end=task.end,
                                estimate=task.estimate_days,
                            )
                            for task in sprint.tasks
                        ],
                        total_estimated_days=sprint.estimated_days,
                        capacity_days=sprint.capacity_days,
                        utilization_percent=sprint.utilisation_percent,
                    )
                    for sprint in self.timeline.sprints
                ],
                estimated_completion_date=self.timeline.estimated_completion_date,
            )
        return result.model_dump(mode="json")

    def _dates(self, index: int) -> Any:
        return next(sprint for sprint in self.timeline.sprints if sprint.index == index)

    def _timeline(self) -> dict[str, Any]:
        """`Timeline` as JSON (dates ISO), with each sprint's id and each task's summary, skill
        and blockers added for the chart."""
        data: dict[str, Any] = json.loads(json.dumps(asdict(self.timeline), default=date.isoformat))
        ids = {slot.index: _id(slot.id) for slot in self.solved.slots}
        for sprint in data["sprints"]:
            sprint["sprint_id"] = ids.get(sprint["index"])
            for task in sprint["tasks"]:
                known = self.tasks[task["key"]]
                task |= {"summary": known.summary, "skill": known.skill, "blocked_by": list(known.blocked_by)}
        return data


def _id(slot_id: str | None) -> int | None:
    return int(slot_id) if slot_id is not None else None


def _written(draft: dict[str, Any], plan: list[PlanOperation], applied: list[AppliedOperation]) -> dict[str, Any]:
    """The preview with the ids of the sprints Jira created (or a crashed run had created)."""
    outcomes = {entry.op_id: entry.outcome for entry in applied}
    made = {op.payload["name"]: outcomes[op.op_id]["sprint_id"] for op in plan if op.kind == "create_sprint"}
    moved = sum(len(outcomes.get(op.op_id, {}).get("moved", [])) for op in plan if op.kind == "move_to_sprint")
    for sprint in draft.get("sprints_created", []):
        sprint["sprint_id"] = made.get(sprint["name"])
    for line in draft.get("assignments", []):
        line["sprint_id"] = line["sprint_id"] or made.get(line["sprint_name"])
    if "capacity_utilization" in draft:
        draft["capacity_utilization"] = {str(made.get(k, k)): v for k, v in draft["capacity_utilization"].items()}
    for sprint in draft.get("sprints", []):
        sprint["sprint_id"] = sprint["sprint_id"] or made.get(sprint["sprint_name"])
    for sprint in draft["timeline"].get("sprints", []):
        sprint["sprint_id"] = sprint["sprint_id"] or made.get(sprint["name"])
    draft["updated_in_jira"] = True
    draft["message"] = f"Created {len(made)} sprints and moved {moved} issues of {draft['epic_key']}."
    return draft


pipeline.on(JobType.timeline_planning, timeline_planning)


# -- `/augment plan-sprints` ---------------------------------------------------------------


async def plan_sprints_command(command: CommandContext) -> str:
    """`/augment plan-sprints [board <id>] [capacity <days>] [team <id>]` on an epic: a
    `sprint_planning` preview (new sprints proposed when needed), posted here when it is ready
    with its Gantt chart attached to the epic. Board: the project's first Scrum board, unless
    named. Capacity: the team's per skill with `team`, else `capacity` days (default 10)."""
    key = command.ticket_key
    options = _options(command.arguments)
    jira = command.runtime.jira
    ticket = await jira.ticket(key)
    refused = f"Cannot run {monospace(command.line.text)}"
    if ticket.issue_type != EPIC:
        return f"{refused}: {key} is a {ticket.issue_type}, not an Epic. Plan sprints on the epic whose tasks they are."
    board = int(options["board"]) if "board" in options else await _first_scrum_board(jira, ticket.project)
    if board is None:
        return f"{refused}: project {ticket.project} has no Scrum board; name one with board <id>."
    try:
        capacity = {"sprint_capacity_days": float(options["capacity"])} if "capacity" in options else {}
        request = PlanEpicRequest.model_validate(
            {"epic_key": key, "board_id": board, "team_id": options.get("team"), "auto_create_sprints": True} | capacity
        )
    except ValidationError as err:
        raise CommandArgumentError("; ".join(str(e["msg"]) for e in err.errors())) from None
    return await command.preview(
        JobType.sprint_planning,
        request,
        queued=f"Sprint planning for epic {key} queued",
        doing=f"Planning the tasks of {key} into the sprints of board {board}",
    )


def _options(arguments: tuple[str, ...]) -> dict[str, str]:
    """`board <id>`, `capacity <days>`, `team <id>` pairs, each at most once."""
    if len(arguments) % 2:
        raise CommandArgumentError("options come in pairs: board <id>, capacity <days>, team <id>")
    options: dict[str, str] = {}
    for word, value in zip(arguments[::2], arguments[1::2], strict=True):
        name = word.lower()
        if name not in COMMAND_OPTIONS or name in options:
            raise CommandArgumentError(f"{name[:40]} is not an option (or is given twice); use board, capacity or team")
        if name != "team" and not NUMBER[name].fullmatch(value):
            raise CommandArgumentError(f"{name} takes a number, not {value[:40]}")
        options[name] = value
    return options


async def _first_scrum_board(jira: JiraClient, project: str) -> int | None:
    """The id of the project's first Scrum board (agile API), else None."""

    def boards(client: JiraLibrary) -> dict[str, Any]:
        params = {"projectKeyOrId": project, "type": "scrum", "maxResults": 1}
        return dict(client._get_json("board", params=params, base=JiraLibrary.AGILE_BASE_URL))

    found = (await jira.call(f"find the Scrum boards of {project}", boards)).get("values") or []
    return int(found[0]["id"]) if found else None


def plan_sprints_reply(record: JobRecord) -> str:
    """The preview as a table (sprint, tasks, days, capacity, utilisation), the chart shown
    from its attachment, the warnings and errors, and the `/augment apply` line."""
    result = SprintPlanResult.model_validate(record.result)
    if result.updated_in_jira:
        return f"{result.message} (job {job_ref(record.job_id)})."
    rows = []
    for sprint in result.timeline.get("sprints", []):
        keys = [task["key"] for task in sprint["tasks"]]
        if not keys:
            continue
        more = len(keys) - MAX_KEYS_SHOWN
        shown = ", ".join(keys[:MAX_KEYS_SHOWN]) + (f" and {more} more" if more > 0 else "")
        name = table_cell(sprint["name"]) + (" (new)" if sprint.get("sprint_id") is None else "")
        figures = f"{sprint['estimated_days']:g}|{sprint['capacity_days']:g}|{sprint['utilisation_percent']:g}%"
        rows.append(f"|{name}|{shown}|{figures}|")
    chart = record.section(TimelineChart)
    picture = ""
    if chart.chart_attachment:
        picture = f"!{chart.chart_attachment}|thumbnail!\n\n"
    elif chart.chart_error:
        picture = f"The chart could not be attached: {chart.chart_error}\n\n"
    bound = "proven optimal" if result.optimal else f"no plan needs fewer than {result.lower_bound}"
    notes = "".join(f"* {table_cell(line)}\n" for line in [*result.errors, *result.warnings][:MAX_NOTES])
    table = "||Sprint||Tasks||Days||Capacity||Utilisation||\n" + "\n".join(rows)
    return (
        f"h4. Preview: sprint plan for {result.epic_key} (board {result.board_id})\n{table}\n\n"
        f"{result.total_tasks} tasks in {result.total_sprints} sprints, {result.sprints_used} sprints from the "
        f"first open one ({bound}).\n\n{picture}"
        + (f"Warnings and errors:\n{notes}\n" if notes else "")
        + "Nothing was written. To create the sprints and move the issues, comment:\n\n"
        + f"/augment apply {record.job_id}"
    )


pipeline.on(JobType.sprint_planning, sprint_planning, reply=plan_sprints_reply)
pipeline.command(
    "plan-sprints",
    plan_sprints_command,
    usage="/augment plan-sprints [board <id>] [capacity <days>] [team <id>]",
    help="on an epic: preview its tasks planned into the board's sprints, with the timeline chart",
)
