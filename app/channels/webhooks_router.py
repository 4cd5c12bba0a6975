"""Webhook endpoint administration: where an office's web-chat and social-media messages
for requesters are POSTed, signed."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.channels import webhooks
from app.channels.crypto import SecretKeyMissing
from app.channels.webhook_schemas import (
    WebhookEndpointCreate,
    WebhookEndpointCreated,
    WebhookEndpointList,
    WebhookEndpointRead,
)
from app.core.db import SessionDep
from app.core.errors import problem_responses
from app.core.security import CurrentPrincipal, Role, require_roles

router = APIRouter(prefix="/v1/webhooks", tags=["channels"])

AdminOnly = require_roles(Role.admin)


@router.post(
    "",
    summary="Register a webhook endpoint",
    status_code=status.HTTP_201_CREATED,
    response_model=WebhookEndpointCreated,
    responses=problem_responses(
        401, 403, 422, errors=[webhooks.WebhookEndpointExists, SecretKeyMissing]
    ),
    dependencies=[AdminOnly],
)
def create_webhook(
    data: WebhookEndpointCreate,
    session: SessionDep,
    principal: CurrentPrincipal,
    response: Response,
) -> WebhookEndpointCreated:
    """Register an office's webchat or social receiver; its secret is shown only here (admin)."""
    endpoint, secret = webhooks.create_endpoint(
        session=session, data=data, created_by=principal.sub
    )
    response.headers["Location"] = f"/v1/webhooks/{endpoint.id}"
    response.headers["Cache-Control"] = "no-store"
    read = WebhookEndpointRead.model_validate(endpoint)
    return WebhookEndpointCreated(**read.model_dump(), secret=secret)


@router.get(
    "",
    summary="List webhook endpoints",
    response_model=WebhookEndpointList,
    responses=problem_responses(401, 403, 422),
    dependencies=[AdminOnly],
)
def list_webhooks(
    session: SessionDep,
    office_code: Annotated[
        str | None, Query(max_length=32, description="only this office's endpoints")
    ] = None,
) -> WebhookEndpointList:
    """Every webhook endpoint, or one office's, without their secrets (admin)."""
    endpoints = webhooks.list_endpoints(session=session, office_code=office_code)
    return WebhookEndpointList(items=[WebhookEndpointRead.model_validate(e) for e in endpoints])


@router.get(
    "/{endpoint_id}",
    summary="Get a webhook endpoint",
    response_model=WebhookEndpointRead,
    responses=problem_responses(401, 403, 422, errors=[webhooks.WebhookEndpointNotFound]),
    dependencies=[AdminOnly],
)
def get_webhook(endpoint_id: uuid.UUID, session: SessionDep) -> WebhookEndpointRead:
    """One webhook endpoint, without its secret (admin)."""
    endpoint = webhooks.get_endpoint(session=session, endpoint_id=endpoint_id)
    return WebhookEndpointRead.model_validate(endpoint)


@router.delete(
    "/{endpoint_id}",
    summary="Delete a webhook endpoint",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(401, 403, 422, errors=[webhooks.WebhookEndpointNotFound]),
    dependencies=[AdminOnly],
)
def delete_webhook(endpoint_id: uuid.UUID, session: SessionDep) -> Response:
    """Remove a webhook endpoint; its office's messages wait for a new one (admin)."""
    webhooks.delete_endpoint(session=session, endpoint_id=endpoint_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
