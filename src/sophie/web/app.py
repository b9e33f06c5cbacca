"""The staff pages: sign in, My day, the huddle board, the scorecard (Starlette).

Every page needs a session; every form carries the session's CSRF token; every action
goes through the ledger's audited transition with the signed-in staff id. URLs carry
task ids and dates only, never patient data, so access logs hold none.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from sophie.errors import TransitionError, UnknownNameError
from sophie.execution.reports import business_day_length, load_scorecard
from sophie.web.api import api_routes
from sophie.web.rendering import local_time
from sophie.web.scorecard_view import scorecard_view
from sophie.web.security import SESSION_COOKIE, csrf_ok, new_token, verify_password
from sophie.web.site import Site, Stores
from sophie.web.templating import templates
from sophie.web.views import PAGE_LATER_LIMIT, PAGE_SECTION_LIMIT, NotAllowedError, Viewer, act, board, my_day

__all__ = ["create_app"]

_LOGIN_CSRF = "sophie_login_csrf"
_BACK = {"my-day": "/my-day", "huddle": "/huddle"}
_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


class _SecurityHeaders(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        response.headers.update(_HEADERS)
        if not request.url.path.startswith("/static/"):
            response.headers["Cache-Control"] = "no-store"
        return response


def _page(name: str, status: int = 200, **values: Any) -> HTMLResponse:
    return HTMLResponse(templates().get_template(name).render(**values), status_code=status)


def _cookie(response: Response, site: Site, name: str, value: str) -> None:
    response.set_cookie(name, value, httponly=True, samesite="strict", secure=site.secure_cookies, path="/")


def _sign_in_page(site: Site, request: Request, *, error: str = "", staff_id: str = "", status: int = 200) -> Response:
    token = request.cookies.get(_LOGIN_CSRF) or new_token()
    response = _page("sign_in.html", status, title="Sign in", csrf=token, error=error, staff_id=staff_id,
                     body_class="plain")  # fmt: skip
    _cookie(response, site, _LOGIN_CSRF, token)
    return response


def create_app(site: Site) -> Starlette:
    """Return the ASGI application of the staff pages and the JSON API."""

    async def sign_in_form(request: Request) -> Response:
        if site.session(request)[1] is not None:
            return RedirectResponse("/my-day", 303)
        return _sign_in_page(site, request)

    async def sign_in(request: Request) -> Response:
        form = await request.form()
        staff_id = str(form.get("staff_id", "")).strip()[:100]
        password = str(form.get("password", ""))
        submitted, expected = str(form.get("csrf", "")), request.cookies.get(_LOGIN_CSRF)
        if not expected or submitted != expected:
            return _page("error.html", 403, title="Refused", message="The form expired; reload the page.")
        keys = (f"address:{request.client.host if request.client else '?'}", f"staff:{staff_id}")
        if not site.limiter.allowed(*keys):
            return _sign_in_page(site, request, error="Too many attempts. Wait a minute and try again.",
                                 staff_id=staff_id, status=429)  # fmt: skip
        with site.stores() as stores:
            ok = verify_password(stores.site.password_hash(staff_id), password)
        if not ok:
            site.limiter.failed(*keys)
            return _sign_in_page(site, request, error="That staff id and password do not match.", staff_id=staff_id,
                                 status=401)  # fmt: skip
        session_id, _ = site.sessions.create(staff_id)
        response = RedirectResponse("/my-day", 303)
        _cookie(response, site, SESSION_COOKIE, session_id)
        return response

    async def sign_out(request: Request) -> Response:
        session_id, session = site.session(request)
        form = await request.form()
        if session is not None and csrf_ok(session, str(form.get("csrf", ""))):
            site.sessions.end(session_id)
        response = RedirectResponse("/sign-in", 303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    def signed_in(request: Request, stores: Stores) -> tuple[Viewer, str] | None:
        _, session = site.session(request)
        if session is None:
            return None
        return site.viewer_for(session.staff_id, stores), session.csrf

    async def my_day_page(request: Request) -> Response:
        with site.stores() as stores:
            who = signed_in(request, stores)
            if who is None:
                return RedirectResponse("/sign-in", 303)
            viewer, csrf = who
            context = site.context(stores)
            day = my_day(stores.ledger, stores.site, viewer, context, section_limit=PAGE_SECTION_LIMIT,
                         later_limit=PAGE_LATER_LIMIT)  # fmt: skip
        flash = _flash(request)
        return _page("my_day.html", title="My day", page="my-day", viewer=viewer, csrf=csrf, day=day, flash=flash,
                     today=f"{context.now:%A, %B} {context.now.day}", now_local=context.now)  # fmt: skip

    async def huddle_page(request: Request) -> Response:
        with site.stores() as stores:
            who = signed_in(request, stores)
            if who is None:
                return RedirectResponse("/sign-in", 303)
            viewer, csrf = who
            context = site.context(stores)
            shown = board(stores.ledger, stores.site, context)
        read_at = local_time(shown.directory_read_at, context.zone) if shown.directory_read_at else ""
        return _page("huddle.html", title="Huddle board", page="huddle", viewer=viewer, csrf=csrf, board=shown,
                     today=f"{context.now:%A, %B} {context.now.day}", read_at=read_at)  # fmt: skip

    async def scorecard_page(request: Request) -> Response:
        with site.stores() as stores:
            who = signed_in(request, stores)
            if who is None:
                return RedirectResponse("/sign-in", 303)
            viewer, csrf = who
            if not viewer.is_manager:
                return _page("error.html", 403, title="Not for you", message="The scorecard is for the office "
                             "manager and the owner dentist.", viewer=viewer, csrf=csrf)  # fmt: skip
            context = site.context(stores)
            since, until = period(request.query_params.get("since"), request.query_params.get("until"), context.zone,
                                  context.now)  # fmt: skip
            card = load_scorecard(stores.ledger, since=since, until=until, practice_id=site.practice_id)
            names = {sid: entry.name for sid, entry in context.staff.items()}
            practice_ids = [site.practice_id] if site.practice_id else stores.ledger.practice_ids()[:1]
            day = business_day_length(stores.ledger.practice(practice_ids[0]) if practice_ids else None)
        view = scorecard_view(card, names=names, day=day)
        return _page("scorecard.html", title="Scorecard", page="scorecard", viewer=viewer, csrf=csrf, view=view,
                     since=f"{since:%Y-%m-%d}", until=f"{until - timedelta(days=1):%Y-%m-%d}")  # fmt: skip

    async def task_action(request: Request) -> Response:
        task_id, action = request.path_params["task_id"], request.path_params["action"]
        form = await request.form()
        session_id, session = site.session(request)
        if session is None:
            return RedirectResponse("/sign-in", 303)
        if not csrf_ok(session, str(form.get("csrf", ""))):
            return _page("error.html", 403, title="Refused", message="The form expired; reload the page.")
        back = _BACK.get(str(form.get("back", "")), "/my-day")
        with site.stores() as stores:
            viewer = site.viewer_for(session.staff_id, stores)
            context = site.context(stores)
            text = str(form.get("reason") or form.get("note") or "").strip() or None
            try:
                until = _local_input(form.get("until"), context.zone)
                result = act(stores.ledger, viewer, task_id, action, now=context.now, until=until, text=text,
                             practice_id=context.practice_id)  # fmt: skip
            except NotAllowedError:
                return _page("error.html", 403, title="Not your task", message="That task is someone else's.",
                             viewer=viewer, csrf=session.csrf)  # fmt: skip
            except UnknownNameError:
                return _page("error.html", 404, title="No such task", message="That task does not exist.",
                             viewer=viewer, csrf=session.csrf)  # fmt: skip
            except (TransitionError, ValueError) as err:
                site.sessions.flash(session_id, "error", str(err))
                return RedirectResponse(back, 303)
        site.sessions.flash(session_id, "ok", f"Task {result.event}: {result.task.title}")
        return RedirectResponse(back, 303)

    async def home(request: Request) -> Response:
        return RedirectResponse("/my-day", 303)

    def _flash(request: Request) -> dict[str, str] | None:
        taken = site.sessions.take_flash(request.cookies.get(SESSION_COOKIE))
        return None if taken is None else {"kind": taken[0], "text": taken[1]}

    routes = [
        Route("/", home),
        Route("/sign-in", sign_in_form, methods=["GET"]),
        Route("/sign-in", sign_in, methods=["POST"]),
        Route("/sign-out", sign_out, methods=["POST"]),
        Route("/my-day", my_day_page),
        Route("/huddle", huddle_page),
        Route("/scorecard", scorecard_page),
        Route("/tasks/{task_id}/{action:str}", task_action, methods=["POST"]),
        Mount("/api/v1", routes=api_routes(site)),
        Mount("/static", StaticFiles(packages=[("sophie.web", "static")]), name="static"),
    ]
    return Starlette(routes=routes, middleware=[Middleware(_SecurityHeaders)])


def _local_input(value: object, zone: str) -> datetime | None:
    """Return a ``datetime-local`` form value as an aware time in the practice's zone."""
    if value is None or str(value).strip() == "":
        return None
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=ZoneInfo(zone))


def period(since: str | None, until: str | None, zone: str, now: datetime) -> tuple[datetime, datetime]:
    """Return ``[since, until]`` dates (inclusive, practice's zone) as instants; default: the last 4 weeks.

    Raises:
        ValueError: A date that is not ``YYYY-MM-DD``.
    """
    tz = ZoneInfo(zone)
    last = date.fromisoformat(until) if until else now.astimezone(tz).date()
    first = date.fromisoformat(since) if since else last - timedelta(days=27)
    return datetime.combine(first, time(0), tz), datetime.combine(last + timedelta(days=1), time(0), tz)
