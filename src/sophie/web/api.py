"""The JSON API under ``/api/v1/``: tasks, one task, actions, a person's day, the report.

Authenticated by an API token (``Authorization: Bearer ...``, from ``sophie token create``;
it sees everything and acts as ``token:<name>``) or by a signed-in session (then a POST
carries the session's CSRF token in ``X-CSRF-Token``). ``/api/v1/openapi.json`` describes it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from sophie.errors import TransitionError, UnknownNameError
from sophie.execution.actions import Action
from sophie.execution.reports import load_scorecard
from sophie.web.live import StreamSeats, change_events, holding
from sophie.web.openapi import openapi_document
from sophie.web.security import csrf_ok
from sophie.web.site import Site, Stores
from sophie.web.views import NotAllowedError, Viewer, act, can_see, my_day

__all__ = ["api_routes"]

_MAX_LIMIT = 1000
_BACKLOG_LISTED = 200  # the backlog tasks a day lists, most urgent first (its count is complete)

Handler = Callable[[Request, Stores, Viewer], Awaitable[Response]]


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _time(text: str | None, name: str) -> datetime | None:
    if not text:
        return None
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError(f"{name} needs a UTC offset")
    return value


def api_routes(site: Site) -> list[Route]:
    """Return the API's routes."""
    seats = StreamSeats()

    def authenticated(handler: Handler, *, write: bool = False) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            with site.stores() as stores:
                header = request.headers.get("authorization", "")
                viewer: Viewer | None = None
                if header.lower().startswith("bearer "):
                    name = stores.site.token_name(header[7:].strip())
                    if name is None:
                        return _error(401, "unknown API token")
                    viewer = Viewer(f"token:{name}", None, name)
                else:
                    _, session = site.session(request)
                    if session is None:
                        return _error(401, "sign in or send an API token")
                    if write and not csrf_ok(session, request.headers.get("x-csrf-token")):
                        return _error(403, "missing or wrong X-CSRF-Token")
                    viewer = site.viewer_for(session.staff_id, stores)
                try:
                    return await handler(request, stores, viewer)
                except NotAllowedError:
                    return _error(403, "not your task")
                except UnknownNameError:
                    return _error(404, "no such task")
                except (TransitionError, ValueError) as err:
                    return _error(400, str(err))

        return endpoint

    async def tasks(request: Request, stores: Stores, viewer: Viewer) -> Response:
        query = request.query_params
        statuses = query.getlist("status") or None
        limit = min(int(query.get("limit", "200")), _MAX_LIMIT)
        found = stores.ledger.find_tasks(
            owner_id=query.get("owner"), role=query.get("role"), statuses=statuses, rule=query.get("rule"),
            due_before=_time(query.get("due_before"), "due_before"),
            due_after=_time(query.get("due_after"), "due_after"), practice_id=site.practice_id,
            limit=limit if viewer.is_manager else None,
        )  # fmt: skip
        visible = [task for task in found if can_see(viewer, task)][:limit]
        return JSONResponse({"tasks": [task.as_dict() for task in visible], "count": len(visible)})

    async def one_task(request: Request, stores: Stores, viewer: Viewer) -> Response:
        task = stores.ledger.get(request.path_params["task_id"])
        if task.id != request.path_params["task_id"] or site.practice_id not in (None, task.practice_id):
            raise UnknownNameError("task", request.path_params["task_id"])
        if not can_see(viewer, task):
            raise NotAllowedError("not yours")
        events = [event.as_dict() for event in stores.ledger.audit(task.id)]
        return JSONResponse({"task": task.as_detail(), "audit": events})

    async def action(request: Request, stores: Stores, viewer: Viewer) -> Response:
        body = await request.json() if request.headers.get("content-length", "0") != "0" else {}
        if not isinstance(body, dict):
            raise ValueError("send a JSON object")
        name = request.path_params["action"]
        if name not in {str(a) for a in Action}:
            raise ValueError(f"unknown action {name!r}")
        result = act(
            stores.ledger, viewer, request.path_params["task_id"], name, now=site.context(stores).now,
            until=_time(body.get("until"), "until"), text=body.get("reason") or body.get("note"),
            practice_id=site.practice_id,
        )  # fmt: skip
        return JSONResponse({"event": result.event, "task": result.task.as_detail()})

    async def day(request: Request, stores: Stores, viewer: Viewer) -> Response:
        staff_id = request.path_params["staff_id"]
        if not viewer.is_manager and staff_id != viewer.staff_id:
            raise NotAllowedError("not yours")
        person = site.viewer_for(staff_id, stores)
        shown = my_day(stores.ledger, stores.site, person, site.context(stores))
        return JSONResponse({
            "staff_id": staff_id,
            "name": person.name,
            "counts": {"open": shown.load.open, "overdue": shown.load.overdue, "due_today": shown.load.due_today,
                       "backlog": shown.load.backlog},
            "overdue": [card.task.as_dict() for card in shown.overdue],
            "due_today": [card.task.as_dict() for card in shown.today],
            "later": [card.task.as_dict() for card in shown.later],
            "backlog": [task.as_dict() for task in stores.ledger.find_tasks(
                owner_id=staff_id, statuses=("backlog",), practice_id=site.practice_id, limit=_BACKLOG_LISTED)],
        })  # fmt: skip

    async def report(request: Request, stores: Stores, viewer: Viewer) -> Response:
        if not viewer.is_manager:
            raise NotAllowedError("managers only")
        context = site.context(stores)
        until = _time(request.query_params.get("until"), "until") or context.day_end
        since = _time(request.query_params.get("since"), "since") or until - timedelta(days=28)
        card = load_scorecard(stores.ledger, since=since, until=until, practice_id=site.practice_id)
        return JSONResponse(card.as_dict())

    async def version(request: Request, stores: Stores, viewer: Viewer) -> Response:
        return JSONResponse({"version": stores.ledger.change_marker()})

    async def changes(request: Request, stores: Stores, viewer: Viewer) -> Response:
        seat = seats.take(viewer.actor)
        if seat is None:  # each stream holds a connection: the page polls instead
            refused = _error(429, "too many open change streams; poll /api/v1/version")
            refused.headers["Retry-After"] = "30"
            return refused
        return StreamingResponse(
            holding(seat, change_events(site.ledger)),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
            background=BackgroundTask(seat.give_back),  # also when the stream never started
        )

    async def openapi(request: Request) -> Response:
        return JSONResponse(openapi_document())

    return [
        Route("/openapi.json", openapi),
        Route("/version", authenticated(version)),
        Route("/changes", authenticated(changes)),
        Route("/tasks", authenticated(tasks)),
        Route("/tasks/{task_id}", authenticated(one_task)),
        Route("/tasks/{task_id}/actions/{action}", authenticated(action, write=True), methods=["POST"]),
        Route("/staff/{staff_id}/day", authenticated(day)),
        Route("/report", authenticated(report)),
    ]
