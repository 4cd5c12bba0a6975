"""Office directory endpoints."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response, status

from app.core.db import SessionDep
from app.core.errors import problem_responses
from app.core.security import CurrentPrincipal, Role, require_roles
from app.offices import service, units
from app.offices.schemas import (
    OfficeCreate,
    OfficeList,
    OfficeRead,
    OfficeUpdate,
    UnitDirectory,
    UnitDirectoryIn,
    UnitRead,
)

router = APIRouter(prefix="/v1/offices", tags=["offices"])

AdminOnly = require_roles(Role.admin)


@router.get(
    "",
    summary="List offices",
    response_model=OfficeList,
    responses=problem_responses(401),
)
def list_offices(session: SessionDep, _principal: CurrentPrincipal) -> OfficeList:
    """Every office of the directory, active or not, ordered by code."""
    offices = service.list_offices(session=session)
    return OfficeList(items=[OfficeRead.model_validate(o) for o in offices])


@router.get(
    "/{code}",
    summary="Get an office",
    response_model=OfficeRead,
    responses=problem_responses(401, 404),
)
def get_office(
    code: str, session: SessionDep, _principal: CurrentPrincipal, response: Response
) -> OfficeRead:
    """One office by its code, with its ETag."""
    office = service.get_office(session=session, code=code)
    response.headers["ETag"] = service.etag(office)
    return OfficeRead.model_validate(office)


@router.post(
    "",
    summary="Create an office",
    status_code=status.HTTP_201_CREATED,
    response_model=OfficeRead,
    responses=problem_responses(401, 403, 422, errors=[service.OfficeExists]),
    dependencies=[AdminOnly],
)
def create_office(data: OfficeCreate, session: SessionDep, response: Response) -> OfficeRead:
    """Add an office to the directory (admin)."""
    office = service.create_office(session=session, data=data)
    response.headers["ETag"] = service.etag(office)
    response.headers["Location"] = f"/v1/offices/{office.code}"
    return OfficeRead.model_validate(office)


@router.patch(
    "/{code}",
    summary="Change an office",
    response_model=OfficeRead,
    responses=problem_responses(401, 403, 404, 422, errors=[service.OfficeChanged]),
    dependencies=[AdminOnly],
)
def update_office(
    code: str,
    data: OfficeUpdate,
    session: SessionDep,
    response: Response,
    if_match: Annotated[str | None, Header(description="ETag from a previous read")] = None,
) -> OfficeRead:
    """Change an office's name, time zone, contact email or active flag (admin)."""
    office = service.update_office(session=session, code=code, data=data, if_match=if_match)
    response.headers["ETag"] = service.etag(office)
    return OfficeRead.model_validate(office)


@router.get(
    "/{code}/units",
    summary="List an office's units",
    response_model=UnitDirectory,
    responses=problem_responses(401, 404),
)
def list_units(code: str, session: SessionDep, _principal: CurrentPrincipal) -> UnitDirectory:
    """The related units that take this office's escalations and consultations."""
    rows = units.list_units(session=session, office_code=code)
    return UnitDirectory(office_code=code, items=[UnitRead.model_validate(u) for u in rows])


@router.put(
    "/{code}/units",
    summary="Replace an office's units",
    response_model=UnitDirectory,
    responses=problem_responses(401, 403, 404, 422, errors=[units.UnknownHomeOffice]),
    dependencies=[AdminOnly],
)
def replace_units(code: str, data: UnitDirectoryIn, session: SessionDep) -> UnitDirectory:
    """Set the whole unit directory of an office (admin). A unit serving this office from
    another names that office as ``home_office_code``; its tokens carry that office."""
    rows = units.replace_units(session=session, office_code=code, units=data.items)
    return UnitDirectory(office_code=code, items=[UnitRead.model_validate(u) for u in rows])
