"""Answer-template endpoints: list, create, read, update (a new version), archive."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Response, status

from app.core.db import SessionDep
from app.core.errors import problem_responses
from app.core.security import CurrentPrincipal, Role, require_roles
from app.inquiries.templating import TemplateCode
from app.knowledge import placeholders, templates
from app.knowledge.template_models import AnswerTemplate, AnswerTemplateVersion
from app.knowledge.template_schemas import (
    Language,
    PlaceholderInfo,
    PlaceholderList,
    TemplateCreate,
    TemplateList,
    TemplateRead,
    TemplateUpdate,
    TemplateVersionList,
    TemplateVersionRead,
)
from app.offices.schemas import OfficeCode

router = APIRouter(prefix="/v1/templates", tags=["knowledge"])

Managers = require_roles(Role.coordinator, Role.supervisor, Role.admin)
IfMatch = Annotated[
    str | None, Header(description="the ETag you read; 412 when the template changed since")
]


def _template(
    code: Annotated[TemplateCode, Path(description="the template's code")],
    session: SessionDep,
    principal: CurrentPrincipal,
) -> AnswerTemplate:
    return templates.load_template(session=session, principal=principal, code=code)


def _template_for_update(
    code: Annotated[TemplateCode, Path(description="the template's code")],
    session: SessionDep,
    principal: CurrentPrincipal,
) -> AnswerTemplate:
    return templates.load_template(session=session, principal=principal, code=code, for_update=True)


TemplateDep = Annotated[AnswerTemplate, Depends(_template)]
TemplateForUpdate = Annotated[AnswerTemplate, Depends(_template_for_update)]


def read(template: AnswerTemplate, response: Response | None = None) -> TemplateRead:
    """A template as the API shows it (and its ETag on ``response``)."""
    if response is not None:
        response.headers["ETag"] = templates.etag(template)
    return TemplateRead(
        code=template.code,
        title=template.title,
        body=template.body,
        office_code=template.office_code,
        language=template.language,
        version=template.version,
        placeholders=placeholders.used(template.body),
        archived=template.archived_at is not None,
        archived_at=template.archived_at,
        created_by=template.created_by,
        created_at=template.created_at,
        updated_by=template.updated_by,
        updated_at=template.updated_at,
    )


@router.get(
    "",
    summary="List answer templates",
    response_model=TemplateList,
    responses=problem_responses(401, 403, 422),
)
def list_templates(
    session: SessionDep,
    principal: CurrentPrincipal,
    office_code: Annotated[
        OfficeCode | None,
        Query(description="this office's templates and those for all offices"),
    ] = None,
    language: Annotated[Language | None, Query()] = None,
    archived: Annotated[bool, Query(description="the archived ones instead")] = False,
) -> TemplateList:
    """The templates the caller sees: their office's and those for all offices (compliance
    and admin: every office's), by code."""
    found = templates.list_templates(
        session=session,
        principal=principal,
        office_code=office_code,
        language=language,
        archived=archived,
    )
    return TemplateList(items=[read(t) for t in found])


@router.get(
    "/placeholders",
    summary="List the placeholders templates may use",
    response_model=PlaceholderList,
    responses=problem_responses(401),
)
def list_placeholders(_principal: CurrentPrincipal) -> PlaceholderList:
    """The placeholders a template body may use; any other is refused when it is saved."""
    return PlaceholderList(
        items=[
            PlaceholderInfo(name=name, written="{{" + name + "}}", description=description)
            for name, description in placeholders.PLACEHOLDERS.items()
        ]
    )


@router.post(
    "",
    summary="Create an answer template",
    status_code=status.HTTP_201_CREATED,
    response_model=TemplateRead,
    responses=problem_responses(
        401, 403, errors=[templates.TemplateCodeTaken, templates.TemplateUnknownPlaceholder]
    ),
    dependencies=[Managers],
)
def create_template(
    data: TemplateCreate, session: SessionDep, principal: CurrentPrincipal, response: Response
) -> TemplateRead:
    """Save a template as version 1 (coordinators and supervisors for their office,
    supervisors and admins for all offices). An unknown placeholder is refused
    (`template_unknown_placeholder`), and so is a code in use (`template_code_taken`)."""
    template = templates.create_template(session=session, principal=principal, data=data)
    response.headers["Location"] = f"/v1/templates/{template.code}"
    return read(template, response)


