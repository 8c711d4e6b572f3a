"""Turning an outbox row into the e-mail it stands for.

Registration messages carry only the registration id and are rendered from the
current rows at send time (a ticket mailed late still shows the right state);
the other kinds carry what they show in their payload, fixed when queued.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from events_service.auth.service import (
    SET_PASSWORD_LINK_HOURS,
    SET_PASSWORD_PATH,
    set_password_token,
)
from events_service.checkin.codes import issue_code, short_code
from events_service.identity import ascii_email
from events_service.locale import LOCALES, Words, translatable, words
from events_service.locale.dates import format_when
from events_service.privacy import links as data_links
from events_service.registration.calendar import event_invite
from events_service.registration.qr import qr_png
from events_service.settings import Settings
from models import Announcement, Registration
from models.enums import RegistrationStatus
from notifications.announcements import paragraphs, words_for
from notifications.outbox import Kind
from notifications.wording import INTROS, LINK_LABELS, MANAGE_REGISTRATION, NOTICES, SUBJECTS

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"

TICKET_KINDS = frozenset(
    {
        Kind.REGISTRATION_CONFIRMED,
        Kind.REGISTRATION_PROMOTED,
        Kind.REGISTRATION_WAITLISTED,
        Kind.EVENT_REMINDER,
        Kind.EVENT_CHANGED,
    }
)
# Kinds whose body is one sentence about a registration's event.
REGISTRATION_NOTICES = frozenset({Kind.REGISTRATION_CANCELLED, Kind.EVENT_CANCELLED})


class Undeliverable(Exception):
    """The message can never be built (its subject is gone): retrying will not help."""


# Every character that ends a header line somewhere (CR, LF, and what str.splitlines
# also splits on: VT, FF, FS-RS, NEL, U+2028/9) and every other control character.
_UNSAFE_IN_HEADER = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def header_text(value: str) -> str:
    """Text typed by people (an event title, a round's name) made safe as a header value.

    A CR/LF in a title made the email package refuse every message of that event
    ("Header values may not contain linefeed"), and a header that accepted it would
    let the title add headers of its own ("Summit" CR LF "Bcc: x@evil.test"). Control
    characters become spaces, runs of spaces one.
    """
    return " ".join(_UNSAFE_IN_HEADER.sub(" ", value).split())


def recipient_address(recipient: str) -> Address:
    """The outbox recipient as exactly one address, never a header's raw text.

    Recipients were checked when they were stored (events_service.identity); this
    refuses a row that would still make a list, a group or a comment of the To
    header, whatever wrote it, and spells an internationalised domain in ASCII
    (IDNA), which is what a header without SMTPUTF8 can carry.
    """
    spelled = ascii_email(recipient)
    if spelled is None:
        raise Undeliverable(
            translatable(
                "recipient %(recipient)s is not one plain e-mail address", recipient=repr(recipient)
            )
        )
    try:
        # The header is built from the parsed parts, so nothing but this address
        # can reach it; a second parse of what we validated is the belt to its braces.
        address = Address(addr_spec=spelled)
    except (HeaderParseError, ValueError, IndexError) as exc:
        raise Undeliverable(
            translatable(
                "recipient %(recipient)s is not one e-mail address: %(problem)s",
                recipient=repr(recipient),
                problem=str(exc),
            )
        ) from None
    return address


@dataclass(frozen=True)
class Queued:
    """The outbox row fields a message is built from."""

    id: int
    kind: str
    dedupe_key: str
    recipient: str
    locale: str
    payload: dict[str, Any]


class MessageBuilder:
    def __init__(self, settings: Settings, *, preview: bool = False) -> None:
        """`preview`: the message as an organiser may see it in the console, with the
        secrets it carries to its recipient (a set-password link) left out."""
        self.settings = settings
        self.preview = preview
        self.domain = parseaddr(settings.mail_from)[1].rpartition("@")[2] or "localhost"
        # Autoescape for the HTML parts only: the plain-text parts are not markup.
        self.templates = Environment(
            loader=FileSystemLoader(TEMPLATES_DIR),
            autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
            keep_trailing_newline=True,
            extensions=["jinja2.ext.i18n"],
        )

    def message_id(self, queued: Queued) -> str:
        """The same for every attempt at one outbox row, so a resend after a crash is
        recognisable as the same message by mail clients and by us."""
        digest = hashlib.sha256(queued.dedupe_key.encode()).hexdigest()[:12]
        return f"<outbox-{queued.id}.{digest}@{self.domain}>"

    async def build(self, queued: Queued) -> EmailMessage:
        locale = queued.locale if queued.locale in LOCALES else self.settings.default_locale
        w = words(locale)
        if queued.kind in TICKET_KINDS:
            parts = await self._ticket(queued, locale, w)
        elif queued.kind == Kind.EVENT_ANNOUNCEMENT:
            parts = await self._announcement(queued, locale, w)
        elif queued.kind in REGISTRATION_NOTICES:
            parts = await self._registration_notice(queued, w)
        elif queued.kind == Kind.STAFF_SET_PASSWORD:
            parts = self._set_password(queued, w)
        elif queued.kind == Kind.PERSON_DATA_LINK:
            parts = self._person_data_link(queued, w)
        else:
            parts = self._notice(queued, w)
        subject, template, context, attachments = parts
        context = self.context(context, subject, locale)
        message = EmailMessage()
        message["Subject"] = header_text(subject)
        message["From"] = self.settings.mail_from
        message["To"] = recipient_address(queued.recipient)
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = self.message_id(queued)
        message["Auto-Submitted"] = "auto-generated"
        text, html = self.render(template, context)
        message.set_content(text)
        message.add_alternative(html, subtype="html")
        inline = context.get("qr_png")
        if inline is not None:
            html_part = message.get_payload()[1]  # type: ignore[index]
            html_part.add_related(inline, "image", "png", cid=f"<{context['qr_cid']}>")
        for filename, maintype, subtype, content in attachments:
            # A text part without a charset is US-ASCII to a mail client: a Chinese
            # event title in the invite would arrive garbled.
            params = {"charset": "utf-8"} if maintype == "text" else {}
            message.add_attachment(
                content, maintype=maintype, subtype=subtype, filename=filename, params=params
            )
        return message

    def context(self, context: dict[str, Any], subject: str, locale: str) -> dict[str, Any]:
        """A message template's context: its own, the words, and what the layout shows."""
        return {
            **context,
            **words(locale).template_context(),
            "locale": locale,
            "subject": subject,
            "programme": self._programme,
        }

    def render(self, template: str, context: dict[str, Any]) -> tuple[str, str]:
        """A message's text and HTML parts (`context` made by `context`)."""
        text = self.templates.get_template(f"emails/{template}.txt").render(context)
        html = self.templates.get_template(f"emails/{template}.html").render(context)
        return text, html

    @property
    def _programme(self) -> str:
        return self.settings.programme_name

    async def _registration(self, queued: Queued) -> Registration:
        registration = await Registration.get_or_none(
            id=queued.payload.get("registration_id")
        ).select_related("event", "person")
        if registration is None:
            raise Undeliverable(
                translatable(
                    "registration %(registration)s is gone",
                    registration=queued.payload.get("registration_id"),
                )
            )
        return registration

    def _ticket_url(self, registration: Registration) -> str:
        return f"{self.settings.public_base_url}/t/{registration.manage_token}"

    async def _ticket(self, queued: Queued, locale: str, w: Words) -> tuple:
        registration = await self._registration(queued)
        event = registration.event
        confirmed = registration.status == RegistrationStatus.CONFIRMED
        show_code = confirmed and queued.kind != Kind.REGISTRATION_WAITLISTED
        manage_url = self._ticket_url(registration)
        context: dict[str, Any] = {
            "name": registration.person.name,
            "intro": w.gettext(INTROS[Kind(queued.kind)]),
            "event": event,
            "when": format_when(event.starts_at, event.ends_at, event.timezone, locale),
            "manage_url": manage_url,
            "qr_cid": None,
            "not_confirmed_now": registration.status == RegistrationStatus.CANCELLED,
            "has_invite": confirmed,
        }
        attachments: list[tuple[str, str, str, bytes]] = []
        if show_code:
            code = issue_code(self.settings.signing_key, registration.id, event.id)
            png = qr_png(code)
            context["qr_png"] = png
            context["short_code"] = short_code(code)  # typed at the kiosk with the e-mail
            context["qr_cid"] = f"ticket-{registration.id}@{self.domain}"
            attachments.append(("ticket.png", "image", "png", png))
        if confirmed:
            invite = event_invite(
                event,
                uid=f"registration-{registration.id}@{self.domain}",
                ticket_url=manage_url,
                locale=locale,
            )
            attachments.append(("invite.ics", "text", "calendar", invite))
        subject = w.gettext(SUBJECTS[Kind(queued.kind)], title=event.title)
        return subject, "ticket", context, attachments

    async def _registration_notice(self, queued: Queued, w: Words) -> tuple:
        registration = await self._registration(queued)
        title = registration.event.title
        context = {
            "name": registration.person.name,
            "text": w.gettext(INTROS[Kind(queued.kind)], title=title),
            "link_url": self._ticket_url(registration),
            "link_label": w.gettext(MANAGE_REGISTRATION),
        }
        return w.gettext(SUBJECTS[Kind(queued.kind)], title=title), "notice", context, []

    async def _announcement(self, queued: Queued, locale: str, w: Words) -> tuple:
        """An organiser's message: their subject and body in the reader's language."""
        announcement = await Announcement.get_or_none(id=queued.payload.get("announcement_id"))
        if announcement is None:
            raise Undeliverable(
                translatable(
                    "announcement %(announcement)s is gone",
                    announcement=queued.payload.get("announcement_id"),
                )
            )
        registration = await self._registration(queued)
        subject, body = words_for(announcement, locale)
        context = announcement_context(
            name=registration.person.name,
            body=body,
            link_url=self._ticket_url(registration),
            link_label=w.gettext(MANAGE_REGISTRATION),
        )
        return subject, "announcement", context, []

    def _set_password(self, queued: Queued, w: Words) -> tuple:
        """A staff account's set-password link, signed now from what the row names (the
        outbox itself never holds a working link)."""
        values = queued.payload
        try:
            token = set_password_token(
                self.settings.secret_key,
                int(values["user_id"]),
                int(values["generation"]),
                int(values["expires_at"]),
            )
        except (KeyError, TypeError, ValueError) as missing:
            raise Undeliverable(
                translatable("payload lacks %(missing)s", missing=str(missing))
            ) from None
        if self.preview:
            token = "…"  # noqa: S105 - a placeholder, not a secret
        kind = Kind.STAFF_SET_PASSWORD
        context = {
            "name": values.get("name") or queued.recipient,
            "text": w.gettext(NOTICES[kind], hours=values.get("hours", SET_PASSWORD_LINK_HOURS)),
            "link_url": f"{self.settings.public_base_url}{SET_PASSWORD_PATH}?token={token}",
            "link_label": w.gettext(LINK_LABELS[kind]),
        }
        return w.gettext(SUBJECTS[kind], programme=self._programme), "notice", context, []

    def _person_data_link(self, queued: Queued, w: Words) -> tuple:
        """An attendee's link to download or erase their data (privacy/links.py),
        signed now: the outbox row holds only whom and what it is for."""
        values = queued.payload
        try:
            action = str(values["action"])
            token = data_links.link_token(
                self.settings.secret_key, int(values["person_id"]), action,
                int(values["expires_at"]),
            )  # fmt: skip
            text, label = data_links.TEXTS[action], data_links.LABELS[action]
        except (KeyError, TypeError, ValueError) as missing:
            raise Undeliverable(
                translatable("payload lacks %(missing)s", missing=str(missing))
            ) from None
        if self.preview:
            token = "…"  # noqa: S105 - a placeholder, not a secret
        context = {
            "name": queued.recipient,
            "text": w.gettext(text, hours=data_links.LINK_HOURS),
            "link_url": f"{self.settings.public_base_url}{data_links.PATH}/{token}",
            "link_label": w.gettext(label),
        }
        subject = w.gettext(SUBJECTS[Kind.PERSON_DATA_LINK], programme=self._programme)
        return subject, "notice", context, []

    def _notice(self, queued: Queued, w: Words) -> tuple:
        """Judges, winners and organisers: everything shown travels in the payload."""
        values = dict(queued.payload)
        if queued.kind not in LINK_LABELS:
            raise Undeliverable(
                translatable("no message is defined for kind %(kind)s", kind=repr(queued.kind))
            )
        kind = Kind(queued.kind)
        try:
            subject = w.gettext(SUBJECTS[kind], **values)
            text = w.gettext(NOTICES[kind], **values)
        except KeyError as missing:
            raise Undeliverable(
                translatable("payload lacks %(missing)s", missing=str(missing))
            ) from None
        path = values.get("path", "")
        context = {
            "name": values.get("name") or queued.recipient,
            "text": text,
            "link_url": f"{self.settings.public_base_url}{path}" if path else None,
            "link_label": w.gettext(LINK_LABELS[kind]),
        }
        return subject, "notice", context, []


def announcement_context(*, name: str, body: str, link_url: str | None, link_label: str) -> dict:
    """What emails/announcement.* show: the greeting, the organiser's text (`body` for
    the text part, its paragraphs and lines for the HTML part), the ticket link."""
    return {
        "name": name,
        "body": body,
        "paragraphs": paragraphs(body),
        "link_url": link_url,
        "link_label": link_label,
    }
