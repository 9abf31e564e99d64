"""Request bodies: JSON by Content-Type only, malformed bodies are 400 (never 500), strict types."""

from __future__ import annotations

import json

import pytest
from aiohttp.test_utils import TestClient

JSON = {"Content-Type": "application/json"}


async def job_count(client: TestClient) -> int:
    return (await (await client.get("/jobs")).json())["total"]


def nested(depth: int) -> bytes:
    """`{"steps": 1, "extra": [[[...]]]}` with `depth` levels in all."""
    return b'{"steps": 1, "extra": ' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"


@pytest.mark.parametrize(
    ("body", "content_type", "detail"),
    [
        (b'{"ticket_key": "DEMO-\xff"}', "application/json", "Body is not UTF-8: invalid byte at position 21"),
        (b'{"steps": 2}', "application/json; charset=klingon", "Unknown charset 'klingon': JSON bodies are UTF-8"),
        (b'{"steps": 2}', "application/json; charset=latin-1", "Unsupported charset 'latin-1': JSON bodies are UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "application/json", "JSON body nested too deep: at most 64 levels"),
        (nested(65), "application/json", "JSON body nested too deep: at most 64 levels"),
        (b'{"steps": ' + b"7" * 5000 + b"}", "application/json", "an integer has more than 4300 digits"),
        (b'{"step_seconds": NaN}', "application/json", "NaN is not a JSON value"),
        (b'{"step_seconds": Infinity}', "application/json", "Infinity is not a JSON value"),
        (b'{"step_seconds": -Infinity}', "application/json", "-Infinity is not a JSON value"),
        (b'{"step_seconds": 1e999}', "application/json", "the number 1e999 is out of range"),
        (b'{"ticket_key": "\\ud800"}', "application/json", "unpaired surrogate"),
        (b'{"steps": 2,', "application/json", "Malformed JSON body: Expecting"),
    ],
    ids=[
        "not-utf8",
        "unknown-charset",
        "other-charset",
        "deep-past-recursion",
        "deep-past-bound",
        "long-integer",
        "nan",
        "infinity",
        "minus-infinity",
        "float-overflow",
        "lone-surrogate",
        "truncated",
    ],
)
async def test_malformed_bodies_are_400_with_a_clear_detail(
    client: TestClient, body: bytes, content_type: str, detail: str
) -> None:
    response = await client.post("/diagnostics/ping", data=body, headers={"Content-Type": content_type})
    assert response.status == 400
    assert detail in (await response.json())["detail"]
    assert await job_count(client) == 0


async def test_nesting_within_the_bound_reaches_validation(client: TestClient) -> None:
    response = await client.post("/diagnostics/ping", data=nested(64), headers=JSON)
    assert response.status == 422
    assert (await response.json())["detail"][0]["loc"] == ["body", "extra"]


async def test_a_long_number_within_limits_is_a_422_with_valid_json(client: TestClient) -> None:
    response = await client.post("/diagnostics/ping", data=b'{"steps": ' + b"9" * 4000 + b"}", headers=JSON)
    assert response.status == 422
    error = json.loads(await response.text())["detail"][0]
    assert error["loc"] == ["body", "steps"]


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/json"],
)
@pytest.mark.parametrize("path", ["/diagnostics/ping", "/generate/single", "/generate/batch"])
async def test_json_endpoints_refuse_other_content_types_with_415(
    client: TestClient, path: str, content_type: str | None
) -> None:
    """What a page on another site can post without a CORS preflight starts nothing."""
    body = json.dumps({"ticket_key": "DEMO-2", "jql": "project = DEMO", "async_mode": True}).encode()
    headers = {"Content-Type": content_type} if content_type else {}
    response = await client.post(path, data=body, headers=headers)
    assert response.status == 415
    detail = (await response.json())["detail"]
    assert detail.startswith("Unsupported Media Type: send the body as application/json")
    assert await job_count(client) == 0


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", "Application/JSON; charset=UTF8"]
)
async def test_json_content_types_are_accepted(client: TestClient, content_type: str) -> None:
    response = await client.post("/diagnostics/ping", data=b'{"steps": 2}', headers={"Content-Type": content_type})
    assert response.status == 200, await response.text()
    assert (await response.json())["steps"] == 2


@pytest.mark.parametrize(
    ("path", "body", "field", "kind"),
    [
        ("/diagnostics/ping", {"steps": True}, "steps", "int_type"),
        ("/diagnostics/ping", {"steps": "3"}, "steps", "int_type"),
        ("/diagnostics/ping", {"steps": 2.0}, "steps", "int_type"),
        ("/diagnostics/ping", {"fail_attempts": False}, "fail_attempts", "int_type"),
        ("/diagnostics/ping", {"step_seconds": True}, "step_seconds", "float_type"),
        ("/diagnostics/ping", {"step_seconds": "0.1"}, "step_seconds", "float_type"),
        ("/diagnostics/ping", {"async_mode": 1}, "async_mode", "bool_type"),
        ("/diagnostics/ping", {"async_mode": "true"}, "async_mode", "bool_type"),
        ("/generate/single", {"ticket_key": "DEMO-2", "update_jira": "yes"}, "update_jira", "bool_type"),
        ("/generate/single", {"ticket_key": "DEMO-2", "async_mode": 0}, "async_mode", "bool_type"),
        ("/generate/batch", {"jql": "project = DEMO", "max_results": "5"}, "max_results", "int_type"),
        ("/generate/batch", {"jql": "project = DEMO", "update_jira": 1}, "update_jira", "bool_type"),
    ],
)
async def test_numbers_and_booleans_are_strict_in_bodies(
    client: TestClient, path: str, body: dict, field: str, kind: str
) -> None:
    response = await client.post(path, json=body)
    assert response.status == 422
    errors = (await response.json())["detail"]
    assert [(error["loc"], error["type"]) for error in errors] == [(["body", field], kind)]
    assert await job_count(client) == 0


async def test_a_whole_number_is_a_float_and_query_numbers_stay_strings(client: TestClient) -> None:
    response = await client.post("/diagnostics/ping", json={"step_seconds": 0, "steps": 1})
    assert response.status == 200, await response.text()
    listed = await client.get("/jobs?limit=10")
    assert listed.status == 200
    assert (await listed.json())["limit"] == 10
