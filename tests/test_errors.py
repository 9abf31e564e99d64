"""Bad input gets a clear 4xx naming the field, in `{"detail": ...}`, and changes nothing."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from bot.app import create_app
from tests.fixtures.nats import make_settings


async def job_count(client: TestClient) -> int:
    return (await (await client.get("/jobs")).json())["total"]


async def test_malformed_json_is_400(client: TestClient) -> None:
    response = await client.post(
        "/diagnostics/ping", data=b'{"steps": 2,', headers={"Content-Type": "application/json"}
    )
    assert response.status == 400
    assert (await response.json())["detail"].startswith("Malformed JSON body: Expecting")
    assert await job_count(client) == 0


async def test_invalid_fields_are_422_naming_each_field(client: TestClient) -> None:
    response = await client.post(
        "/diagnostics/ping", json={"steps": 0, "ticket_key": "not a key", "step_seconds": "slow"}
    )
    assert response.status == 422
    errors = (await response.json())["detail"]
    assert {tuple(error["loc"]) for error in errors} == {
        ("body", "steps"),
        ("body", "ticket_key"),
        ("body", "step_seconds"),
    }
    steps = next(error for error in errors if error["loc"] == ["body", "steps"])
    assert steps["msg"] == "Input should be greater than or equal to 1"
    assert steps["input"] == 0
    assert await job_count(client) == 0


async def test_a_missing_or_non_object_body_is_422(client: TestClient) -> None:
    empty = await client.post("/diagnostics/ping", data=b"")
    assert empty.status == 422
    assert (await empty.json())["detail"][0]["loc"] == ["body"]
    listed = await client.post("/diagnostics/ping", json=[1, 2])
    assert listed.status == 422


async def test_invalid_query_parameters_are_422(client: TestClient) -> None:
    for params, field in (({"status": "done"}, "status"), ({"limit": "0"}, "limit"), ({"cursor": "%%%"}, "cursor")):
        response = await client.get("/jobs", params=params)
        assert response.status == 422, params
        assert (await response.json())["detail"][0]["loc"] == ["query", field]


async def test_a_body_over_the_limit_is_413(aiohttp_client, nats_url: str) -> None:
    client = await aiohttp_client(create_app(make_settings(nats_url, server={"max_body_bytes": 2048})))
    response = await client.post("/diagnostics/ping", json={"ticket_key": "DEMO-1", "padding": "x" * 4096})
    assert response.status == 413
    assert "detail" in await response.json()
    assert await job_count(client) == 0


async def test_unknown_paths_and_methods(client: TestClient) -> None:
    missing = await client.get("/nope")
    assert missing.status == 404
    assert await missing.json() == {"detail": "Not Found"}
    wrong_method = await client.put("/jobs")
    assert wrong_method.status == 405
    assert "GET" in wrong_method.headers["Allow"]
    assert await wrong_method.json() == {"detail": "Method Not Allowed"}


async def test_unknown_fields_are_422_not_ignored(client: TestClient) -> None:
    response = await client.post("/diagnostics/ping", json={"steps": 1, "async_mod": True})
    assert response.status == 422
    error = (await response.json())["detail"][0]
    assert error["loc"] == ["body", "async_mod"]
    assert error["msg"] == "Extra inputs are not permitted"
