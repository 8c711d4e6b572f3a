"""The console's registration links: one per channel (a WeChat group, a partner's
mailing), made and changed through the events service with the API's LinkCreate and
LinkPatch; a link's page with its figures and its public address, its QR code as a
PNG to paste into chats, and a printable A4 poster."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from events_service.boundary import LinkSlug
from events_service.console.events import form_refusal, local_input, page_helpers
from events_service.console.layout import console_page, done
from events_service.errors import DomainError
from events_service.events import service
from events_service.events.schemas import LinkCreate, LinkFigures, LinkPatch
from events_service.locale import translatable
from events_service.registration.qr import qr_png, qr_svg
from events_service.web.forms import read_form
from models import Event, RegistrationLink

LINK_FIELDS = ("label", "quota", "opens_at", "closes_at")


def _crumbs(event: Event) -> list[tuple[str, str | None]]:
    return [
        (translatable("Events"), "/admin/events"),
        (event.title, f"/admin/events/{event.id}"),
    ]


def _public_url(request: Request[Any, Any, Any], link: RegistrationLink) -> str:
    return service.link_url(request.app.state.settings.public_base_url, link.slug)


async def _link_and_event(slug: str) -> tuple[RegistrationLink, Event]:
    link = await service.get_link(slug)
    return link, await service.get_event(link.event_id)  # type: ignore[attr-defined]


def _link_form(
    request: Request[Any, Any, Any],
    event: Event,
    link: RegistrationLink | None,
    values: Mapping[str, str],
    errors: Mapping[str, str],
    status_code: int = 200,
) -> Template:
    crumbs = _crumbs(event)
    if link is None:
        title: str = translatable("Create a link")
        action = f"/admin/events/{event.id}/links/new"
    else:
        title = translatable("Edit the link")
        crumbs.append((link.label, f"/admin/links/{link.slug}"))
        action = f"/admin/links/{link.slug}/edit"
    return console_page(
        request,
        "pages/console/links/form.html",
        section="events",
        title=title,
        crumbs=crumbs,
        status_code=status_code,
        event=event,
        link=link,
        action=action,
        values=values,
        errors=errors,
    )


@get("/events/{event_id:int}/links/new", name="console:link-new")
async def new_link(request: Request[Any, Any, Any], event_id: FromPath[int]) -> Template:
    event = await service.get_event(event_id)
    return _link_form(request, event, None, {}, {})


@post("/events/{event_id:int}/links/new", name="console:link-create")
async def create_link(
    request: Request[Any, Any, Any], event_id: FromPath[int]
) -> Template | Redirect:
    event = await service.get_event(event_id)
    form = await read_form(request, LinkCreate, zone=event.timezone, only=LINK_FIELDS)
    errors = dict(form.errors)
    if form.ok and form.value is not None:
        try:
            link = await service.create_link(event.id, form.value)
        except DomainError as exc:
            errors = form_refusal(exc)
        else:
            return done(
                request,
                f"/admin/links/{link.slug}",
                translatable("The link “%(label)s” was created.", label=link.label),
            )
    return _link_form(request, event, None, form.values, errors, status_code=422)


@get("/links/{slug:str}", name="console:link")
async def link_page(request: Request[Any, Any, Any], slug: LinkSlug) -> Template:
    link, event = await _link_and_event(slug)
    figures = (await service.link_figures(event.id)).get(link.id, LinkFigures())
    return console_page(
        request,
        "pages/console/links/page.html",
        section="events",
        title=link.label,
        crumbs=_crumbs(event),
        event=event,
        link=link,
        figures=figures,
        url=_public_url(request, link),
        **page_helpers(),
    )


@get("/links/{slug:str}/edit", name="console:link-edit-form")
async def edit_link(request: Request[Any, Any, Any], slug: LinkSlug) -> Template:
    link, event = await _link_and_event(slug)
    values = {
        "label": link.label,
        "quota": "" if link.quota is None else str(link.quota),
        "opens_at": local_input(link.opens_at, event.timezone),
        "closes_at": local_input(link.closes_at, event.timezone),
    }
    return _link_form(request, event, link, values, {})


@post("/links/{slug:str}/edit", name="console:link-edit")
async def save_link(request: Request[Any, Any, Any], slug: LinkSlug) -> Template | Redirect:
    link, event = await _link_and_event(slug)
    form = await read_form(request, LinkPatch, zone=event.timezone, only=LINK_FIELDS)
    errors = dict(form.errors)
    if not form.values.get("label", "").strip():
        errors["label"] = translatable("Required.")  # shown, so emptied: not "unchanged"
    if not errors and form.value is not None:
        try:
            saved = await service.update_link(link.slug, form.value)
        except DomainError as exc:
            errors = form_refusal(exc)
        else:
            return done(
                request,
                f"/admin/links/{saved.slug}",
                translatable("Your changes to the link “%(label)s” were saved.", label=saved.label),
            )
    return _link_form(request, event, link, form.values, errors, status_code=422)


async def _set_active(request: Request[Any, Any, Any], slug: str, active: bool) -> Redirect:
    link = await service.get_link(slug)
    target = f"/admin/links/{link.slug}"
    if not active and (await request.form()).get("confirm") != "yes":
        return done(request, target, translatable("Nothing was changed."), "warn")
    await service.update_link(link.slug, LinkPatch(active=active))
    if active:
        message = translatable("The link “%(label)s” takes registrations again.", label=link.label)
    else:
        message = translatable(
            "The link “%(label)s” no longer takes registrations.", label=link.label
        )
    return done(request, target, message)


@post("/links/{slug:str}/deactivate", name="console:link-deactivate")
async def deactivate_link(request: Request[Any, Any, Any], slug: LinkSlug) -> Redirect:
    return await _set_active(request, slug, False)


@post("/links/{slug:str}/reactivate", name="console:link-reactivate")
async def reactivate_link(request: Request[Any, Any, Any], slug: LinkSlug) -> Redirect:
    return await _set_active(request, slug, True)


@get("/links/{slug:str}/qr.png", name="console:link-qr", media_type="image/png")
async def link_qr(request: Request[Any, Any, Any], slug: LinkSlug) -> Response[bytes]:
    """The public link as a QR image, to paste into a chat or a slide."""
    link = await service.get_link(slug)
    return Response(
        qr_png(_public_url(request, link)),
        media_type="image/png",
        headers={
            "content-disposition": f'inline; filename="link-{link.slug}.png"',
            "cache-control": "private, max-age=300",
        },
    )


@get("/links/{slug:str}/poster", name="console:link-poster")
async def link_poster(request: Request[Any, Any, Any], slug: LinkSlug) -> Template:
    """An A4 poster for a notice board or a registration desk: the event, when and
    where (in the event's zone), the big code and the address under it."""
    link, event = await _link_and_event(slug)
    url = _public_url(request, link)
    crumbs = [*_crumbs(event), (link.label, f"/admin/links/{link.slug}")]
    return console_page(
        request,
        "pages/console/links/poster.html",
        section="events",
        title=translatable("Poster"),
        crumbs=crumbs,
        event=event,
        link=link,
        url=url,
        short_url=url.split("://", 1)[-1],
        qr=qr_svg(url),
        **page_helpers(),
    )


ROUTES = [
    new_link,
    create_link,
    link_page,
    edit_link,
    save_link,
    deactivate_link,
    reactivate_link,
    link_qr,
    link_poster,
]
