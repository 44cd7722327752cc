"""Merging the services' OpenAPI documents into one for the whole public surface."""

from __future__ import annotations

import copy
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
        "components": {"schemas": schemas, "securitySchemes": SECURITY_SCHEMES},
    }


def _mark_security(path: str, item: dict[str, Any], service: str) -> None:
    route = route_of(path)
    for operation in item.values():
        if not isinstance(operation, dict):
            continue
        operation.setdefault("tags", [service])
        if route is not None and route.access is Access.PRIVATE:
            operation["security"] = PRIVATE_SECURITY
        elif route is not None and route.access is Access.OPTIONAL:
            operation["security"] = [*PRIVATE_SECURITY, {}]