@router.get(
    "/{code}",
    summary="Get an answer template",
    response_model=TemplateRead,
    responses=problem_responses(401, 403, 422, errors=[templates.TemplateNotFound]),
)
def get_template(template: TemplateDep, response: Response) -> TemplateRead:
    """A template at its latest version (`template_not_found` outside the caller's scope)."""
    return read(template, response)


@router.patch(
    "/{code}",
    summary="Update an answer template",
    response_model=TemplateRead,
    responses=problem_responses(
        401,
        403,
        errors=[
            templates.TemplateNotFound,
            templates.TemplateArchived,
            templates.TemplateChanged,
            templates.TemplateUnknownPlaceholder,
        ],
    ),
    dependencies=[Managers],
)
def update_template(
    template: TemplateForUpdate,
    data: TemplateUpdate,
    session: SessionDep,
    principal: CurrentPrincipal,
    response: Response,
    if_match: IfMatch = None,
) -> TemplateRead:
    """Save new text as the next version; answers already sent keep the text they had.
    An archived template is refused (`template_archived`)."""
    updated = templates.update_template(
        session=session, principal=principal, template=template, data=data, if_match=if_match
    )
    return read(updated, response)


@router.post(
    "/{code}/archive",
    summary="Archive an answer template",
    response_model=TemplateRead,
    responses=problem_responses(
        401, 403, 422, errors=[templates.TemplateNotFound, templates.TemplateChanged]
    ),
    dependencies=[Managers],
)
def archive_template(
    template: TemplateForUpdate,
    session: SessionDep,
    principal: CurrentPrincipal,
    response: Response,
    if_match: IfMatch = None,
) -> TemplateRead:
    """Withdraw a template: answers can no longer use it; its versions stay readable."""
    archived = templates.set_archived(
        session=session, principal=principal, template=template, archived=True, if_match=if_match
    )
    return read(archived, response)


@router.post(
    "/{code}/restore",
    summary="Restore an archived answer template",
    response_model=TemplateRead,
    responses=problem_responses(
        401, 403, 422, errors=[templates.TemplateNotFound, templates.TemplateChanged]
    ),
    dependencies=[Managers],
)
def restore_template(
    template: TemplateForUpdate,
    session: SessionDep,
    principal: CurrentPrincipal,
    response: Response,
    if_match: IfMatch = None,
) -> TemplateRead:
    """Make an archived template usable again, at its latest version."""
    restored = templates.set_archived(
        session=session, principal=principal, template=template, archived=False, if_match=if_match
    )
    return read(restored, response)


@router.get(
    "/{code}/versions",
    summary="List a template's versions",
    response_model=TemplateVersionList,
    responses=problem_responses(401, 403, 422, errors=[templates.TemplateNotFound]),
)
def list_versions(template: TemplateDep, session: SessionDep) -> TemplateVersionList:
    """Every saved version of the template, oldest first."""
    found = templates.versions(session=session, template=template)
    return TemplateVersionList(items=[_version(template, v) for v in found])


@router.get(
    "/{code}/versions/{version}",
    summary="Get one version of a template",
    response_model=TemplateVersionRead,
    responses=problem_responses(401, 403, 422, errors=[templates.TemplateNotFound]),
)
def get_version(
    template: TemplateDep,
    version: Annotated[int, Path(ge=1, le=2**31 - 1)],
    session: SessionDep,
) -> TemplateVersionRead:
    """The text a template had at ``version``, as answers that used it were filled from."""
    return _version(template, templates.version(session=session, template=template, number=version))


def _version(template: AnswerTemplate, saved: AnswerTemplateVersion) -> TemplateVersionRead:
    return TemplateVersionRead(
        code=template.code,
        version=saved.version,
        title=saved.title,
        body=saved.body,
        language=saved.language,
        created_by=saved.created_by,
        created_at=saved.created_at,
    )
