"""The API documentation: every operation described, with examples that work on the sandbox, every
property described, and two pages that make no outside request.

The examples come from the pydantic models (`json_schema_extra`, `Field(examples=...)`) and use the
sandbox's demo data, so each preview example is posted here to a sandboxed service, as a user would
from Swagger UI's "Try it out" with `make run` going.
"""

from __future__ import annotations

import json
import re
from importlib.metadata import requires
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from tests.fixtures.service import SandboxedService

JSON = "application/json"
# Operations whose examples are not posted: they write at once (no preview mode), or need what an
# example cannot carry (the preview job an apply writes; a webhook's secret and a fresh timestamp).
NOT_POSTED = {
    ("post", "/jobs/{job_id}/apply"),
    ("post", "/sprint/create"),
    ("put", "/sprint/{sprint_id}"),
    ("post", "/webhooks/jira"),
}
# Writes to Jira, which no example posted here may ask for.
WRITING_FLAGS = {"dry_run": False, "update_jira": True, "create_ticket": True}
# Hosts named in the served pages and bundles that the browser never fetches: XML namespaces and
# JSON Schema ids, links in error messages and in the UIs' "powered by" lines, sample URLs, and
# Swagger UI's link formatters for social tags. Swagger UI's validator badge would fetch
# validator.swagger.io: the page turns it off (`validatorUrl: null`, checked below).
NOT_FETCHED = {
    "www.w3.org",
    "json-schema.org",
    "spec.openapis.org",
    "spdx.org",
    "github.com",
    "git.io",
    "raw.githubusercontent.com",
    "reactjs.org",
    "redux.js.org",
    "fb.me",
    "stackoverflow.com",
    "marked.js.org",
    "redocly.com",
    "redoc.ly",
    "swagger.io",
    "validator.swagger.io",
    "example.com",
    "twitter.com",
    "instagram.com",
    "www.instagram.com",
    "www.tiktok.com",
    "www.facebook.com",
    "soundcloud.com",
}
LOCAL = {"127.0.0.1", "localhost"}


async def document(client: TestClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status == 200
    return await response.json()


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, operation) for path, item in doc["paths"].items() for method, operation in item.items()]


