"""Search results as the API shows them."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field, JsonValue


class Kind(StrEnum):
    """What a result is."""

    inquiry = "inquiry"
    template = "template"
    article = "article"


_HIT_EXAMPLE: dict[str, JsonValue] = {
    "kind": "inquiry",
    "id": "0f8b8c1e-6b5e-4a8e-9d7c-1c2f3a4b5c6d",
    "reference": "IQ-S4KF9VY5",
    "office_code": "KANWIL-ACEH",
    "title": "Kiriman tertahan",
    "snippet": "Paket <mark>kiriman</mark> saya tertahan di kantor pos",
    "answer_snippet": "Untuk <mark>pengiriman</mark> barang kiriman ...",
    "answered_at": "2026-11-30T09:12:00Z",
    "score": 0.61,
}


class SearchHit(BaseModel):
    """One result: an answered inquiry (question and answer), a template or an article."""

    kind: Kind
    id: str = Field(description="the inquiry's id, the template's code or the article's id")
    reference: str | None = Field(None, description="the inquiry's reference")
    office_code: str | None = Field(description="null: a template or article of all offices")
    title: str | None = Field(description="the subject, the template's or article's title")
    snippet: str = Field(
        description="the words around the matches of the question, template or article, "
        "HTML-escaped, matches in <mark>; personal data removed"
    )
    answer_snippet: str | None = Field(None, description="the same of an inquiry's answer")
    answered_at: datetime | None = None
    score: float = Field(description="relevance; higher is better")

    model_config = {"json_schema_extra": {"examples": [_HIT_EXAMPLE]}}


class SearchPage(BaseModel):
    """The best results, best first."""

    items: list[SearchHit]

    model_config = {"json_schema_extra": {"examples": [{"items": [_HIT_EXAMPLE]}]}}


class SimilarInquiry(BaseModel):
    """An answered inquiry like the one asked about, with the answer to reuse."""

    id: uuid.UUID
    reference: str
    subject: str | None
    question: str = Field(description="the question, personal data removed")
    answer: str = Field(description="the officer's answer, personal data removed")
    answered_at: datetime | None
    score: float = Field(description="similarity; higher is better")


class SimilarList(BaseModel):
    """Up to five answered inquiries of the same office, the most similar first."""

    items: list[SimilarInquiry]

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "items": [
                        {
                            "id": "0f8b8c1e-6b5e-4a8e-9d7c-1c2f3a4b5c6d",
                            "reference": "IQ-S4KF9VY5",
                            "subject": "Kiriman dari Jepang",
                            "question": "Paket kiriman saya dari Jepang tertahan di kantor pos.",
                            "answer": "Silakan lengkapi invoice dan bukti bayar melalui portal.",
                            "answered_at": "2026-11-30T09:12:00Z",
                            "score": 0.43,
                        }
                    ]
                }
            ]
        }
    }
