"""The base of every request body model."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, field_validator

EARLIEST_YEAR, LATEST_YEAR = 1971, 2100


def _plausible(value: datetime) -> datetime:
    try:
        year = value.astimezone(UTC).year
    except OverflowError:
        year = 0
    if not EARLIEST_YEAR <= year <= LATEST_YEAR:
        raise ValueError(f"must fall between {EARLIEST_YEAR} and {LATEST_YEAR}")
    return value


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
