"""The hook through which an answer is written from a template.

Templates belong to ``app.knowledge``, a package above this one; the workflow knows only
this protocol. The application registers the knowledge base's resolver when it is
created (``app.main.create_app``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Protocol

from pydantic import BeforeValidator, Field, StringConstraints, WithJsonSchema
from sqlmodel import Session

from app.inquiries.models import Inquiry


def _normal_code(value: object) -> object:
    # Only ASCII is folded: the Kelvin sign's lower case is "k", and the schema's pattern
    # below says what is accepted before folding.
    if not isinstance(value, str):
        return value
    value = value.strip()
    return value.lower() if value.isascii() else value


# The code as a client may write it: trimmed and folded to lower case before the check.
TEMPLATE_CODE_INPUT_PATTERN = r"^\s*[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\s*$"

TemplateCode = Annotated[
    str,
    BeforeValidator(_normal_code),
    StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]*$"),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": TEMPLATE_CODE_INPUT_PATTERN,
            "description": "a template's code: lower-case letters, digits, '-', '_' and '.' "
            "(upper case is folded, surrounding spaces trimmed)",
            "examples": ["kiriman-tertahan"],
        },
        mode="validation",
    ),
    Field(
        description="a template's code: lower-case letters, digits, '-', '_' and '.'",
        examples=["kiriman-tertahan"],
    ),
]


@dataclass(frozen=True)
class FilledTemplate:
    """A template's text with the inquiry's values put in, and which version it was."""

    template_id: int
    code: str
    version: int
    text: str


class TemplateResolver(Protocol):
    """Finds the template ``code`` usable for ``inquiry`` and fills it, or raises the
    template's own domain error (unknown, archived, of another office)."""

    def __call__(self, session: Session, inquiry: Inquiry, code: str) -> FilledTemplate: ...


_resolver: TemplateResolver | None = None


def set_template_resolver(resolver: TemplateResolver) -> None:
    """Register the resolver answers use (once, when the application is created)."""
    global _resolver
    _resolver = resolver


def fill_template(session: Session, inquiry: Inquiry, code: str) -> FilledTemplate:
    """The template ``code`` filled for ``inquiry``, through the registered resolver."""
    if _resolver is None:
        raise RuntimeError("no template resolver is registered; see app.main.create_app")
    return _resolver(session, inquiry, code)
