"""Public shapes of answer-template requests and responses."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.config import JsonDict

from app.core.schemas import Input, PlainLine, PlainText
from app.inquiries.templating import TemplateCode
from app.offices.schemas import OfficeCode

MAX_TEMPLATE_BODY = 20_000

Language = Literal["id", "en"]
Title = Annotated[PlainLine, StringConstraints(min_length=1, max_length=200)]
TemplateBody = Annotated[
    PlainText,
    StringConstraints(min_length=1, max_length=MAX_TEMPLATE_BODY),
    Field(
        description="the answer's text; placeholders {{nama}}, {{referensi}}, "
        "{{nomor_tiket}}, {{batas_waktu}} and {{kantor}} are filled from the inquiry"
    ),
]

EXAMPLE_BODY = (
    "Barang kiriman Anda dengan nomor referensi {{referensi}} tertahan karena "
    "memerlukan dokumen pelengkap. Silakan unggah invoice dan bukti pembayaran "
    "melalui laman pelacakan, atau hubungi {{kantor}}."
)


TEMPLATE_EXAMPLE: JsonDict = {
    "code": "kiriman-tertahan",
    "title": "Barang kiriman tertahan",
    "body": EXAMPLE_BODY,
    "office_code": "KANWIL-ACEH",
    "language": "id",
    "version": 2,
    "placeholders": ["referensi", "kantor"],
    "archived": False,
    "archived_at": None,
    "created_by": "coord-aceh",
    "created_at": "2026-11-20T02:00:00Z",
    "updated_by": "spv-aceh",
    "updated_at": "2026-11-24T03:30:00Z",
}
VERSION_EXAMPLE: JsonDict = {
    "code": "kiriman-tertahan",
    "version": 1,
    "title": "Barang kiriman tertahan",
    "body": EXAMPLE_BODY,
    "language": "id",
    "created_by": "coord-aceh",
    "created_at": "2026-11-20T02:00:00Z",
}


class TemplateCreate(Input):
    """A new answer template, for one office or (``office_code`` null) for all."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "code": "kiriman-tertahan",
                    "title": "Barang kiriman tertahan",
                    "body": EXAMPLE_BODY,
                    "office_code": "KANWIL-ACEH",
                    "language": "id",
                }
            ]
        },
    )

    code: TemplateCode
    title: Title
    body: TemplateBody
    office_code: OfficeCode | None = Field(
        default=None, description="the office that uses it; null for all offices"
    )
    language: Language = "id"


class TemplateUpdate(Input):
    """New text for a template: a new version; the fields left out stay as they are.
    The code and the office never change."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"body": EXAMPLE_BODY + " Terima kasih."}]},
    )

    title: Title | None = None
    body: TemplateBody | None = None
    language: Language | None = None


class TemplateRead(BaseModel):
    """An answer template at its latest version."""

    model_config = ConfigDict(json_schema_extra={"examples": [TEMPLATE_EXAMPLE]})

    code: str
    title: str
    body: str
    office_code: str | None
    language: Language
    version: int
    placeholders: list[str] = Field(description="the placeholders the body uses")
    archived: bool
    archived_at: datetime | None
    created_by: str
    created_at: datetime
    updated_by: str
    updated_at: datetime


class TemplateList(BaseModel):
    """Templates the caller sees, by code."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [TEMPLATE_EXAMPLE]}]})

    items: list[TemplateRead]


class TemplateVersionRead(BaseModel):
    """One saved version of a template, never changed afterwards."""

    model_config = ConfigDict(json_schema_extra={"examples": [VERSION_EXAMPLE]})

    code: str
    version: int
    title: str
    body: str
    language: Language
    created_by: str
    created_at: datetime


class TemplateVersionList(BaseModel):
    """Every version of a template, oldest first."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [VERSION_EXAMPLE]}]})

    items: list[TemplateVersionRead]


class PlaceholderInfo(BaseModel):
    """A placeholder templates may use."""

    name: str = Field(examples=["nama"])
    written: str = Field(examples=["{{nama}}"])
    description: str


class PlaceholderList(BaseModel):
    """The placeholders a template may use; any other is refused when it is saved."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"items": [{"name": "nama", "written": "{{nama}}", "description": "the name"}]}
            ]
        }
    )

    items: list[PlaceholderInfo]
