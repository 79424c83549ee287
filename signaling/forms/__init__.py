"""Claim forms as data: one JSON schema per service, one engine that checks them.

Each ``<service>.json`` next to this module lists the form's fields (name,
type, required, lengths, keyboard, bilingual label and hint, options) and its
cross-field checks. :class:`FormSchema` loads one; :meth:`FormSchema.evaluate`
turns the stored values into the form's errors (bilingual plain words, from
``messages.json``) and whether it is complete. Adding a service's form is
adding a JSON file; no page is written by hand. The layout is described in
``docs/self-service.md``.

Two kinds of problem are told apart:

* a value that can never be right for the field (an unknown field, a letter
  in a digits field, a value longer than the field's maximum, an option that
  does not exist, control characters): :meth:`FormSchema.check_edit` raises
  :class:`EditRefused` and the edit changes nothing;
* a value that is not (yet) valid, e.g. a NIK with 7 of its 16 digits while
  the member types: stored, and reported in ``errors`` next to the field.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

#: First two digits of a NIK: the province codes of Kemendagri (incl. the Papua provinces of 2022).
PROVINCES = frozenset(
    {11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 31, 32, 33, 34, 35, 36, 51, 52, 53, 61, 62, 63, 64, 65,
     71, 72, 73, 74, 75, 76, 81, 82, 91, 92, 93, 94, 95, 96}
)

FIELD_TYPES = ("nik", "digits", "name", "text", "date", "phone", "email", "choice")
#: Characters each field type accepts at all (anything else refuses the edit).
_ALLOWED = {
    "nik": re.compile(r"^[0-9]*$"),
    "digits": re.compile(r"^[0-9]*$"),
    "date": re.compile(r"^[0-9-]*$"),
    "phone": re.compile(r"^\+?[0-9]*$"),
}
_NAME = re.compile(r"^[^\W\d_]+(?:[ .,'-]+[^\W\d_]*)*[.]?$", re.UNICODE)
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
_DATE = re.compile(r"^(\d{2})-(\d{2})-(\d{4})$")


class EditRefused(ValueError):
    """An edit that can never be right: refused, nothing changes."""


@lru_cache(maxsize=1)
def messages() -> dict[str, dict[str, str]]:
    return json.loads((HERE / "messages.json").read_text(encoding="utf-8"))


def message(key: str, **params: Any) -> dict[str, str]:
    """``{"code", "id", "en"}``: a problem in plain words, both languages."""
    texts = messages()[key]
    out = {"code": key}
    for lang, text in texts.items():
        out[lang] = text.format(**params) if params else text
    return out


# -- field checks --------------------------------------------------------------


def nik_birth_date(nik: str, ref: _dt.date) -> tuple[_dt.date, str] | None:
    """The birth date and sex ("F"/"M") encoded in a NIK's digits 7-12 (DDMMYY; women add 40 to DD).

    ``ref`` is today (the caller's clock, in WIB): a two-digit year after it is of the 1900s.
    """
    if len(nik) != 16 or not nik.isdigit():
        return None
    day, month, yy = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    sex = "M"
    if day > 40:
        day -= 40
        sex = "F"
    year = 2000 + yy if 2000 + yy <= ref.year else 1900 + yy
    try:
        return _dt.date(year, month, day), sex
    except ValueError:
        return None


def check_nik(value: str, today: _dt.date) -> dict | None:
    if len(value) != 16:
        return message("nik_length", count=len(value))
    if int(value[:2]) not in PROVINCES:
        return message("nik_province", code=value[:2])
    if value[2:4] == "00" or value[4:6] == "00":
        return message("nik_region")
    if nik_birth_date(value, today) is None:
        return message("nik_birth_date")
    if value[12:] == "0000":
        return message("nik_serial")
    return None


def parse_date(value: str) -> _dt.date | None:
    m = _DATE.match(value)
    if not m:
        return None
    try:
        return _dt.date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    except ValueError:
        return None


def normalise_name(value: str) -> str:
    """Upper case, accents and punctuation dropped, spaces collapsed: for comparing names."""
    text = unicodedata.normalize("NFKD", value)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = re.sub(r"[^A-Za-z ]+", " ", text)
    return " ".join(text.upper().split())


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    label: dict
    required: bool = True
    max_length: int = 100
    min_length: int = 0
    keyboard: str = "text"
    options: tuple[str, ...] = ()
    past: bool = False

    def check(self, value: str, today: _dt.date) -> dict | None:
        """The problem with a stored non-empty value, or None (``today``: the date in WIB by the service's clock)."""
        t = self.type
        if t == "nik":
            return check_nik(value, today)
        if t == "digits":
            if self.min_length == self.max_length and len(value) != self.min_length:
                return message("digits_length", min=self.min_length, count=len(value))
            if not self.min_length <= len(value) <= self.max_length:
                return message("digits_range", min=self.min_length, max=self.max_length, count=len(value))
            return None
        if t == "name":
            if not _NAME.match(value.strip()):
                return message("name_chars")
            if len(normalise_name(value)) < 2:
                return message("name_short")
            return None
        if t == "date":
            if not _DATE.match(value):
                return message("date_format")
            date = parse_date(value)
            if date is None:
                return message("date_invalid")
            if self.past and date > today:
                return message("date_future")
            if date.year < 1900:
                return message("date_too_old")
            return None
        if t == "phone":
            digits = value[1:] if value.startswith("+") else value
            national = "0" + digits[2:] if digits.startswith("62") else digits
            if not (national.startswith("08") and 10 <= len(national) <= 14):
                return message("phone")
            if value.startswith("+") and not digits.startswith("62"):
                return message("phone")
            return None
        if t == "email":
            return None if _EMAIL.match(value) else message("email")
        if t == "choice":
            return None if value in self.options else message("choice")
        return None  # text: characters were checked on edit

    def check_edit(self, value: Any) -> str:
        """The value to store, or :class:`EditRefused` with the reason in plain words."""
        if not isinstance(value, str):
            raise EditRefused(f"The value of {self.name!r} must be text.")
        if len(value) > self.max_length:
            raise EditRefused(f"The value of {self.name!r} is too long: at most {self.max_length} characters.")
        if any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn") for c in value):
            raise EditRefused(f"The value of {self.name!r} contains control or invisible characters.")
        pattern = _ALLOWED.get(self.type)
        if pattern is not None and not pattern.match(value):
            raise EditRefused(f"{self.name!r} takes only digits" + (" and '-'." if self.type == "date" else "."))
        if self.type == "choice" and value and value not in self.options:
            raise EditRefused(f"{value!r} is not an option of {self.name!r}.")
        return value


@dataclass(frozen=True)
class Evaluation:
    errors: dict[str, dict]
    missing: list[str]
    #: Confirmable checks that fail now and are not confirmed: name -> the values they were judged on.
    needs_confirmation: dict[str, list[str]]
    complete: bool


class FormSchema:
    """One service's form: its fields and checks, loaded from ``<service>.json``."""

    def __init__(self, data: dict) -> None:
        self.data = data
        self.service: str = data["service"]
        self.version: int = int(data.get("version", 1))
        self.fields: dict[str, Field] = {}
        for f in data["fields"]:
            if f["type"] not in FIELD_TYPES:
                raise ValueError(f"{self.service}: unknown field type {f['type']!r}")
            self.fields[f["name"]] = Field(
                name=f["name"],
                type=f["type"],
                label=f["label"],
                required=bool(f.get("required", True)),
                max_length=int(f.get("max_length", 100 if f["type"] != "choice" else 40)),
                min_length=int(f.get("min_length", 0)),
                keyboard=f.get("keyboard", "text"),
                options=tuple(o["value"] for o in f.get("options", ())),
                past=bool(f.get("past", False)),
            )
        self.checks: list[dict] = list(data.get("checks", ()))
        for check in self.checks:
            for key in ("nik", "date", "field", "other"):
                if key in check and check[key] not in self.fields:
                    raise ValueError(f"{self.service}: check {check['name']} names unknown field {check[key]!r}")

    def public(self) -> dict:
        """The schema as pages render it (the JSON file as it is)."""
        return self.data

    def check_edit(self, field: Any, value: Any) -> tuple[str, str]:
        if not isinstance(field, str) or field not in self.fields:
            raise EditRefused(f"The {self.service} form has no field {field!r}.")
        return field, self.fields[field].check_edit(value)

    def check_names(self) -> list[str]:
        return [c["name"] for c in self.checks]

    def confirmable(self, check: str) -> dict | None:
        for c in self.checks:
            if c["name"] == check and c.get("confirmable"):
                return c
        return None

    def check_values(self, check: dict, values: dict[str, str]) -> list[str]:
        return [values.get(check[k], "") for k in ("nik", "date", "field", "other") if k in check]

    def evaluate(
        self, values: dict[str, str], confirmed: dict[str, list[str]] | None = None, *, today: _dt.date
    ) -> Evaluation:
        """Errors per field, what is missing, and whether the form may be submitted.

        ``today`` is the date in WIB by the service's injected clock (never the machine's).
        """
        confirmed = confirmed or {}
        errors: dict[str, dict] = {}
        missing: list[str] = []
        for name, field in self.fields.items():
            value = values.get(name, "")
            if not value.strip():
                if field.required:
                    missing.append(name)
                continue
            problem = field.check(value, today)
            if problem is not None:
                errors[name] = problem
        needs: dict[str, list[str]] = {}
        for check in self.checks:
            if check["type"] == "nik_birth_date":
                nik, date_field = check["nik"], check["date"]
                if nik in errors or date_field in errors or not values.get(nik) or not values.get(date_field):
                    continue
                encoded = nik_birth_date(values[nik], today)
                date = parse_date(values[date_field])
                if encoded and date and (encoded[0].day, encoded[0].month, encoded[0].year % 100) != (
                    date.day, date.month, date.year % 100
                ):
                    errors[date_field] = message(check["name"], nik_date=encoded[0].strftime("%d-%m-%y"))
            elif check["type"] == "same_name":
                a, b = check["field"], check["other"]
                if a in errors or b in errors or not values.get(a) or not values.get(b):
                    continue
                if normalise_name(values[a]) != normalise_name(values[b]):
                    judged = self.check_values(check, values)
                    if confirmed.get(check["name"]) == judged:
                        continue  # the agent checked it and accepted it
                    problem = {**message(check["name"]), "confirmable": check["name"]}
                    errors[a] = problem
                    needs[check["name"]] = judged
        complete = not errors and not missing
        return Evaluation(errors, missing, needs, complete)


@lru_cache(maxsize=None)
def load(service: str) -> FormSchema:
    path = HERE / f"{service}.json"
    if not re.fullmatch(r"[a-z]{2,8}", service) or not path.exists():
        raise KeyError(service)
    return FormSchema(json.loads(path.read_text(encoding="utf-8")))


def all_schemas() -> dict[str, dict]:
    """Every service's form, for the pages."""
    from ..core.vocabulary import SERVICES

    return {s: load(s).public() for s in SERVICES}
