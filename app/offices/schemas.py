"""Public shapes of office requests and responses."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Annotated, Any
from zoneinfo import available_timezones

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)
from pydantic.config import JsonDict

from app.core.schemas import EmailAddress, Input

OFFICE_CODE_PATTERN = r"^[A-Z0-9](?:[A-Z0-9-]{0,30}[A-Z0-9])?$"


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _known_zone(value: str) -> str:
    if value not in _zones():
        raise ValueError(f"unknown IANA time zone {value!r} (for example Asia/Jakarta)")
    return value


OfficeCode = Annotated[
    str,
    StringConstraints(pattern=OFFICE_CODE_PATTERN, min_length=2, max_length=32),
    Field(description="upper-case letters, digits and hyphens", examples=["KPPBC-BANDA-ACEH"]),
]
TimeZoneName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64),
    AfterValidator(_known_zone),
    Field(description="IANA time zone of the office", examples=["Asia/Jakarta"]),
]
OfficeName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    Field(examples=["KPPBC Banda Aceh"]),
]


class OfficeCreate(Input):
    """A new office."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "code": "KPPBC-SABANG",
                    "name": "KPPBC Sabang",
                    "timezone": "Asia/Jakarta",
                    "email": "kppbc.sabang@example.go.id",
                }
            ]
        },
    )

    code: OfficeCode
    name: OfficeName
    timezone: TimeZoneName = "Asia/Jakarta"
    email: EmailAddress | None = None
    active: bool = True


class OfficeUpdate(Input):
    """Changes to an office; fields left out stay as they are."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"name": "KPPBC TMP C Sabang"}]}
    )

    not_null_fields = ("name", "timezone", "active")

    name: OfficeName | None = None
    timezone: TimeZoneName | None = None
    email: EmailAddress | None = None
    active: bool | None = None

    @field_validator("name", "timezone", "active", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may be left out but not set to null")
        return value


OFFICE_EXAMPLE: JsonDict = {
    "code": "KANWIL-ACEH",
    "name": "Kantor Wilayah DJBC Aceh",
    "timezone": "Asia/Jakarta",
    "email": None,
    "active": True,
    "created_at": "2026-11-28T02:00:00Z",
    "updated_at": "2026-11-28T02:00:00Z",
}


class OfficeRead(BaseModel):
    """An office as the API shows it."""

    model_config = ConfigDict(
        from_attributes=True, json_schema_extra={"examples": [OFFICE_EXAMPLE]}
    )

    code: str
    name: str
    timezone: str
    email: str | None
    active: bool
    created_at: datetime
    updated_at: datetime


class OfficeList(BaseModel):
    """All offices, by code."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [OFFICE_EXAMPLE]}]})

    items: list[OfficeRead]


UnitCode = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z0-9][A-Z0-9._-]{0,63}$", min_length=1, max_length=64),
    Field(description="upper-case letters, digits, dots, underscores and hyphens", examples=["P2"]),
]


class UnitIn(Input):
    """One entry of an office's unit directory."""

    model_config = ConfigDict(extra="forbid")

    code: UnitCode
    name: OfficeName
    home_office_code: OfficeCode | None = Field(
        default=None,
        description="the office the unit belongs to, when it serves this office from another",
    )


class UnitDirectoryIn(Input):
    """The whole unit directory of an office."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {"code": "P2", "name": "Penindakan dan Penyidikan"},
                        {
                            "code": "PKC-KANWIL",
                            "name": "Bidang Kepabeanan dan Cukai",
                            "home_office_code": "KANWIL-ACEH",
                        },
                    ]
                }
            ]
        },
    )

    items: list[UnitIn] = Field(max_length=200)

    @field_validator("items")
    @classmethod
    def _distinct(cls, items: list[UnitIn]) -> list[UnitIn]:
        codes = [u.code for u in items]
        if len(codes) != len(set(codes)):
            raise ValueError("unit codes must be distinct")
        return items


class UnitRead(BaseModel):
    """A unit that takes an office's escalations and consultations."""

    model_config = ConfigDict(from_attributes=True)

    code: str = Field(examples=["P2"])
    name: str = Field(examples=["Penindakan dan Penyidikan"])
    home_office_code: str = Field(examples=["KANWIL-ACEH"])


class UnitDirectory(BaseModel):
    """An office's unit directory."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "office_code": "KPPBC-LANGSA",
                    "items": [
                        {
                            "code": "P2",
                            "name": "Penindakan dan Penyidikan",
                            "home_office_code": "KPPBC-LANGSA",
                        },
                        {
                            "code": "PKC-KANWIL",
                            "name": "Bidang Kepabeanan dan Cukai",
                            "home_office_code": "KANWIL-ACEH",
                        },
                    ],
                }
            ]
        }
    )

    office_code: str = Field(examples=["KANWIL-ACEH"])
    items: list[UnitRead]
