"""Answer templates: saving them as immutable versions, reading them in scope, and
filling one for an answer."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from app.core.db import insert_or_ignore, utcnow
from app.core.errors import Conflict, InvalidField, NotFound, PreconditionFailed, Unprocessable
from app.core.security import Principal
from app.inquiries.models import Inquiry
from app.inquiries.templating import FilledTemplate
from app.inquiries.texts import in_words
from app.knowledge import access, placeholders
from app.knowledge.template_models import AnswerTemplate, AnswerTemplateVersion
from app.knowledge.template_schemas import TemplateCreate, TemplateUpdate
from app.offices.models import Office

# /v1/templates/placeholders is a path of its own.
RESERVED_CODES = frozenset({"placeholders"})


class TemplateNotFound(NotFound):
    code, title = "template_not_found", "Template not found"


class TemplateCodeTaken(Conflict):
    code, title = "template_code_taken", "Template code taken"


class TemplateArchived(Conflict):
    code, title = "template_archived", "Template archived"


class TemplateChanged(PreconditionFailed):
    code, title = "template_changed", "Template changed"


class TemplateUnknownPlaceholder(Unprocessable):
    code, title = "template_unknown_placeholder", "Unknown placeholder"


def etag(template: AnswerTemplate) -> str:
    """The entity tag of a template's current version."""
    return f'"template-{template.id}-v{template.version}"'


def _check_placeholders(pointer: str, text: str) -> None:
    found = placeholders.problems(text)
    if found:
        raise TemplateUnknownPlaceholder(
            "; ".join(p.detail for p in found[:5]),
            errors=[{"pointer": pointer, "detail": p.detail} for p in found],
        )


def _check_etag(template: AnswerTemplate, if_match: str | None) -> None:
    if if_match is None:
        return
    tags = {t.strip() for t in if_match.split(",")}
    current = etag(template)
    if current not in tags and "*" not in tags:
        raise TemplateChanged(
            "The template has changed since you read it; read it again.", current_etag=current
        )


def _add_version(session: Session, template: AnswerTemplate, actor: str, at: datetime) -> None:
    assert template.id is not None
    session.add(
        AnswerTemplateVersion(
            template_id=template.id,
            version=template.version,
            language=template.language,
            title=template.title,
            body=template.body,
            created_by=actor,
            created_at=at,
        )
    )


def create_template(
    *, session: Session, principal: Principal, data: TemplateCreate
) -> AnswerTemplate:
    """Save a new template as its version 1; its code must be new."""
    access.ensure_may_change(principal, data.office_code, admins=True)
    if data.code in RESERVED_CODES:
        raise InvalidField("#/code", f"'{data.code}' names a path of its own; choose another")
    _check_placeholders("#/body", data.body)
    if data.office_code is not None and session.get(Office, data.office_code) is None:
        raise InvalidField("#/office_code", f"no office with code {data.office_code}")
    now = utcnow()
    values = {
        "code": data.code,
        "office_code": data.office_code,
        "language": data.language,
        "title": data.title,
        "body": data.body,
        "version": 1,
        "created_by": principal.sub,
        "updated_by": principal.sub,
        "created_at": now,
        "updated_at": now,
    }
    # The unique code decides between two saving the same code at once.
    table = AnswerTemplate.__table__  # type: ignore[attr-defined]
    if not insert_or_ignore(session, table, values, ["code"]):
        raise TemplateCodeTaken(f"A template with code {data.code} exists already.")
    template = session.exec(select(AnswerTemplate).where(AnswerTemplate.code == data.code)).one()
    _add_version(session, template, principal.sub, now)
    session.flush()
    return template


def load_template(
    *, session: Session, principal: Principal, code: str, for_update: bool = False
) -> AnswerTemplate:
    """The template ``code`` if the caller sees it, else TemplateNotFound."""
    access.ensure_reader(principal)
    statement = select(AnswerTemplate).where(AnswerTemplate.code == code.strip().lower())
    if for_update:
        statement = statement.with_for_update()
    template = session.exec(statement).first()
    if template is None or not access.may_read(principal, template.office_code):
        raise TemplateNotFound(f"No template with code {code}.")
    return template


