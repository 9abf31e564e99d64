"""`POST /plan/tests/comprehensive`, `/plan/tests/story`, `/plan/tests/task`: test cases for an
epic's stories and tasks, one story, or one task (job type `test_generation`). Preview by
default; `update_jira: true` writes each item's Test Cases field."""

from __future__ import annotations

from aiohttp import web

from bot.http.routes import RouteTable
from handlers.submitting import submit
from schemas.jobs import JobAccepted, JobRecord, JobType
from schemas.planning import EpicTestsRequest, StoryTestsRequest, TaskTestsRequest, TestGenerationResult

routes = RouteTable("planning")


def _responses(field: str, kind: str) -> dict[int, tuple[str, type[JobAccepted] | None]]:
    return {
        202: ("Queued (async mode, or still running at the sync timeout)", JobAccepted),
        404: ("The item (or one of its stories or tasks) does not exist", None),
        409: ("The item is held by another active job; see X-Active-Job-Id", None),
        422: (
            f"A field is invalid; `{field}` is not {kind} (the detail names its type); an item's project has no "
            "Test Cases field; an unknown provider or model",
            None,
        ),
        500: ("A prompt template is broken, or the provider has no API key", None),
        502: ("Jira or the LLM failed after retries, or the LLM's answer stayed invalid", None),
    }


@routes.post(
    "/plan/tests/comprehensive",
    body=EpicTestsRequest,
    response=TestGenerationResult,
    responses=_responses("epic_key", "an Epic"),
    summary="Test cases for every story and task of an epic",
)
async def tests_for_epic(request: web.Request, body: EpicTestsRequest) -> web.Response:
    """Test cases for each story of the epic, each of its tasks and each story's sub-tasks (at most
    100 items; more is cut with a warning), one LLM answer per item, as many as `coverage_level`
    says per item. Answers `total_test_cases`, `story_tests` and `task_tests` (item key → tests).
    Preview by default; `update_jira: true` writes each item's Test Cases field as a table."""
    return await _submit(request, body, body.epic_key.upper())


@routes.post(
    "/plan/tests/story",
    body=StoryTestsRequest,
    response=TestGenerationResult,
    responses=_responses("story_key", "a Story"),
    summary="Test cases for a story",
)
async def tests_for_story(request: web.Request, body: StoryTestsRequest) -> web.Response:
    """Test cases for one Story, as many as `coverage_level` says. Preview by default;
    `update_jira: true` writes its Test Cases field as a table."""
    return await _submit(request, body, body.story_key.upper())


@routes.post(
    "/plan/tests/task",
    body=TaskTestsRequest,
    response=TestGenerationResult,
    responses=_responses("task_key", "a Task or Sub-task"),
    summary="Test cases for a task",
)
async def tests_for_task(request: web.Request, body: TaskTestsRequest) -> web.Response:
    """Test cases for one Task or Sub-task, as many as `coverage_level` says. Preview by default;
    `update_jira: true` writes its Test Cases field as a table."""
    return await _submit(request, body, body.task_key.upper())


async def _submit(
    request: web.Request, body: EpicTestsRequest | StoryTestsRequest | TaskTestsRequest, key: str
) -> web.Response:
    return await submit(
        request,
        JobType.test_generation,
        body,
        ticket_keys=[key],
        async_mode=body.async_mode,
        queued_message=f"Test generation for {key} queued",
        result=_result,
        update_jira=body.update_jira,
    )


def _result(record: JobRecord) -> TestGenerationResult:
    return TestGenerationResult.model_validate(record.result)
