"""A posted HTML form read into the msgspec schema the API takes, each problem named per field.

A form posts strings; the API's schemas want ints, booleans, enums and aware
datetimes. `parse_form` converts field by field with the schema's own types and
constraints (so a limit is written once, in the schema), and says what is wrong with
each field in words an organiser understands, in any language (`Message`s):
- an empty input is "not given": None for a nullable field, the default for one
  with a default, "Required." otherwise;
- a checkbox is a bool field: ticked is True, absent is False;
- a `datetime-local` input has no offset: it is read in the form's time zone (the
  event's), which the caller names.
Cross-field rules stay in the services; their refusals are shown as the form's
error (`domain_errors`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

import msgspec
from litestar import Request
from litestar.datastructures import UploadFile

from events_service.errors import DomainError, Unprocessable
from events_service.locale import Message, translatable

T = TypeVar("T", bound=msgspec.Struct)
FORM_ERROR = "__form__"
"""The key of an error that belongs to the whole form, not one field."""


@dataclass
class FormResult(Generic[T]):
    value: T | None
    values: dict[str, str] = field(default_factory=dict)
    """What was typed, to fill the form again."""
    errors: dict[str, str] = field(default_factory=dict)
    """Field name (or FORM_ERROR) -> its problem, a Message."""

    @property
    def ok(self) -> bool:
        return self.value is not None and not self.errors


def _types_of(info: msgspec.inspect.Type) -> list[msgspec.inspect.Type]:
    if isinstance(info, msgspec.inspect.UnionType):
        return list(info.types)
    return [info]


def _has(info: msgspec.inspect.Type, *kinds: type) -> bool:
    return any(isinstance(t, kinds) for t in _types_of(info))


def _message(error: msgspec.ValidationError, info: msgspec.inspect.Type) -> Message:
    """msgspec's message for one value, as a person would say it."""
    text = str(error)
    types = [t for t in _types_of(info) if not isinstance(t, msgspec.inspect.NoneType)]
    first = types[0] if types else info
    if isinstance(first, msgspec.inspect.StrType):
        if first.max_length is not None and "length <=" in text:
            return translatable("At most %(n)s characters.", n=first.max_length)
        if first.min_length and "length >=" in text:
            return translatable("Required.")
    if isinstance(first, msgspec.inspect.IntType | msgspec.inspect.FloatType):
        if ">=" in text and first.ge is not None:
            return translatable("At least %(n)s.", n=first.ge)
        if "<=" in text and first.le is not None:
            return translatable("At most %(n)s.", n=first.le)
        if isinstance(first, msgspec.inspect.IntType):
            return translatable("Enter a whole number.")
        return translatable("Enter a number.")
    if isinstance(first, msgspec.inspect.EnumType | msgspec.inspect.LiteralType):
        return translatable("Choose one of the options.")
    if isinstance(first, msgspec.inspect.DateTimeType):
        return translatable("Enter a date and time.")
    if isinstance(first, msgspec.inspect.DateType):
        return translatable("Enter a date.")
    return translatable("Not a valid value.")


_LOCAL_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?")


def _local_datetime(text: str, zone: ZoneInfo | None) -> datetime | str:
    """A `datetime-local` value in the form's zone; anything else is left for msgspec."""
    if zone is None or not _LOCAL_TIME.fullmatch(text):
        return text
    return datetime.fromisoformat(text).replace(tzinfo=zone)


def parse_form(
    raw: Mapping[str, str],
    schema: type[T],
    *,
    zone: str | None = None,
    only: Iterable[str] | None = None,
) -> FormResult[T]:
    """The schema built from the form's strings, or every field's problem.

    `only`: the fields this form shows (others keep their defaults, or UNSET in a
    patch schema)."""
    info = msgspec.inspect.type_info(schema)
    assert isinstance(info, msgspec.inspect.StructType)
    shown = set(only) if only is not None else None
    values = {name: str(value) for name, value in raw.items() if not name.startswith("_")}
    data: dict[str, Any] = {}
    errors: dict[str, str] = {}
    tz = None
    if zone:
        try:
            tz = ZoneInfo(zone)
        except (ValueError, KeyError):  # ZoneInfoNotFoundError is a KeyError
            errors["timezone"] = translatable("Not a time zone: for example Asia/Shanghai.")
    for spec in info.fields:
        name = spec.encode_name
        if shown is not None and name not in shown:
            continue
        text = values.get(name, "").strip()
        if _has(spec.type, msgspec.inspect.BoolType):
            data[name] = text.lower() in ("on", "true", "1", "yes")
            continue
        if not text:
            if _has(spec.type, msgspec.inspect.NoneType):
                data[name] = None
            elif spec.required:
                errors[name] = translatable("Required.")
            continue
        value: Any = text
        if _has(spec.type, msgspec.inspect.DateTimeType):
            value = _local_datetime(text, tz)
        field_type = _field_annotation(schema, name)
        try:
            data[name] = msgspec.convert(value, field_type, strict=False)
        except msgspec.ValidationError as error:
            errors[name] = _message(error, spec.type)
    if errors:
        return FormResult(None, values, errors)
    try:
        return FormResult(msgspec.convert(data, schema, strict=False), values, {})
    except msgspec.ValidationError as error:  # a rule of the struct as a whole
        return FormResult(None, values, {FORM_ERROR: str(error)})


def _field_annotation(schema: type[msgspec.Struct], name: str) -> Any:
    for found in msgspec.structs.fields(schema):
        if found.encode_name == name:
            return found.type
    raise KeyError(name)


async def read_form(
    request: Request[Any, Any, Any],
    schema: type[T],
    *,
    zone: str | None = None,
    only: Iterable[str] | None = None,
) -> FormResult[T]:
    """The request's url-encoded (or multipart) form through `parse_form`."""
    form = await request.form()
    raw = {key: form.get(key) for key in form}
    return parse_form(
        {k: v for k, v in raw.items() if isinstance(v, str)}, schema, zone=zone, only=only
    )


def domain_errors(error: DomainError) -> dict[str, str]:
    """A service's refusal as form errors: on its fields where it names them."""
    named = error.extra.get("errors") if isinstance(error.extra, Mapping) else None
    found: dict[str, str] = {}
    if isinstance(named, list):
        for item in named:
            if isinstance(item, Mapping) and isinstance(item.get("field"), str):
                found[item["field"]] = error.detail
    return found or {FORM_ERROR: error.detail}


MAX_CSV_BYTES = 512 * 1024
"""The largest CSV file a console import takes."""


async def uploaded_csv(request: Request[Any, Any, Any]) -> str:
    """A console import's CSV text: the uploaded file, or the text its preview sent back
    (refused, in words, when too large or not UTF-8 text)."""
    form = await request.form()
    upload = form.get("file")
    if isinstance(upload, UploadFile):
        body = await upload.read(MAX_CSV_BYTES + 1)
    else:
        body = str(form.get("csv") or "").encode("utf-8")
    if len(body) > MAX_CSV_BYTES:
        raise Unprocessable(
            translatable("The file is larger than %(size)s KB.", size=MAX_CSV_BYTES // 1024)
        )
    if b"\x00" in body:
        raise Unprocessable(translatable("The CSV must be UTF-8 text."))
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise Unprocessable(translatable("The CSV must be UTF-8 text.")) from None
