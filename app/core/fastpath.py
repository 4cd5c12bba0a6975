"""Request and response handling around FastAPI's, for the survey submission.

The body is validated straight from the JSON bytes and the response serialised straight
from the model, documented through ``openapi_extra`` and ``EXTRA_SCHEMAS`` (merged into
the OpenAPI document by app.main); errors look exactly like every other validation
error. Measured alone on the SLA routes, each is worth under 10% of the route's cost
(``bench/bench_shortcuts.py``, docs/performance.md), so no other route uses them.
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
