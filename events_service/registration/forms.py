"""What an attendee typed, checked and cleaned, with every problem named per field."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import phonenumbers

from events_service.errors import DomainError
from events_service.identity import checked_email
from events_service.locale import LOCALES, N_, translatable

MAX_NAME = 200
MAX_ORGANISATION = 200
MAX_JOB_TITLE = 120
# Numbers written without a country code are read as mainland China numbers,
# where the base is; anything else needs its +country prefix.
DEFAULT_PHONE_REGION = "CN"


class InvalidRegistration(DomainError):
    status_code = 422  # type: ignore[assignment]
    slug = "invalid-registration"
    title = N_("Some fields need correcting")

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


@dataclass(frozen=True)
class DetailsForm:
    """The attendee's own edit of their details, on their ticket page."""

    name: str
    phone: str | None = None
    # None: not posted (the field is read-only once the person has been admitted).
    organisation: str | None = None
    job_title: str | None = None


@dataclass(frozen=True)
class CleanDetails:
    name: str
    phone: str | None
    organisation: str | None
    job_title: str | None
    # False when the form did not carry the organisation: it stays as it is.
    organisation_given: bool = True


def _clean_details(form: RegistrationForm | DetailsForm, errors: dict[str, str]) -> CleanDetails:
    """The rules of the person's own fields, the same on registration and on edit."""
    name = _clean_text(form.name)
    if not name:
        errors["name"] = translatable("Please enter your name.")
    elif len(name) > MAX_NAME:
        errors["name"] = translatable("At most %(n)s characters.", n=MAX_NAME)

    phone = None
    if form.phone and form.phone.strip():
        phone = normalise_phone(form.phone)
        if phone is None:
            errors["phone"] = translatable(
                "Not a phone number: include the +country code outside mainland China."
            )

    organisation = _clean_text(form.organisation) or None
    if organisation and len(organisation) > MAX_ORGANISATION:
        errors["organisation"] = translatable("At most %(n)s characters.", n=MAX_ORGANISATION)
    job_title = _clean_text(form.job_title) or None
    if job_title and len(job_title) > MAX_JOB_TITLE:
        errors["job_title"] = translatable("At most %(n)s characters.", n=MAX_JOB_TITLE)
    return CleanDetails(
        name=name,
        phone=phone,
        organisation=organisation,
        job_title=job_title,
        organisation_given=form.organisation is not None,
    )


def clean_details(form: DetailsForm) -> CleanDetails:
    """The cleaned edit, or InvalidRegistration listing every field that is wrong."""
    errors: dict[str, str] = {}
    details = _clean_details(form, errors)
    if errors:
        raise InvalidRegistration(errors)
    return details


def clean_registration(form: RegistrationForm, default_locale: str = "en") -> CleanRegistration:
    """The cleaned form, or InvalidRegistration listing every field that is wrong."""
    errors: dict[str, str] = {}
    detail_errors: dict[str, str] = {}
    details = _clean_details(form, detail_errors)
    errors.update({k: v for k, v in detail_errors.items() if k == "name"})

    email = checked_email(form.email or "")
    if email is None:
        errors["email"] = translatable(
            "Not an e-mail address: check it, for example name@example.com."
        )
    # The fields in the form's order: name, e-mail, then the optional ones.
    errors.update({k: v for k, v in detail_errors.items() if k != "name"})

    if form.consent is not True:
        errors["consent"] = translatable(
            "Please agree to the use of your details: registration needs it."
        )

    locale = form.locale or default_locale
    if locale not in LOCALES:
        errors["locale"] = translatable("One of %(locales)s.", locales=", ".join(LOCALES))

    if errors:
        raise InvalidRegistration(errors)
    assert email is not None
    return CleanRegistration(
        name=details.name,
        email=email,
        phone=details.phone,
        organisation=details.organisation,
        job_title=details.job_title,
        locale=locale,
    )
