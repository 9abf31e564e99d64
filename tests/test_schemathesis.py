"""Schemathesis over every operation of `/openapi.json` on a running `augment serve`.

Checks: no 5xx, and each answer has a documented status, content type and body schema.
Bounded and deterministic: EXAMPLES valid and EXAMPLES invalid cases per operation,
derandomized, within BUDGET_SECONDS; then the malformed bodies no generator makes (bytes
that are not UTF-8, NaN, deep nesting, ...) go through the same cases and checks.

The service runs on its own sandbox, so generation jobs really run and finish at once. So
that nothing a case starts slows the next one down: sync calls give up after 0.2 s (then
202), 64 jobs run side by side, and a ping told to fail `fail_attempts` times (≤ 100) has
20 attempts 0.1 s apart, so it is still retrying when its call answers 202 instead of
failing with its documented 502. Webhook cases carry the URL token, or all would be 401.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import aiohttp
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis.core.failures import FailureGroup
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.fixtures.service import free_port, service_environment, wait_until_up

EXAMPLES = 25
BUDGET_SECONDS = 60.0
TOKEN = "schemathesis-url-token"
CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
MALFORMED_BODIES = [
    b'{"ticket_key": "DEMO-\xff"}',
    b"[" * 50_000 + b"]" * 50_000,
    b'{"steps": ' + b"7" * 5000 + b"}",
    b'{"step_seconds": NaN, "max_results": Infinity}',
    b'{"jql": "\\ud800"}',
    b'{"steps": 2,',
    b"\xef\xbb\xbf{}",
]
WELL_FORMED_PATH = {"job_id": "00000000-0000-0000-0000-000000000000", "team_id": "no-such-team", "sprint_id": 999999}
MALFORMED_TYPES = ["application/json; charset=klingon", "application/json; charset=latin-1", "text/plain"]


async def test_no_operation_answers_5xx_or_off_schema(augment_processes, settings) -> None:
    port = free_port()
    env = service_environment(
        settings,
        SERVER_PORT=str(port),
        SANDBOX_ENABLED="true",
        SANDBOX_JIRA_PORT="0",
        SANDBOX_LLM_PORT="0",
        WEBHOOKS_URL_TOKEN=TOKEN,
        LIMITS_SYNC_TIMEOUT_SECONDS="0.2",
        LIMITS_CONCURRENCY="64",
        LIMITS_MAX_ATTEMPTS="20",
        LOG_LEVEL="warning",
    )
    service = augment_processes("serve", env)
    url = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as session:
        await wait_until_up(session, url)
    failures = await asyncio.to_thread(campaign, url)
    assert service.running(), service.output[-2000:]
    assert failures == [], "\n\n".join(failures)


def campaign(url: str) -> list[str]:
    schema = schemathesis.openapi.from_url(url + "/openapi.json")
    failures: list[str] = []
    deadline = time.monotonic() + BUDGET_SECONDS
    with requests.Session() as session:
        operations = [result.ok() for result in schema.get_all_operations()]
        for operation in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                generated(operation, mode, url, session, deadline, failures)
        for operation in operations:
            if operation.body:
                malformed(operation, url, session, failures)
    return failures


def generated(
    operation: Any, mode: GenerationMode, url: str, session: requests.Session, deadline: float, failures: list[str]
) -> None:
    @hypothesis_settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        if time.monotonic() < deadline:
            check(case, url, session, failures)

    with contextlib.suppress(Unsatisfiable):  # nothing to make invalid: no parameters, no body
        run()


def malformed(operation: Any, url: str, session: requests.Session, failures: list[str]) -> None:
    # Well-formed path parameters (of nothing that exists), so the body is what gets checked.
    path = {name: value for name, value in WELL_FORMED_PATH.items() if f"{{{name}}}" in operation.path} or None
    case = operation.Case(body={}, media_type="application/json", path_parameters=path)
    for body in MALFORMED_BODIES:
        check(case, url, session, failures, data=body, headers={"Content-Type": "application/json"})
    for content_type in MALFORMED_TYPES:
        check(case, url, session, failures, data=b'{"steps": 1}', headers={"Content-Type": content_type})


def check(case: Any, url: str, session: requests.Session, failures: list[str], **overrides: Any) -> None:
    params = {"token": TOKEN} if case.path == "/webhooks/jira" else None
    try:
        case.call_and_validate(base_url=url, session=session, checks=CHECKS, params=params, timeout=15, **overrides)
    except (AssertionError, FailureGroup) as failure:
        failures.append(f"{case.method} {case.path}: {str(failure)[:1500]}")
