"""Test and operator helpers under ``/_sandbox/`` (no auth, never faulted):

- ``POST /_sandbox/reset`` — back to the demo data (clock offset cleared);
- ``GET /_sandbox/snapshot`` / ``PUT /_sandbox/snapshot`` — export / import the site;
- ``GET|PUT /_sandbox/clock`` — ``{"offset_seconds": n}`` moves the sandbox's "now";
- ``GET|PUT /_sandbox/faults`` — read / change fault settings (partial body);
- ``GET|DELETE /_sandbox/requests`` — request counters by route and by status;
- ``GET|DELETE /_sandbox/webhooks/deliveries`` — every delivery attempt;
- ``POST /_sandbox/webhooks/wait?timeout=5`` — wait until no delivery is pending.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta

from aiohttp import web
from pydantic import ValidationError

from sandbox.jira.clock import platform_time
from sandbox.jira.errors import JiraError
from sandbox.jira.http import jira_json, no_content, read_json
from sandbox.jira.state import state_of

ADMIN = "/_sandbox"


async def reset(request: web.Request) -> web.Response:
    state_of(request).reset()
    return no_content()


async def export_snapshot(request: web.Request) -> web.Response:
    return jira_json(state_of(request).export_snapshot())


async def import_snapshot(request: web.Request) -> web.Response:
    body = await read_json(request)
    try:
        state_of(request).import_snapshot(body)
    except (ValidationError, KeyError, TypeError, ValueError) as error:
        raise JiraError(400, f"Not a sandbox snapshot: {error}") from None
    return no_content()


async def get_clock(request: web.Request) -> web.Response:
    clock = state_of(request).clock
    return jira_json({"now": platform_time(clock.now()), "offset_seconds": clock.offset.total_seconds()})


async def set_clock(request: web.Request) -> web.Response:
    body = await read_json(request)
    offset = body.get("offset_seconds") if isinstance(body, dict) else None
    if isinstance(offset, bool) or not isinstance(offset, int | float):
        raise JiraError(400, 'Body must be {"offset_seconds": <number>}.')
    state_of(request).clock.offset = timedelta(seconds=offset)
    return await get_clock(request)


async def get_faults(request: web.Request) -> web.Response:
    return jira_json(asdict(state_of(request).fault_settings))


async def set_faults(request: web.Request) -> web.Response:
    body = await read_json(request)
    if not isinstance(body, dict):
        raise JiraError(400, "Body must be a JSON object of fault settings.")
    try:
        state_of(request).fault_settings.update(**body)
    except ValueError as error:
        raise JiraError(400, str(error)) from None
    return await get_faults(request)


async def get_requests(request: web.Request) -> web.Response:
    counts = state_of(request).request_counts
    by_route = {key: n for key, n in counts.items() if not key.startswith("status ")}
    by_status = {key.removeprefix("status "): n for key, n in counts.items() if key.startswith("status ")}
    return jira_json({"total": sum(by_status.values()), "by_route": by_route, "by_status": by_status})


async def clear_requests(request: web.Request) -> web.Response:
    state_of(request).request_counts.clear()
    return no_content()


async def get_deliveries(request: web.Request) -> web.Response:
    attempts = state_of(request).dispatcher.attempts()
    event = request.query.get("event")
    return jira_json([a for a in attempts if event is None or a["event"] == event])


async def clear_deliveries(request: web.Request) -> web.Response:
    state_of(request).dispatcher.log.clear()
    return no_content()


async def wait_for_deliveries(request: web.Request) -> web.Response:
    try:
        timeout = float(request.query.get("timeout", "5"))
    except ValueError:
        raise JiraError(400, "timeout must be a number of seconds") from None
    idle = await state_of(request).dispatcher.wait_idle(min(timeout, 60.0))
    return jira_json({"idle": idle})


def add_routes(app: web.Application) -> None:
    router = app.router
    router.add_post(f"{ADMIN}/reset", reset)
    router.add_get(f"{ADMIN}/snapshot", export_snapshot)
    router.add_put(f"{ADMIN}/snapshot", import_snapshot)
    router.add_get(f"{ADMIN}/clock", get_clock)
    router.add_put(f"{ADMIN}/clock", set_clock)
    router.add_get(f"{ADMIN}/faults", get_faults)
    router.add_put(f"{ADMIN}/faults", set_faults)
    router.add_get(f"{ADMIN}/requests", get_requests)
    router.add_delete(f"{ADMIN}/requests", clear_requests)
    router.add_get(f"{ADMIN}/webhooks/deliveries", get_deliveries)
    router.add_delete(f"{ADMIN}/webhooks/deliveries", clear_deliveries)
    router.add_post(f"{ADMIN}/webhooks/wait", wait_for_deliveries)
