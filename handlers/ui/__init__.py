"""The dashboard at `/ui`: server-rendered pages over the same models the JSON API returns.

Rules every page follows:
- A page is a Jinja2 template in `templates/`, rendered by `page(request, name, **context)` with
  autoescaping on; the context holds the API's own pydantic models, never a copy of their shape.
- Pages sit behind the API's authentication (the browser asks once for the Basic credentials);
  only the static assets are public, as `/docs/assets` are.
- A page works offline: htmx and its server-sent-events extension are vendored in
  `static/vendor/` (their licences beside them), nothing is fetched from another host.
- A form that changes something (`hx-post`) must carry the `HX-Request` header htmx sends:
  `same_origin(request)` refuses it otherwise. A browser adds a remembered Basic credential to
  any site's plain form post, but never lets another site set a custom header without CORS,
  which this service does not answer.
- Jinja2 loads on the first page, so a service nobody opens the dashboard of does not carry it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot import __version__
from bot.http.routes import ApiError
from bot.services import services

if TYPE_CHECKING:
    from jinja2 import Environment

# The pages of the top navigation: (path, label).
NAVIGATION = (
    ("/ui/jobs", "Jobs"),
    ("/ui/previews", "Previews"),
    ("/ui/timeline", "Timeline"),
    ("/ui/cost", "Cost"),
    ("/ui/rules", "Rules"),
)


def page(request: web.Request, template: str, *, status: int = 200, **context: Any) -> web.Response:
    """Render a template: a page extends `base.html`; a fragment (what htmx swaps in) does not."""
    html = (
        environment()
        .get_template(template)
        .render(
            request=request,
            navigation=NAVIGATION,
            current=request.path,
            user=viewer(request),
            version=__version__,
            **context,
        )
    )
    return web.Response(text=html, status=status, content_type="text/html", headers={"Cache-Control": "no-store"})


def viewer(request: web.Request) -> str | None:
    """The signed-in user's name when authentication is on (shown in the header, and recorded
    as who approved a preview)."""
    auth = services(request).settings.auth
    return auth.username if auth.enabled else None


def same_origin(request: web.Request) -> None:
    """403 for a state-changing request that did not come from the dashboard's own pages."""
    if request.headers.get("HX-Request") != "true":
        raise ApiError(403, "Changes from the dashboard are sent by its pages (HX-Request header missing)")


@cache
def environment() -> Environment:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=PackageLoader("handlers.ui", "templates"),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,  # a misspelt name fails the page (and its test), not silently blank
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(when=when, duration=duration, usd=usd, count=count)
    return env


def when(moment: datetime | None) -> str:
    """A UTC time as people read it in a table: `2027-01-04 09:30:04`."""
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "—"


def duration(value: timedelta | float | None) -> str:
    """`850 ms`, `12.4 s`, `3 min 05 s`, `2 h 10 min`."""
    if value is None:
        return "—"
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def usd(value: float | None) -> str:
    """Dollars with enough places to see a cheap call: `$0.0015`, `$12.40`."""
    if not value:
        return "$0"
    return f"${value:,.4f}" if value < 1 else f"${value:,.2f}"


def count(value: int | None) -> str:
    return f"{value or 0:,}"
