"""What every console page shares: the navigation, breadcrumbs, flash messages, the words.

A console handler builds its own context and returns `console_page(...)`; after an
action it calls `flash(...)` and redirects (post/redirect/get), so a reload never
repeats the action.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from litestar import Request
from litestar.plugins.flash import flash as _flash
from litestar.response import Redirect, Template

from events_service.boundary import MAX_OFFSET
from events_service.locale import N_, in_language, words
from events_service.web.i18n import remember_switch
from events_service.web.login import staff_page_context

NAVIGATION = (
    ("home", "/admin", N_("Home")),
    ("events", "/admin/events", N_("Events")),
    ("registrations", "/admin/registrations", N_("Registrations")),
    ("door", "/admin/door", N_("Door")),
    ("competitions", "/admin/competitions", N_("Competitions")),
    ("staff", "/admin/staff", N_("Staff")),
    ("outbox", "/admin/outbox", N_("Outbox")),
    ("programme", "/admin/programme", N_("Programme")),
    ("privacy", "/admin/privacy", N_("Privacy")),
)
"""(section, path, label): the console's sections, in the order of the navigation bar."""

Crumb = tuple[str, str | None]
"""A breadcrumb: its words and its link (None: here). Words made by `translatable` are
shown in the page's language, any other text (an event's title) as it is."""


def console_context(
    request: Request[Any, Any, Any], *, section: str, title: str, crumbs: Sequence[Crumb] = ()
) -> dict[str, Any]:
    """The layout's part of a console page's context (`title` as a Crumb's words)."""
    context = staff_page_context(request)
    locale = context["locale"]
    user = request.scope.get("user")
    return {
        **context,
        "navigation": NAVIGATION,
        "section": section,
        "title": in_language(title, locale),
        "crumbs": [
            (words(locale).gettext("Console"), "/admin"),
            *((in_language(label, locale), href) for label, href in crumbs),
        ],
        "user_name": getattr(user, "name", "") or getattr(user, "email", ""),
        # A Message (a form error, a service's refusal) in the page's language.
        "say": lambda text: in_language(text, locale),
    }


def console_page(
    request: Request[Any, Any, Any],
    template: str,
    *,
    section: str,
    title: str,
    crumbs: Sequence[Crumb] = (),
    status_code: int = 200,
    **context: Any,
) -> Template:
    layout = console_context(request, section=section, title=title, crumbs=crumbs)
    page = Template(template, context={**layout, **context}, status_code=status_code)
    remember_switch(request, page, layout["locale"])
    return page


def flash(request: Request[Any, Any, Any], message: str, category: str = "ok") -> None:
    """A message for the next page this person sees, in their language now
    (`category`: ok, warn or bad, the notice's colour)."""
    locale = staff_page_context(request)["locale"]
    _flash(request, in_language(message, locale), category)


def done(
    request: Request[Any, Any, Any], target: str, message: str, category: str = "ok"
) -> Redirect:
    """After an action: tell what happened, and go to `target` (303: the browser GETs it)."""
    flash(request, message, category)
    return Redirect(target, status_code=303)


def list_offset(text: str | None) -> int:
    """Where a long list starts, from its `offset` query: anything but a number (a
    hand-edited link) is the first page, and a huge one an empty last page."""
    try:
        return min(max(int(text or 0), 0), MAX_OFFSET)
    except ValueError:
        return 0


@dataclass(frozen=True)
class Paging:
    """One page of a long list, for the `pager` macro: links keep the list's filters."""

    path: str
    query: Mapping[str, str]
    offset: int
    limit: int
    total: int

    @property
    def first(self) -> int:
        return min(self.offset + 1, self.total)

    @property
    def last(self) -> int:
        return min(self.offset + self.limit, self.total)

    def href(self, offset: int) -> str:
        kept = {k: v for k, v in self.query.items() if v not in ("", None) and k != "offset"}
        return f"{self.path}?{urlencode({**kept, 'offset': max(offset, 0)})}"
