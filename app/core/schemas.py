"""The base of every request body model."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar

from fastapi import Path
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    StringConstraints,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

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


# The same rules as patterns, so that OpenAPI carries them: control characters only in
# the whitespace that is trimmed (Python's and JSON Schema's \s), and in text, line breaks
# and tabs anywhere.
PLAIN_LINE_PATTERN = r"^\s*[^\x00-\x1f\x7f-\x9f]*\s*$"
PLAIN_TEXT_PATTERN = r"^\s*[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*\s*$"
# Any other text of a body: no NUL (Input._no_nul).
NO_NUL_PATTERN = r"^[^\x00]*$"

PlainLine = Annotated[
    str,
    AfterValidator(_plain_line),
    Field(json_schema_extra={"pattern": PLAIN_LINE_PATTERN}),
]
# An email address an office gives (its contact, its mailbox), checked by the same rule as
# a requester's: app.core.identifiers.normalize_email.
EmailAddress = Annotated[
    str,
    StringConstraints(max_length=254),
    AfterValidator(_email),
    Field(json_schema_extra={"format": "email"}),
]
PlainText = Annotated[
    str,
    AfterValidator(_plain_text),
    Field(json_schema_extra={"pattern": PLAIN_TEXT_PATTERN}),
]

# An instant the API takes: it must carry an offset and lie in a range the database and the
# calendars can hold.
Instant = Annotated[AwareDatetime, AfterValidator(_plausible)]


# A plain text's first and last characters (not whitespace, not control), and those between.
_EDGE_AND_INNER = {
    PLAIN_LINE_PATTERN: (r"[^\s\x00-\x1f\x7f-\x9f]", r"[^\x00-\x1f\x7f-\x9f]"),
    PLAIN_TEXT_PATTERN: (
        r"[^\s\x00-\x1f\x7f-\x9f]",
        r"[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]",
    ),
}


def trimmed_length_pattern(pattern: str, min_length: int, max_length: int | None) -> str:
    """``pattern`` (a plain line's or text's) with the length limits counted, as the
    validators count them, on the text without its surrounding whitespace."""
    edge, inner = _EDGE_AND_INNER[pattern]
    most = "" if max_length is None else str(max_length - 2)
    if max_length == 1:
        core = edge
    elif min_length <= 1:
        core = f"{edge}(?:{inner}{{0,{most}}}{edge})?"
    else:
        core = f"{edge}{inner}{{{min_length - 2},{most}}}{edge}"
    if min_length == 0:
        core = f"(?:{core})?"
    return rf"^\s*{core}\s*$"


def _trimmed_lengths(variant: dict[str, Any]) -> None:
    # A plain text's minLength and maxLength would count the whitespace that is trimmed.
    if variant.get("pattern") in _EDGE_AND_INNER and {"minLength", "maxLength"} & set(variant):
        variant["pattern"] = trimmed_length_pattern(
            variant["pattern"], variant.pop("minLength", 0), variant.pop("maxLength", None)
        )
    for nested in [*variant.get("anyOf", []), *([variant["items"]] if "items" in variant else [])]:
        _trimmed_lengths(nested)


def _no_nul_in_schema(schema: dict[str, Any]) -> None:
    """Give each free-text property of a body the pattern of the rule ``Input._no_nul``
    enforces: properties with a pattern, a format or a fixed set of values already have a
    stricter one."""
    for prop in schema.get("properties", {}).values():
        for variant in [prop, *prop.get("anyOf", [])]:
            if variant.get("type") == "string" and not {"pattern", "format", "enum", "const"} & set(
                variant
            ):
                variant["pattern"] = NO_NUL_PATTERN


class Input(BaseModel):
    """A request body: unknown fields are refused, and so are NUL characters, which no
    text needs and PostgreSQL cannot store."""

    model_config = ConfigDict(extra="forbid")

    # Optional fields that may be left out but not be null (a validator of the model
    # refuses null); the schema then drops the null that `X | None = None` declares.
    not_null_fields: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(core_schema)
        schema = handler.resolve_ref_schema(json_schema)
        _no_nul_in_schema(schema)
        for prop in schema.get("properties", {}).values():
            _trimmed_lengths(prop)
        for name in cls.not_null_fields:
            prop = schema.get("properties", {}).get(name, {})
            variants = [v for v in prop.pop("anyOf", []) if v.get("type") != "null"]
            if len(variants) == 1:
                prop.update(variants[0])
            elif variants:
                prop["anyOf"] = variants
        return json_schema

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("NUL characters are not allowed")
        return value