def list_templates(
    *,
    session: Session,
    principal: Principal,
    office_code: str | None = None,
    language: str | None = None,
    archived: bool = False,
) -> list[AnswerTemplate]:
    """The templates the caller sees, by code: an office's own and those for all offices."""
    access.ensure_reader(principal)
    statement = select(AnswerTemplate).order_by(col(AnswerTemplate.code))
    scope = access.readable(principal, AnswerTemplate.office_code)
    if scope is not None:
        statement = statement.where(scope)
    if office_code is not None:
        column = col(AnswerTemplate.office_code)
        statement = statement.where((column == office_code) | column.is_(None))
    if language is not None:
        statement = statement.where(AnswerTemplate.language == language)
    archived_at = col(AnswerTemplate.archived_at)
    statement = statement.where(archived_at.is_not(None) if archived else archived_at.is_(None))
    return list(session.exec(statement))


def update_template(
    *,
    session: Session,
    principal: Principal,
    template: AnswerTemplate,
    data: TemplateUpdate,
    if_match: str | None,
) -> AnswerTemplate:
    """Save new text as the next version; answers already sent keep theirs."""
    access.ensure_may_change(principal, template.office_code, admins=True)
    _check_etag(template, if_match)
    if template.archived_at is not None:
        raise TemplateArchived(f"Template {template.code} is archived; restore it first.")
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    if "body" in changes:
        _check_placeholders("#/body", changes["body"])
    if all(getattr(template, field) == value for field, value in changes.items()):
        return template  # nothing new: no new version
    now = utcnow()
    for field, value in changes.items():
        setattr(template, field, value)
    template.version += 1
    template.updated_by = principal.sub
    template.updated_at = now
    session.add(template)
    _add_version(session, template, principal.sub, now)
    session.flush()
    return template


def set_archived(
    *,
    session: Session,
    principal: Principal,
    template: AnswerTemplate,
    archived: bool,
    if_match: str | None,
) -> AnswerTemplate:
    """Archive a template (answers can no longer use it) or restore it."""
    access.ensure_may_change(principal, template.office_code, admins=True)
    _check_etag(template, if_match)
    if (template.archived_at is not None) != archived:
        now = utcnow()
        template.archived_at = now if archived else None
        template.updated_by = principal.sub
        template.updated_at = now
        session.add(template)
        session.flush()
    return template


def versions(*, session: Session, template: AnswerTemplate) -> list[AnswerTemplateVersion]:
    """Every saved version of ``template``, oldest first."""
    return list(
        session.exec(
            select(AnswerTemplateVersion)
            .where(AnswerTemplateVersion.template_id == template.id)
            .order_by(col(AnswerTemplateVersion.version))
        )
    )


def version(*, session: Session, template: AnswerTemplate, number: int) -> AnswerTemplateVersion:
    """Version ``number`` of ``template``, or TemplateNotFound."""
    found = session.exec(
        select(AnswerTemplateVersion).where(
            AnswerTemplateVersion.template_id == template.id,
            AnswerTemplateVersion.version == number,
        )
    ).first()
    if found is None:
        raise TemplateNotFound(f"Template {template.code} has no version {number}.")
    return found


def values_for(inquiry: Inquiry, office: Office) -> dict[str, str]:
    """What each placeholder becomes for ``inquiry``."""
    return {
        "nama": inquiry.requester_name,
        "referensi": inquiry.reference,
        "nomor_tiket": inquiry.ticket_number or "-",
        "batas_waktu": in_words(inquiry.due_at, office.timezone),
        "kantor": office.name,
    }


def fill_for_answer(session: Session, inquiry: Inquiry, code: str) -> FilledTemplate:
    """The template ``code`` filled for ``inquiry``: it must be the inquiry's office's or
    for all offices (another office's is not found), and not archived."""
    # One row holds the text and its version number: what is filled is that version.
    template = session.exec(select(AnswerTemplate).where(AnswerTemplate.code == code)).first()
    if template is None or template.office_code not in (None, inquiry.office_code):
        raise TemplateNotFound(
            f"No template with code {code} for office {inquiry.office_code}.",
            errors=[{"pointer": "#/template", "detail": "no such template for this office"}],
        )
    if template.archived_at is not None:
        raise TemplateArchived(
            f"Template {code} is archived; it cannot be used for answers.",
            errors=[{"pointer": "#/template", "detail": "archived"}],
        )
    office = session.get(Office, inquiry.office_code)
    assert office is not None  # a foreign key of the inquiry
    assert template.id is not None
    return FilledTemplate(
        template_id=template.id,
        code=template.code,
        version=template.version,
        text=placeholders.fill(template.body, values_for(inquiry, office)),
    )
