"""Validation and normal forms of player fields, shared by registration and updates (and
by search, which must normalise a query the way the data was stored)."""

import re
from datetime import date

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone

from backoffice.errors import DomainError

from . import national_id

EMAIL_INVALID = "Enter a valid email address."
PHONE_INVALID = "Enter a phone number in international form, e.g. +46701234567."
DOB_FUTURE = "The date of birth is in the future."
UNDERAGE = "Players must be at least 18 years old."
COUNTRY_INVALID = "Use a two-letter ISO 3166-1 country code."
NATIONAL_ID_INVALID = "The national identity number must have 6 to 20 letters or digits."
MINIMUM_AGE = 18
_PHONE_JUNK = re.compile(r"[\s\-().]")
_PHONE = re.compile(r"^\+?[0-9]{6,15}$")
_NATIONAL_ID = re.compile(r"^[0-9A-Z+]{6,20}$")


def normalize_phone(value: str) -> str:
    """International form without separators: '+46 70-123 45 67' -> '+46701234567',
    '0046...' -> '+46...'."""
    v = _PHONE_JUNK.sub("", value or "")
    return "+" + v[2:] if v.startswith("00") else v


def clean_field(field: str, value):
    """One field's validation and normal form, shared by registration and updates."""
    if field == "email":
        value = (value or "").strip().lower()
        if value:
            try:
                validate_email(value)
            except ValidationError:
                raise DomainError("invalid_email", EMAIL_INVALID, field="email") from None
    elif field == "phone":
        value = normalize_phone(value)
        if value and not _PHONE.match(value):
            raise DomainError("invalid_phone", PHONE_INVALID, field="phone")
    elif field == "date_of_birth":
        if isinstance(value, str) and value:
            try:
                value = date.fromisoformat(value)
            except ValueError:
                raise DomainError("invalid_date_of_birth", "Use the form YYYY-MM-DD.", field=field) from None
        if value:
            today = timezone.localdate()
            if value > today:
                raise DomainError("invalid_date_of_birth", DOB_FUTURE, field="date_of_birth")
            years = today.year - value.year - ((today.month, today.day) < (value.month, value.day))
            if years < MINIMUM_AGE:
                raise DomainError("underage", UNDERAGE, field="date_of_birth")
        value = value or None
    elif field in ("country", "nationality"):
        value = (value or "").strip().upper()
        if value and not re.fullmatch(r"[A-Z]{2}", value):
            raise DomainError("invalid_country", COUNTRY_INVALID, field=field)
    elif field == "national_id":
        value = national_id.normalize(value)
        if value and not _NATIONAL_ID.match(value):
            raise DomainError("invalid_national_id", NATIONAL_ID_INVALID, field="national_id")
    else:
        value = (value or "").strip()
    return value
