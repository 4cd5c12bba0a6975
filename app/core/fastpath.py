"""Request and response handling for the few hot endpoints.

FastAPI's generic body handling parses JSON to Python objects, then validates them, then
validates the returned model again before serialising it. For endpoints served
thousands of times a second (SLA calculations) the body is validated straight from the
JSON bytes and the response serialised straight from the model, as FastAPI's
documentation shows for custom request bodies (``openapi_extra``). Errors look exactly
like every other validation error.
"""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

ModelT = TypeVar("ModelT", bound=BaseModel)

# Models whose schemas the OpenAPI document must carry although no route parameter names
# them (see app.main).
EXTRA_SCHEMAS: dict[str, type[BaseModel]] = {}


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` documenting ``model`` as the required JSON request body."""
    EXTRA_SCHEMAS[model.__name__] = model
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}
            },
        }
    }


async def read_json(request: Request, model: type[ModelT]) -> ModelT:
    """The request body validated as ``model``; a 422 problem when it is not."""
    body = await request.body()
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        errors = [
            {**error, "loc": ("body", *error["loc"])}
            for error in exc.errors(include_url=False, include_context=False)
        ]
        raise RequestValidationError(errors, body=None) from None


def json_response(model: BaseModel, status_code: int = 200) -> Response:
    """``model`` serialised as the response body."""
    return Response(
        model.__pydantic_serializer__.to_json(model),
        status_code=status_code,
        media_type="application/json",
    )
