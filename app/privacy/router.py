"""Personal-data endpoints: export and erasure on request, the identity-read audit."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query, Request
from sqlmodel import col, select

from app.core.db import SessionDep, audit_session, utcnow
from app.core.errors import Unprocessable, problem_responses
from app.core.schemas import Instant
from app.core.security import CurrentPrincipal, Principal, Role, require_roles
from app.inquiries.identifiers import IdentifierError
from app.inquiries.identity_reads import IdentityRead
from app.privacy import subjects
from app.privacy.anonymise import anonymise, delete_blobs
from app.privacy.export import export
from app.privacy.models import PrivacyEvent
from app.privacy.schemas import (
    Erased,
    EraseIn,
    IdentityReadPage,
    IdentityReadView,
    PersonalDataExport,
    Subject,
)

router = APIRouter(tags=["personal data"])

Keepers = require_roles(Role.compliance, Role.admin)
ComplianceOnly = require_roles(Role.compliance)


class InvalidIdentifier(Unprocessable):
    """The identifier given is not a valid email, phone number or NIK."""

    code = "invalid_identifier"


def _identifier(subject: Subject) -> tuple[subjects.SubjectKind, str]:
    kind, value = subject.identifier()
    try:
        return kind, subjects.normalise(kind, value)
    except IdentifierError as exc:
        raise InvalidIdentifier(f"{kind}: {exc}") from None


def _event(
    principal: Principal, action: str, kind: str, value: str, **extra: object
) -> PrivacyEvent:
    return PrivacyEvent(
        at=utcnow(),
        actor=principal.sub,
        action=action,
        subject_kind=kind,
        subject_digest=subjects.digest(kind, value),  # type: ignore[arg-type]
        **extra,  # type: ignore[arg-type]
    )


@router.get(
    "/v1/requesters/export",
    summary="Export a person's data",
    response_model=PersonalDataExport,
    responses=problem_responses(401, 403, 422, errors=[InvalidIdentifier]),
    dependencies=[Keepers],
)
def export_requester(
    subject: Annotated[Subject, Query()],
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> PersonalDataExport:
    """Everything held on the person that the email, phone number or NIK identifies:
    inquiries with messages, documents, mails and survey answers, and complaints
    (compliance, admin). Each export is audited, naming the person by a digest only."""
    kind, value = _identifier(subject)
    ids = subjects.inquiry_ids(session, kind, value)
    complaints = subjects.complaints(session, kind, value, ids)
    data = export(session, ids, complaints)
    counts = {"inquiries": len(data["inquiries"]), "complaints": len(data["complaints"])}
    with audit_session(request, session) as audit:
        audit.add(_event(principal, "export", kind, value, counts=counts))
        audit.flush()
    return PersonalDataExport(exported_at=utcnow(), **data)


@router.post(
    "/v1/requesters/erase",
    summary="Erase a person's data",
    response_model=Erased,
    responses=problem_responses(401, 403, 422, errors=[InvalidIdentifier]),
    dependencies=[Keepers],
)
def erase_requester(
    data: EraseIn, session: SessionDep, principal: CurrentPrincipal, tasks: BackgroundTasks
) -> Erased:
    """Anonymise everything held on the person (compliance, admin): identity, texts,
    documents, mails and attachments, complaint contacts, survey suggestions. Statistics,
    audit events and reports keep counting the inquiries. Audited with the reason."""
    kind, value = _identifier(data)
    ids = subjects.inquiry_ids(session, kind, value)
    complaints = subjects.complaints(session, kind, value, ids)
    done = anonymise(session, ids, complaints, utcnow())
    session.add(_event(principal, "erase", kind, value, reason=data.reason, counts=done.counts()))
    session.flush()
    # Stored mail goes once the erasure is committed (background tasks run after).
    tasks.add_task(delete_blobs, done.blobs)
    return Erased(counts=done.counts())


@router.get(
    "/v1/audit/personal-data-reads",
    summary="List identity-number reads",
    response_model=IdentityReadPage,
    responses=problem_responses(401, 403, 422),
    dependencies=[ComplianceOnly],
)
def identity_reads(
    session: SessionDep,
    office_code: Annotated[str | None, Query(max_length=32)] = None,
    inquiry_id: uuid.UUID | None = None,
    actor: Annotated[str | None, Query(max_length=200)] = None,
    since: Annotated[Instant | None, Query(description="reads at or after")] = None,
    until: Annotated[Instant | None, Query(description="reads before")] = None,
    before_id: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> IdentityReadPage:
    """Every response that showed a NIK, NPWP or NPWP-bearing document number in full:
    who, when, which inquiry (internal compliance)."""
    statement = select(IdentityRead)
    if office_code is not None:
        statement = statement.where(IdentityRead.office_code == office_code)
    if inquiry_id is not None:
        statement = statement.where(IdentityRead.inquiry_id == inquiry_id)
    if actor is not None:
        statement = statement.where(IdentityRead.actor == actor)
    if since is not None:
        statement = statement.where(col(IdentityRead.at) >= since)
    if until is not None:
        statement = statement.where(col(IdentityRead.at) < until)
    if before_id is not None:
        statement = statement.where(col(IdentityRead.id) < before_id)
    rows = list(session.exec(statement.order_by(col(IdentityRead.id).desc()).limit(limit + 1)))
    more = len(rows) > limit
    items = [IdentityReadView.model_validate(r) for r in rows[:limit]]
    return IdentityReadPage(items=items, next_before_id=items[-1].id if more else None)
