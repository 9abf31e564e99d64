"""The OpenAPI document is generated from the models that validate, and the docs work offline."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestClient
from openapi_spec_validator import validate

from bot.app import create_app
from tests.fixtures.nats import make_settings


async def test_openapi_document_is_valid_and_complete(client: TestClient) -> None:
    response = await client.get("/openapi.json")
    assert response.status == 200
    document = await response.json()
    validate(document)  # raises on any violation of the OpenAPI 3.1 schema

    assert document["info"]["title"] == "Augment API"
    operations = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    assert {
        ("GET", "/"),
        ("GET", "/health"),
        ("GET", "/health/ready"),
        ("GET", "/models"),
        ("GET", "/jobs"),
        ("GET", "/jobs/{job_id}"),
        ("DELETE", "/jobs/{job_id}"),
        ("GET", "/jobs/ticket/{ticket_key}"),
        ("POST", "/diagnostics/ping"),
    } <= operations
    assert ("GET", "/docs") not in operations


async def test_the_document_describes_what_the_api_validates(client: TestClient) -> None:
    document = await (await client.get("/openapi.json")).json()
    ping = document["paths"]["/diagnostics/ping"]["post"]
    schema_name = ping["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    body = document["components"]["schemas"][schema_name]
    assert body["properties"]["steps"]["minimum"] == 1
    assert body["additionalProperties"] is False
    assert set(ping["responses"]) == {"200", "202", "400", "401", "409", "415", "422", "502", "503"}

    listing = document["paths"]["/jobs"]["get"]
    parameters = {parameter["name"]: parameter for parameter in listing["parameters"]}
    assert set(parameters) == {"status", "job_type", "limit", "cursor"}
    assert parameters["limit"]["schema"]["maximum"] == 500
    job = document["components"]["schemas"]["JobRecord"]
    assert {"job_id", "status", "progress", "result", "error", "usage", "plan", "applied", "status_url"} <= set(
        job["properties"]
    )

    public = {path for path, item in document["paths"].items() if item.get("get", {}).get("security") == []}
    assert {"/", "/health", "/health/ready"} <= public


async def test_auth_appears_in_the_document_when_enabled(aiohttp_client, nats_url: str) -> None:
    settings = make_settings(
        nats_url, auth={"enabled": True, "password_hash": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaA"}
    )
    client = await aiohttp_client(create_app(settings))
    document = await (await client.get("/openapi.json")).json()
    assert document["security"] == [{"basicAuth": []}]
    assert document["components"]["securitySchemes"]["basicAuth"] == {"type": "http", "scheme": "basic"}


async def test_swagger_ui_and_redoc_load_only_local_assets(client: TestClient) -> None:
    for page in ("/docs", "/redoc"):
        response = await client.get(page)
        assert response.status == 200
        html = await response.text()
        assert "/openapi.json" in html
        assert not re.search(r"https?://", html), f"{page} refers to an outside URL"
        for asset in re.findall(r'(?:src|href)="(/docs/assets/[^"]+)"', html):
            served = await client.get(asset)
            assert served.status == 200, asset
            assert len(await served.read()) > 500
    assert (await client.get("/docs/assets/../../etc/passwd")).status == 404
    assert (await client.get("/docs/assets/nothing.js")).status == 404
