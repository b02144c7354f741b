"""Jinja2 with autoescape on for every template: comment text is hostile input."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from moderation import links
from moderation.links import link
from moderation.models import QUEUE_STATUSES
from moderation.review.present import label_name, reason_name, visible_name
from moderation.web.security import csrf_token, pop_flashes

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"


def _when(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M} UTC" if value else ""


def _name(value: object) -> Markup:
    """A name (author, moderator, post or comment id) as shown: invisible characters made visible, isolated
    from the text around it so right-to-left characters cannot reorder the line."""
    return Markup("<bdi>{}</bdi>").format(visible_name("" if value is None else str(value)))


def _make_templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(when=_when, label_name=label_name, reason_name=reason_name, name=_name)
    env.globals.update(link=link, routes=links)
    return Jinja2Templates(env=env)


templates = _make_templates()


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page, with what every page needs: the moderator, the CSRF token, flash messages, the queue tabs."""
    base: dict[str, Any] = {
        "moderator": getattr(request.state, "moderator", None),
        "csrf_token": csrf_token(request) if "session" in request.scope else "",
        "flashes": pop_flashes(request),
        "statuses": QUEUE_STATUSES,
        "page_name": name.removesuffix(".html"),
    }
    return templates.TemplateResponse(request, name, {**base, **context}, status_code=status_code)
