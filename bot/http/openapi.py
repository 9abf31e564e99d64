"""The OpenAPI 3.1 document, built from the same route tables and models that validate."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from bot.http.routes import Endpoint
from schemas.errors import ErrorResponse, ValidationErrorResponse

REF_TEMPLATE = "#/components/schemas/{model}"
PATH_PARAMETER = re.compile(r"{([^}:]+)(?::[^}]+)?}")
# A model in one mode -> the $ref to its schema.
Refs = dict[tuple[type[BaseModel], JsonSchemaMode], dict[str, Any]]
STATUS_TEXT = {
    200: "OK",
    201: "Created",
    202: "Accepted: the job continues in the background",
    204: "Done; no content",
    400: "Malformed JSON body",
    401: "Missing or wrong credentials",
    404: "Not found",
    409: "Conflict",
    413: "Request body too large",
    415: "The body is not sent as application/json",
    422: "Invalid field",
    502: "Jira or an LLM failed after retries",
    503: "NATS is unreachable",
}


def openapi_document(
    endpoints: list[Endpoint], *, title: str, version: str, description: str, auth_enabled: bool
) -> dict[str, Any]:
    documented = [endpoint for endpoint in endpoints if endpoint.in_schema]
    refs, components = _component_schemas(documented)
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in documented:
        path = PATH_PARAMETER.sub(r"{\1}", endpoint.path)
        paths.setdefault(path, {})[endpoint.method.lower()] = _operation(endpoint, refs)
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version, "description": description},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"basicAuth": {"type": "http", "scheme": "basic"}},
        },
        "tags": [{"name": tag} for tag in dict.fromkeys(endpoint.tag for endpoint in documented)],
    }
    if auth_enabled:
        document["security"] = [{"basicAuth": []}]
    return document


def _component_schemas(
    endpoints: list[Endpoint],
) -> tuple[Refs, dict[str, Any]]:
    wanted: dict[tuple[type[BaseModel], JsonSchemaMode], None] = {
        (ErrorResponse, "serialization"): None,
        (ValidationErrorResponse, "serialization"): None,
    }
    for endpoint in endpoints:
        if endpoint.body is not None:
            wanted[endpoint.body, "validation"] = None
        for model in (endpoint.response, *(model for _, model in endpoint.responses.values())):
            if model is not None:
                wanted[model, "serialization"] = None
    refs, schema = models_json_schema(list(wanted), ref_template=REF_TEMPLATE)
    return {key: refs[key] for key in wanted}, schema.get("$defs", {})


def _operation(endpoint: Endpoint, refs: Refs) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "tags": [endpoint.tag],
        "summary": endpoint.summary,
        "operationId": f"{endpoint.method.lower()}_{endpoint.handler.__name__}",
        "parameters": _parameters(endpoint),
        "responses": _responses(endpoint, refs),
    }
    if endpoint.description:
        operation["description"] = endpoint.description
    if endpoint.body is not None:
        operation["requestBody"] = {
            "required": endpoint.body_required,
            "content": {"application/json": _media(refs[endpoint.body, "validation"], endpoint.body, "validation")},
        }
    if endpoint.public:
        operation["security"] = []
    return operation


def _parameters(endpoint: Endpoint) -> list[dict[str, Any]]:
    path_schemas = _properties(endpoint.path_params) if endpoint.path_params is not None else {}
    parameters = [
        _parameter(name, "path", path_schemas.get(name, {"type": "string"}), required=True)
        for name in PATH_PARAMETER.findall(endpoint.path)
    ]
    if endpoint.query is not None:
        required = set(endpoint.query.model_json_schema(ref_template=REF_TEMPLATE).get("required", []))
        for name, prop in _properties(endpoint.query).items():
            parameters.append(_parameter(name, "query", prop, required=name in required))
    return parameters


def _properties(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema(ref_template=REF_TEMPLATE).get("properties", {})


def _parameter(name: str, where: str, schema: dict[str, Any], *, required: bool) -> dict[str, Any]:
    parameter = {"name": name, "in": where, "required": required, "schema": schema}
    if "description" in schema:
        parameter["description"] = schema["description"]
    return parameter


def _responses(endpoint: Endpoint, refs: Refs) -> dict[str, Any]:
    # status → (description, schema, the model whose example it shows)
    answers: dict[int, tuple[str, dict[str, Any], type[BaseModel] | None]] = {}
    success_schema = refs[endpoint.response, "serialization"] if endpoint.response else {}
    answers[endpoint.status] = (STATUS_TEXT.get(endpoint.status, "OK"), success_schema, endpoint.response)

    def error(text: str, model: type[BaseModel]) -> tuple[str, dict[str, Any], type[BaseModel] | None]:
        return text, refs[model, "serialization"], model

    for status, (text, model) in endpoint.responses.items():
        # Every 422 is a list of field errors (FieldInvalidError), whoever documents it.
        default = ValidationErrorResponse if status == 422 else ErrorResponse
        answers[status] = error(text, model or default)
    if endpoint.body is not None or endpoint.query is not None or endpoint.path_params is not None:
        answers.setdefault(422, error(STATUS_TEXT[422], ValidationErrorResponse))
    if endpoint.body is not None:
        answers.setdefault(400, error(STATUS_TEXT[400], ErrorResponse))
        answers.setdefault(415, error(STATUS_TEXT[415], ErrorResponse))
    if not endpoint.public:
        answers.setdefault(401, error(STATUS_TEXT[401], ErrorResponse))
    if endpoint.uses_nats:
        answers.setdefault(503, error(STATUS_TEXT[503], ErrorResponse))
    if endpoint.media_type != "application/json":
        answers[endpoint.status] = (answers[endpoint.status][0], {"type": "string", "format": "binary"}, None)
    return {
        # A 204 has no body, so no content to describe.
        str(status): {"description": text}
        | (
            {}
            if status == 204
            else {"content": {_media_type(endpoint, status): _media(schema, model, "serialization")}}
        )
        for status, (text, schema, model) in sorted(answers.items())
    }


def _media(schema: dict[str, Any], model: type[BaseModel] | None, mode: JsonSchemaMode) -> dict[str, Any]:
    """A media type object whose `example` is the first of the model's own examples (`json_schema_extra`),
    which Swagger UI puts in "Try it out" and ReDoc shows beside the schema. An answer's example is
    the model's own serialization of it: computed fields and defaults included, as the API sends it."""
    media: dict[str, Any] = {"schema": schema}
    extra = model.model_config.get("json_schema_extra") if model is not None else None
    examples = extra.get("examples") if isinstance(extra, dict) else None
    if model is not None and isinstance(examples, list) and examples:
        example = examples[0]
        if mode == "serialization":
            example = model.model_validate(example).model_dump(mode="json", by_alias=True)
        media["example"] = example
    return media


def _media_type(endpoint: Endpoint, status: int) -> str:
    return endpoint.media_type if status == endpoint.status else "application/json"
