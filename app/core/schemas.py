"""The base of every request body model."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Path
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from app.core.identifiers import IdentifierError, normalize_email

EARLIEST_YEAR, LATEST_YEAR = 1971, 2100

# Integer row ids are 32-bit on PostgreSQL; a larger id is refused (422) before it reaches
# the database, where SQLite would overflow and PostgreSQL would fail to compare.
MAX_ROW_ID = 2_147_483_647
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]


def _plausible(value: datetime) -> datetime:
    try:
        year = value.astimezone(UTC).year
    except OverflowError:
        year = 0
    if not EARLIEST_YEAR <= year <= LATEST_YEAR:
        raise ValueError(f"must fall between {EARLIEST_YEAR} and {LATEST_YEAR}")
    return value


def _plain_line(value: str) -> str:
    return _plain(value, "")


def _plain_text(value: str) -> str:
    return _plain(value, "\n\r\t")


def _plain(value: str, allowed: str) -> str:
    value = value.strip()
    if any(unicodedata.category(c) == "Cc" and c not in allowed for c in value):
        raise ValueError("control characters are not allowed")
    return value


# Text a person typed, trimmed, without control characters: one line, or several lines
# (line breaks and tabs allowed). Blank text stays an empty string: whether that is
# allowed is the field's business (min_length, or treated as missing).
def _email(value: str) -> str:
    try:
        return normalize_email(value)
    except IdentifierError as exc:
        raise ValueError(exc.message) from None


PlainLine = Annotated[str, AfterValidator(_plain_line)]
# An email address an office gives (its contact, its mailbox), checked by the same rule as
# a requester's: app.core.identifiers.normalize_email.
EmailAddress = Annotated[
    str,
    StringConstraints(max_length=254),
    AfterValidator(_email),
    Field(json_schema_extra={"format": "email"}),
]
PlainText = Annotated[str, AfterValidator(_plain_text)]

# An instant the API takes: it must carry an offset and lie in a range the database and the
# calendars can hold.
Instant = Annotated[AwareDatetime, AfterValidator(_plausible)]


class Input(BaseModel):
    """A request body: unknown fields are refused, and so are NUL characters, which no
    text needs and PostgreSQL cannot store."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("NUL characters are not allowed")
        return value
