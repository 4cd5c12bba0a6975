"""The application without indexing answers: bench_search's reference for the cost of
indexing an answer (``uvicorn bench.search_off:app``)."""

from app.asgi import app
from app.inquiries import hooks

# The listener app.search registered when the application was made.
hooks._answer_listeners.clear()

__all__ = ["app"]
