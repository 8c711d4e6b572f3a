"""What an attendee typed, checked and cleaned, with every problem named per field."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import phonenumbers

from events_service.errors import DomainError
from events_service.identity import is_plausible_email, normalise_email

MAX_NAME = 200
MAX_ORGANISATION = 200
MAX_JOB_TITLE = 120
LOCALES = ("en", "zh-Hans")
# Numbers written without a country code are read as mainland China numbers,
# where the base is; anything else needs its +country prefix.
DEFAULT_PHONE_REGION = "CN"


class InvalidRegistration(DomainError):
    status_code = 422  # type: ignore[assignment]
    slug = "invalid-registration"
    title = "Some fields need correcting"

    def __init__(self, errors: dict[str, str]) -> None:
        detail = "; ".join(f"{field}: {message}" for field, message in errors.items())
        super().__init__(
            detail,
            extra={"errors": [{"field": f, "message": m} for f, m in errors.items()]},
        )
        self.errors = errors


@dataclass(frozen=True)
class RegistrationForm:
    name: str
    email: str
    consent: bool
    phone: str | None = None
    organisation: str | None = None
    job_title: str | None = None
    locale: str | None = None


@dataclass(frozen=True)
class CleanRegistration:
    name: str
    email: str
    phone: str | None
    organisation: str | None
    job_title: str | None
    locale: str


def _clean_text(value: str | None) -> str:
    """NFC, no control characters, whitespace runs folded to one space."""
    if not value:
        return ""
    text = unicodedata.normalize("NFC", value)
    text = "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in text)
    return " ".join(text.split())


def normalise_phone(raw: str) -> str | None:
    """E.164 form of a plausible phone number, or None when it is not one."""
    try:
        number = phonenumbers.parse(raw, DEFAULT_PHONE_REGION)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def clean_registration(form: RegistrationForm, default_locale: str = "en") -> CleanRegistration:
    """The cleaned form, or InvalidRegistration listing every field that is wrong."""
    errors: dict[str, str] = {}
    name = _clean_text(form.name)
    if not name:
        errors["name"] = "required"
    elif len(name) > MAX_NAME:
        errors["name"] = f"at most {MAX_NAME} characters"

    email = normalise_email(form.email or "")
    if not is_plausible_email(email):
        errors["email"] = "not an e-mail address"

    phone = None
    if form.phone and form.phone.strip():
        phone = normalise_phone(form.phone)
        if phone is None:
            errors["phone"] = "not a phone number (include +country code outside China)"

    organisation = _clean_text(form.organisation) or None
    if organisation and len(organisation) > MAX_ORGANISATION:
        errors["organisation"] = f"at most {MAX_ORGANISATION} characters"
    job_title = _clean_text(form.job_title) or None
    if job_title and len(job_title) > MAX_JOB_TITLE:
        errors["job_title"] = f"at most {MAX_JOB_TITLE} characters"

    if form.consent is not True:
        errors["consent"] = "consent to the use of your data is required to register"

    locale = form.locale or default_locale
    if locale not in LOCALES:
        errors["locale"] = f"one of {', '.join(LOCALES)}"

    if errors:
        raise InvalidRegistration(errors)
    return CleanRegistration(
        name=name,
        email=email,
        phone=phone,
        organisation=organisation,
        job_title=job_title,
        locale=locale,
    )
