"""The OpenAPI 3.1 document of ``/api/v1/`` (served at ``/api/v1/openapi.json``)."""

from __future__ import annotations

from typing import Any

__all__ = ["openapi_document"]

_TASK = {
    "type": "object",
    "description": "A task (see the task fields in docs/execution.md).",
    "properties": {
        name: {"type": kind} for name, kind in (
            ("id", "string"), ("key", "string"), ("rule", "string"), ("pack", "string"), ("patient_id", "string"),
            ("title", "string"), ("owner_role", "string"), ("owner_id", "string"), ("priority", "string"),
            ("status", "string"), ("created_at", "string"), ("due_at", "string"), ("escalation_level", "integer"),
            ("evidence", "object"),
        )
    },
}  # fmt: skip
_ERROR = {"type": "object", "properties": {"error": {"type": "string"}}}


def _response(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    words = {400: "Bad request or not allowed from the task's status", 401: "Not signed in and no token",
             403: "Not yours, or CSRF token missing", 404: "No such task",
             429: "Too many open change streams (Retry-After says when to try again; poll meanwhile)"}  # fmt: skip
    return {str(code): _response(_ERROR, words[code]) for code in codes}


def _query(name: str, description: str, *, many: bool = False) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "array", "items": {"type": "string"}} if many else {"type": "string"}
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


def _path(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def openapi_document() -> dict[str, Any]:
    """Return the API's OpenAPI document."""
    tasks = {"type": "object", "properties": {"tasks": {"type": "array", "items": _TASK}, "count": {"type": "integer"}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "sophie staff API", "version": "1"},
        "components": {
            "securitySchemes": {
                "token": {"type": "http", "scheme": "bearer", "description": "A token from `sophie token create`."},
                "session": {"type": "apiKey", "in": "cookie", "name": "sophie_session"},
            },
            "schemas": {"Task": _TASK, "Error": _ERROR},
        },
        "security": [{"token": []}, {"session": []}],
        "paths": {
            "/api/v1/tasks": {"get": {
                "summary": "Tasks the caller may see, most urgent first, then earliest due",
                "parameters": [
                    _query("owner", "Owner's staff id"), _query("role", "Owner role"),
                    _query("status", "Statuses (repeat); default: the open ones", many=True),
                    _query("rule", "Rule id"), _query("due_before", "ISO time with offset (exclusive)"),
                    _query("due_after", "ISO time with offset (inclusive)"),
                    _query("limit", "At most this many (1000)"),
                ],
                "responses": {"200": _response(tasks), **_errors(400, 401)},
            }},
            "/api/v1/tasks/{task_id}": {"get": {
                "summary": "One task with its audit trail",
                "parameters": [_path("task_id")],
                "responses": {"200": _response({"type": "object"}), **_errors(401, 403, 404)},
            }},
            "/api/v1/tasks/{task_id}/actions/{action}": {"post": {
                "summary": "Act on a task: ack, done, snooze, block, reopen, note (audited)",
                "parameters": [_path("task_id"), _path("action")],
                "requestBody": {"required": False, "content": {"application/json": {"schema": {
                    "type": "object", "properties": {"until": {"type": "string"}, "reason": {"type": "string"},
                                                     "note": {"type": "string"}}}}}},
                "responses": {"200": _response({"type": "object"}), **_errors(400, 401, 403, 404)},
            }},
            "/api/v1/staff/{staff_id}/day": {"get": {
                "summary": "A person's day: overdue, due today, later, counts, and the backlog's tasks (the first 200)",
                "parameters": [_path("staff_id")],
                "responses": {"200": _response({"type": "object"}), **_errors(401, 403)},
            }},
            "/api/v1/report": {"get": {
                "summary": "The scorecard (managers and tokens)",
                "parameters": [_query("since", "ISO time with offset"), _query("until", "ISO time with offset")],
                "responses": {"200": _response({"type": "object"}), **_errors(400, 401, 403)},
            }},
            "/api/v1/version": {"get": {
                "summary": "A value that changes whenever the ledger does (what the board polls without events)",
                "responses": {"200": _response({"type": "object", "properties": {"version": {"type": "string"}}})},
            }},
            "/api/v1/changes": {"get": {
                "summary": "The same value as server-sent events: a 'change' event now and at each change",
                "responses": {
                    "200": {"description": "An event stream", "content": {"text/event-stream": {"schema": {
                        "type": "string"}}}},
                    **_errors(401, 429),
                },
            }},
        },
    }  # fmt: skip