def validator(doc: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    """Validates against `schema`, its `#/components/schemas/...` references resolved in `doc`."""
    root = Resource.from_contents(doc | {"$schema": "https://json-schema.org/draft/2020-12/schema"})
    registry: Registry = Registry().with_resource("urn:openapi", root)
    resolved = json.loads(json.dumps(schema).replace('"#/components/', '"urn:openapi#/components/'))
    return Draft202012Validator(resolved, registry=registry)


def json_success(operation: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The 2xx answers with a JSON body (not a 204, not a chart or the metrics' text)."""
    return [
        (status, answer["content"][JSON])
        for status, answer in operation["responses"].items()
        if status.startswith("2") and JSON in answer.get("content", {})
    ]


async def test_every_operation_has_a_description_and_examples_that_match_its_schemas(client: TestClient) -> None:
    doc = await document(client)
    problems = []
    for method, path, operation in operations(doc):
        name = f"{method.upper()} {path}"
        if not operation.get("description", "").strip():
            problems.append(f"{name}: no description")
        body = operation.get("requestBody", {}).get("content", {}).get(JSON)
        if body is not None:
            if "example" not in body:
                problems.append(f"{name}: no request example")
            else:
                errors = [error.message for error in validator(doc, body["schema"]).iter_errors(body["example"])]
                problems += [f"{name}: request example: {error}" for error in errors]
        answers = json_success(operation)
        if answers and not any("example" in media for _, media in answers):
            problems.append(f"{name}: no 2xx response example")
        for status, media in answers:
            if "example" in media:
                errors = [error.message for error in validator(doc, media["schema"]).iter_errors(media["example"])]
                problems += [f"{name}: {status} example: {error}" for error in errors]
    assert not problems, "\n".join(problems)


async def test_every_schema_property_and_parameter_has_a_description(client: TestClient) -> None:
    doc = await document(client)
    missing = [
        f"{name}.{prop}"
        for name, schema in doc["components"]["schemas"].items()
        for prop, definition in schema.get("properties", {}).items()
        if not definition.get("description", "").strip()
    ]
    missing += [
        f"{method.upper()} {path}: {parameter['name']}"
        for method, path, operation in operations(doc)
        for parameter in operation["parameters"]
        if not parameter.get("description", "").strip()
    ]
    assert not missing, "\n".join(missing)


async def test_the_examples_use_the_sandbox_demo_data(client: TestClient) -> None:
    text = json.dumps(await document(client))
    assert not re.search(r"\bPROJ\b|PROJ-\d|acme\.atlassian", text)
    assert "DEMO-3" in text and "DEMO-11" in text


def posted_examples(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """The request examples to post, teams first (the sprint plans name team `demo`)."""
    chosen = [
        (method, path, operation["requestBody"]["content"][JSON]["example"])
        for method, path, operation in operations(doc)
        if "requestBody" in operation and (method, path) not in NOT_POSTED
    ]
    return sorted(chosen, key=lambda item: not item[1].startswith("/teams"))


def example_path(path: str, operation: dict[str, Any]) -> str:
    """`path` with each parameter's example (`{ticket_key}` → DEMO-3, `{team_id}` → demo)."""
    for parameter in operation["parameters"]:
        if parameter["in"] == "path":
            path = path.replace(f"{{{parameter['name']}}}", str(parameter["schema"]["examples"][0]))
    return path


async def test_the_examples_work_against_the_sandbox(sandboxed: SandboxedService) -> None:
    client = sandboxed.client
    doc = await document(client)
    by_operation = {(method, path): operation for method, path, operation in operations(doc)}
    examples = posted_examples(doc)
    tags = {tag for method, path, _ in examples for tag in by_operation[method, path]["tags"]}
    assert {"diagnostics", "generation", "jira", "planning", "sprint_planning", "sprints", "teams"} <= tags
    for method, path, example in examples:
        assert not any(example.get(flag) is value for flag, value in WRITING_FLAGS.items()), (path, example)
        url = example_path(path, by_operation[method, path])
        response = await client.request(method.upper(), url, json=example)
        assert response.status in (200, 201, 202), f"{method.upper()} {url}: {await response.text()}"
    # Then the GETs whose path parameters have examples (DEMO-3 has jobs now; a job id is made at
    # run time, so not those).
    for method, path, operation in operations(doc):
        if method == "get" and "{" in path and "{job_id}" not in path:
            url = example_path(path, operation)
            response = await client.get(url)
            assert response.status == 200, f"GET {url}: {await response.text()}"


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_the_pages_make_no_outside_request(client: TestClient, page: str) -> None:
    html = await (await client.get(page)).text()
    assets = re.findall(r'(?:src|href)="(/docs/assets/[^"]+)"', html)
    texts = [html]
    for asset in assets:
        response = await client.get(asset)
        assert response.status == 200, asset
        if asset.endswith((".js", ".css")):
            texts.append(await response.text())
    outside = {
        host
        for text in texts
        for host in re.findall(r"https?://([A-Za-z0-9.-]+)", text)
        if host not in LOCAL | NOT_FETCHED and not host.endswith(".")  # `https://api.${domain}`: no host
    }
    assert not outside, f"{page} names outside hosts: {sorted(outside)}"
    if page == "/docs":
        assert "validatorUrl: null" in html


async def test_redoc_footer_logo_is_served_locally(client: TestClient) -> None:
    script = await (await client.get("/docs/assets/redoc.standalone.js")).text()
    assert "cdn.redoc.ly" not in script
    assert "/docs/assets/redoc-logo-mini.svg" in script
    logo = await client.get("/docs/assets/redoc-logo-mini.svg")
    assert logo.status == 200
    assert b"<svg" in await logo.read()


def test_the_assets_package_brings_no_framework() -> None:
    """Django came with drf-spectacular-sidecar; openapi-ui-bundles requires nothing."""
    augment = [requirement.split(";")[0] for requirement in requires("augment") or []]
    assert not any(re.match(r"(?i)drf-spectacular|django", requirement) for requirement in augment)
    assert any(requirement.startswith("openapi-ui-bundles") for requirement in augment)
    assert not requires("openapi-ui-bundles")
