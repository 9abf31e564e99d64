"""The `sprint_assign` job: move issues into a sprint (`POST /sprint/{id}/assign`, `dry_run: false`).

Plan, then apply. The plan is made once, from what Jira holds: the sprint must exist (else
404) and not be closed (else 422); the issues already in it count as done and are not
sent; the others are split into `move_to_sprint` operations of at most 50 keys, Jira's
limit per call. The applier records each chunk before the next, so a redelivered job
(a worker killed midway) goes on from the first chunk not recorded, and that chunk's
issues already in the sprint are not sent again. Progress counts the chunks.
"""

from __future__ import annotations

from bot.jira.agile import MAX_MOVE, AgileClient
from bot.jira.client import JiraError, JiraNotFoundError
from bot.jobs.context import JobContext
from bot.jobs.errors import JIRA, InvalidInputJobError, NotFoundJobError, jira_failure
from bot.jobs.pipeline import Pipeline
from schemas.jobs import JobType, PlanOperation
from schemas.sprints import AssignRequest, AssignResult, Sprint

pipeline = Pipeline("sprints")


async def sprint_assign(job: JobContext) -> AssignResult:
    request = AssignRequest.model_validate(job.request)
    assert request.sprint_id is not None, "the handler puts the path's sprint id in the request"
    sprint_id, keys = request.sprint_id, request.issue_keys

    async def make() -> tuple[list[PlanOperation], AssignResult]:
        await job.progress(f"Reading sprint {sprint_id}")
        return await _plan(job, sprint_id, keys)

    plan, result = await job.plan_once(make)
    draft = AssignResult.model_validate(result)
    for index in range(len(plan)):
        await job.check_cancelled()
        await job.progress(f"Moving chunk {index + 1} of {len(plan)}", processed=index, total=len(plan))
        await job.apply(plan[: index + 1], ticket_key=keys[0])
    await job.progress(f"Assigned {len(keys)} issues to sprint {sprint_id}", processed=len(plan), total=len(plan))
    outcomes = {entry.op_id: entry.outcome for entry in job.record.applied}
    chunks = [{"op_id": op.op_id, "issue_keys": op.payload["issue_keys"]} | outcomes.get(op.op_id, {}) for op in plan]
    moved = [key for op in plan for key in outcomes.get(op.op_id, {}).get("moved", [])]
    return draft.model_copy(
        update={
            "assigned_in_jira": True,
            "moved": moved,
            "chunks": chunks,
            "message": f"Assigned {len(keys)} tickets to sprint {sprint_id} "
            f"({len(draft.already_in_sprint)} were in it already).",
        }
    )


async def _plan(job: JobContext, sprint_id: int, keys: list[str]) -> tuple[list[PlanOperation], AssignResult]:
    agile = AgileClient(job.runtime.jira)
    try:
        sprint = Sprint.from_jira(await agile.sprint(sprint_id))
        inside = {issue["key"] for issue in await agile.sprint_issues(sprint_id)}
    except JiraNotFoundError:
        raise NotFoundJobError(f"Sprint {sprint_id} not found in Jira", ticket_key=keys[0], provider=JIRA) from None
    except JiraError as err:
        raise jira_failure(err, ticket_key=keys[0]) from None
    if sprint.state == "closed":
        raise InvalidInputJobError(
            f"sprint_id: sprint {sprint_id} is closed; issues can only be assigned to future or active sprints",
            ticket_key=keys[0],
        )
    moving = [key for key in keys if key not in inside]
    plan = [
        PlanOperation(
            op_id=f"move:{start // MAX_MOVE}",
            kind="move_to_sprint",
            ticket_key=moving[start],
            payload={"sprint_id": sprint_id, "issue_keys": moving[start : start + MAX_MOVE]},
        )
        for start in range(0, len(moving), MAX_MOVE)
    ]
    draft = AssignResult(
        success=True,
        sprint_id=sprint_id,
        issue_keys=keys,
        assigned_in_jira=False,
        message=f"Assigning {len(moving)} tickets to sprint {sprint_id}",
        already_in_sprint=[key for key in keys if key in inside],
    )
    return plan, draft


pipeline.on(JobType.sprint_assign, sprint_assign)
