"""Merging the services' OpenAPI documents into one for the whole public surface."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from gateway.domain.access import Access, route_of

HIDDEN_PREFIXES = ("/internal", "/healthz", "/readyz", "/metrics", "/auth/")
REF_PREFIX = "#/components/schemas/"
SECURITY_SCHEMES = {
    "ApcaKeyId": {"type": "apiKey", "in": "header", "name": "APCA-API-KEY-ID"},
    "ApcaSecret": {"type": "apiKey", "in": "header", "name": "APCA-API-SECRET-KEY"},
    "Bearer": {"type": "http", "scheme": "bearer", "description": "<key id>:<secret>"},
}
PRIVATE_SECURITY: list[dict[str, list[str]]] = [{"ApcaKeyId": [], "ApcaSecret": []}, {"Bearer": []}]
ERROR_SCHEMA = {
    "title": "Error",
    "type": "object",
    "required": ["code", "message"],
    "properties": {"code": {"type": "integer"}, "message": {"type": "string"}},
}
# What the gateway itself may answer on any operation, before or instead of the service.
EDGE_RESPONSES = {
    "400": "Malformed request (nginx: request line, headers, or body)",
    "429": "Too many requests (nginx's rate limit)",
}
PRIVATE_RESPONSES = {
    "401": "Missing, unknown or revoked API key",
    "403": "The key lacks the scope this operation needs",
}
BODY_RESPONSES = {"413": "Request body too large"}


def is_public_path(path: str) -> bool:
    return not path.startswith(HIDDEN_PREFIXES) and route_of(path) is not None


def _rename_refs(node: Any, renames: Mapping[str, str]) -> Any:
    if isinstance(node, dict):
        result = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(REF_PREFIX):
                name = value[len(REF_PREFIX) :]
                result[key] = REF_PREFIX + renames.get(name, name)
            else:
                result[key] = _rename_refs(value, renames)
        return result
    if isinstance(node, list):
        return [_rename_refs(item, renames) for item in node]
    return node


def merge_documents(
    documents: Mapping[str, dict[str, Any]], *, title: str, version: str
) -> dict[str, Any]:
    """One document: public paths of every service, schemas renamed on a name clash."""
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for service, original in documents.items():
        document = copy.deepcopy(original)
        own = document.get("components", {}).get("schemas", {})
        renames = {
            name: f"{service}.{name}"
            for name, schema in own.items()
            if schemas.get(name, schema) != schema
        }
        document = _rename_refs(document, renames)
        for name, schema in document.get("components", {}).get("schemas", {}).items():
            schemas[renames.get(name, name)] = schema
        for path, item in document.get("paths", {}).items():
            if not is_public_path(path):
                continue
            _mark_security(path, item, service)
            paths.setdefault(path, {}).update(item)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": {**schemas, "Error": ERROR_SCHEMA},
            "securitySchemes": SECURITY_SCHEMES,
        },
    }


def _mark_security(path: str, item: dict[str, Any], service: str) -> None:
    route = route_of(path)
    for operation in item.values():
        if not isinstance(operation, dict):
            continue
        operation.setdefault("tags", [service])
        edge = dict(EDGE_RESPONSES)
        if route is not None and route.access is Access.PRIVATE:
            operation["security"] = PRIVATE_SECURITY
            edge.update(PRIVATE_RESPONSES)
        elif route is not None and route.access is Access.OPTIONAL:
            operation["security"] = [*PRIVATE_SECURITY, {}]
            edge.update(PRIVATE_RESPONSES)
        if "requestBody" in operation:
            edge.update(BODY_RESPONSES)
        if any(p.get("in") == "path" for p in operation.get("parameters", [])):
            edge["404"] = "No such object (another user's objects do not exist for the caller)"
        _document_responses(operation, edge)


def _document_responses(operation: dict[str, Any], responses: Mapping[str, str]) -> None:
    """Add the gateway's own answers, each a JSON ``{"code", "message"}``, where the service
    did not document that status itself."""
    documented = operation.setdefault("responses", {})
    for status, description in responses.items():
        documented.setdefault(
            status,
            {
                "description": description,
                "content": {"application/json": {"schema": {"$ref": REF_PREFIX + "Error"}}},
            },
        )


HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def allowed_methods(document: Mapping[str, Any], path: str) -> list[str]:
    """The methods the document declares for ``path`` (matched against its templates), for the
    ``Allow`` header of a 405; HEAD goes with GET, as the services answer it."""
    for template, item in document.get("paths", {}).items():
        pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, path):
            methods = [m.upper() for m in HTTP_METHODS if m in item]
            if "GET" in methods and "HEAD" not in methods:
                methods.append("HEAD")
            return methods
    return []
