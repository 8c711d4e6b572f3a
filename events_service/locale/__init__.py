"""The service's languages: gettext catalogues, and picking a language.

Message ids are the English source text (as in pretix and Django): English needs no
catalogue, and every other language has one `.po` file under this folder,
`<babel locale>/LC_MESSAGES/messages.po`, kept with `make messages` (extract and
update) and read as it is at start-up (no compile step, so a fresh clone needs
nothing extra). Python marks text with `_()`, `ngettext()` and `pgettext()` of a
`Words`; templates with `_()`, `ngettext()` and `pgettext()` given by the page or
e-mail that renders them. Placeholders are Python's `%(name)s`.

Nothing here knows about HTTP: e-mail delivery uses it without the web layer.
"""

from __future__ import annotations

import functools
import gettext
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALES = ("en", "zh-Hans")
DEFAULT_LOCALE = "en"
CATALOGUE_DIR = Path(__file__).resolve().parent
DOMAIN = "messages"
# Each language's own name: the language switch shows the other one in its own words.
LANGUAGE_NAMES = {"en": "English", "zh-Hans": "中文"}


def babel_locale(locale: str) -> str:
    """Babel's and gettext's spelling of one of LOCALES ("zh-Hans" -> "zh_Hans")."""
    return locale.replace("-", "_")


def catalogue_path(locale: str) -> Path:
    return CATALOGUE_DIR / babel_locale(locale) / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def translations(locale: str) -> gettext.NullTranslations:
    """The locale's catalogue, compiled in memory from its `.po` file once."""
    if locale not in LOCALES or locale == DEFAULT_LOCALE:
        return gettext.NullTranslations()
    with catalogue_path(locale).open("rb") as po:
        catalogue = read_po(po, locale=babel_locale(locale), domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalogue, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def N_(message: str) -> str:
    """Marks text for the catalogue where it is translated later (a table of labels)."""
    return message


class Message(str):
    """Text for a reader whose language is known only later (a field's error, shown on
    a page or in a problem document): the string itself is the English, filled in;
    `in_language` gives it in another language. Made by `translatable`."""

    msgid: str
    values: dict[str, Any]
    # pgettext's context, for a word said differently elsewhere ("open": a round's status).
    context: str | None

    def __new__(cls, msgid: str, values: dict[str, Any], context: str | None = None) -> Message:
        message = super().__new__(cls, msgid % values)
        message.msgid, message.values, message.context = msgid, values, context
        return message

    def in_language(self, locale: str) -> str:
        # A Message within a Message (a row's problem in "line 4: ...") is said in
        # the same language.
        values = {
            k: v.in_language(locale) if isinstance(v, Message) else v
            for k, v in self.values.items()
        }
        if self.context is not None:
            return words(locale).pgettext(self.context, self.msgid, **values)
        return words(locale).gettext(self.msgid, **values)


def translatable(msgid: str, **values: Any) -> Message:
    """A Message (extracted for the catalogue: `make messages` knows this keyword)."""
    return Message(msgid, values)


def translatable_in(context: str, msgid: str, **values: Any) -> Message:
    """A Message said as pgettext says it in `context` (extracted with its context)."""
    return Message(msgid, values, context)


def in_language(text: str, locale: str) -> str:
    """A Message in `locale`; any other text as it is (what people typed, say)."""
    return text.in_language(locale) if isinstance(text, Message) else text


@dataclass(frozen=True)
class Words:
    """gettext for one language, with `%(name)s` placeholders filled from keywords."""

    locale: str

    def gettext(self, message: str, **values: Any) -> str:
        return translations(self.locale).gettext(message) % values

    def ngettext(self, singular: str, plural: str, n: int, /, **values: Any) -> str:
        """`n` chooses the form and fills `%(n)s` too, as in Jinja's {% trans count=n %},
        unless `values` gives `n` (a formatted figure, say) itself."""
        return translations(self.locale).ngettext(singular, plural, n) % {"n": n, **values}

    def pgettext(self, context: str, message: str, **values: Any) -> str:
        return translations(self.locale).pgettext(context, message) % values

    _ = gettext

    def template_context(self) -> dict[str, Any]:
        """What a template needs to translate (jinja2.ext.i18n's `_` calls `gettext`),
        and to write figures and days in the reader's way: `number(7200)`,
        `share(12.5)` (a percentage), `day(date)`, `person_name(name)`."""
        # These import this module.
        from events_service.locale.dates import format_day
        from events_service.locale.numbers import format_number, format_share
        from events_service.privacy.display import person_name

        return {
            "number": lambda value: format_number(value, self.locale),
            "share": lambda percent: format_share(percent / 100, self.locale),
            "day": lambda value: format_day(value, self.locale) if value else "",
            # A person's name, or the placeholder once their data was erased.
            "person_name": lambda name: person_name(name, self.locale),
            "gettext": self.gettext,
            "ngettext": self.ngettext,
            "pgettext": self.pgettext,
            "language_names": LANGUAGE_NAMES,
        }


@functools.cache
def words(locale: str) -> Words:
    return Words(locale if locale in LOCALES else DEFAULT_LOCALE)


def negotiate(
    *,
    explicit: str | None = None,
    remembered: str | None = None,
    preferred: str | None = None,
    accept_language: str = "",
    default: str = DEFAULT_LOCALE,
) -> str:
    """The language to answer in: an explicit switch (?lang=), then the remembered one
    (the `lang` cookie), then an account's preferred language, then the browser's
    Accept-Language, then the configured default."""
    for candidate in (explicit, remembered, preferred):
        if candidate in LOCALES:
            return candidate
    for part in accept_language.split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh-Hans"
        if tag.startswith("en"):
            return "en"
    return default if default in LOCALES else DEFAULT_LOCALE


def other_locale(locale: str) -> str:
    return "en" if locale == "zh-Hans" else "zh-Hans"
