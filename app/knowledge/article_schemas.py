"""Public shapes of knowledge-base requests and responses."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from app.core.schemas import Input, PlainLine, PlainText
from app.offices.schemas import OfficeCode

MAX_ARTICLE_BODY = 100_000

ArticleStatus = Literal["draft", "published", "archived"]
WritableStatus = Literal["draft", "published"]
ArticleTitle = Annotated[PlainLine, StringConstraints(min_length=1, max_length=300)]
ArticleBody = Annotated[
    PlainText,
    StringConstraints(min_length=1, max_length=MAX_ARTICLE_BODY),
    Field(description="Markdown"),
]
Tag = Annotated[PlainLine, StringConstraints(min_length=1, max_length=50, to_lower=True)]
LegalReference = Annotated[
    PlainLine,
    StringConstraints(min_length=1, max_length=100),
    Field(examples=["PMK 4/2025"]),
]


def _distinct(values: list[str]) -> list[str]:
    # Kept in the order given, each once: "PMK 4/2025" twice says nothing more.
    return list(dict.fromkeys(values))


Tags = Annotated[list[Tag], Field(max_length=20), AfterValidator(_distinct)]
LegalReferences = Annotated[
    list[LegalReference],
    Field(max_length=20, description='legal bases, e.g. "PMK 4/2025", "PER-2/BC/2023"'),
    AfterValidator(_distinct),
]

EXAMPLE_BODY = (
    "## Ambang batas pembebasan\n\n"
    "Barang kiriman dengan nilai pabean sampai dengan **FOB USD 3** per kiriman dibebaskan "
    "dari bea masuk, tetapi tetap dipungut PPN."
)
ARTICLE_EXAMPLE: dict[str, Any] = {
    "id": 12,
    "office_code": None,
    "title": "Barang kiriman: ambang batas FOB USD 3",
    "body": EXAMPLE_BODY,
    "tags": ["barang kiriman", "tarif"],
    "legal_references": ["PMK 4/2025"],
    "status": "published",
    "version": 3,
    "published_at": "2026-11-21T02:00:00Z",
    "created_by": "spv-aceh",
    "created_at": "2026-11-20T02:00:00Z",
    "updated_by": "spv-aceh",
    "updated_at": "2026-11-24T03:30:00Z",
}
EVENT_EXAMPLE: dict[str, Any] = {
    "id": 40,
    "action": "updated",
    "actor": "spv-aceh",
    "actor_roles": ["supervisor"],
    "version": 3,
    "from_status": "published",
    "to_status": "published",
    "details": {
        "changed": ["body", "legal_references"],
        "body_chars": [310, 402],
        "legal_references_added": ["PMK 4/2025"],
        "legal_references_removed": ["PMK 199/2019"],
    },
    "at": "2026-11-24T03:30:00Z",
}


class ArticleCreate(Input):
    """A new article, for one office or (``office_code`` null) for all."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "title": ARTICLE_EXAMPLE["title"],
                    "body": EXAMPLE_BODY,
                    "tags": ["barang kiriman", "tarif"],
                    "legal_references": ["PMK 4/2025"],
                    "status": "draft",
                    "office_code": None,
                }
            ]
        },
    )

    title: ArticleTitle
    body: ArticleBody
    tags: Tags = Field(default_factory=list)
    legal_references: LegalReferences = Field(default_factory=list)
    status: WritableStatus = "draft"
    office_code: OfficeCode | None = Field(
        default=None, description="the office it is for; null for all offices"
    )


class ArticleUpdate(Input):
    """Changes to an article; the fields left out stay as they are. Setting ``status``
    publishes a draft or takes a published article back to draft."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"legal_references": ["PMK 4/2025"], "status": "published"}]
        },
    )

    title: ArticleTitle | None = None
    body: ArticleBody | None = None
    tags: Tags | None = None
    legal_references: LegalReferences | None = None
    status: WritableStatus | None = None


class ArticleRead(BaseModel):
    """An article of the knowledge base."""

    model_config = ConfigDict(
        from_attributes=True, json_schema_extra={"examples": [ARTICLE_EXAMPLE]}
    )

    id: int
    office_code: str | None
    title: str
    body: str
    tags: list[str]
    legal_references: list[str]
    status: ArticleStatus
    version: int
    published_at: datetime | None
    created_by: str
    created_at: datetime
    updated_by: str
    updated_at: datetime


class ArticlePage(BaseModel):
    """A page of articles, most recently changed first; pass ``next_cursor`` as
    ``cursor`` for the next."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [ARTICLE_EXAMPLE], "next_cursor": None}]}
    )

    items: list[ArticleRead]
    next_cursor: str | None


class ArticleEventRead(BaseModel):
    """One change of an article: who, when, which version, and what changed (field names,
    sizes and list differences; never the text)."""

    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [EVENT_EXAMPLE]})

    id: int
    action: str
    actor: str
    actor_roles: list[str]
    version: int
    from_status: str | None
    to_status: str | None
    details: dict[str, Any]
    at: datetime


class ArticleEventList(BaseModel):
    """An article's audit trail, oldest first."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [EVENT_EXAMPLE]}]})

    items: list[ArticleEventRead]
