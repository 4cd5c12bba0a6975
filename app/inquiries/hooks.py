"""Where packages above the inquiries hook into them, without the inquiries importing
those packages: full-text search (app.search) registers its listener for answers and
the queue's text filter when the application is made."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlmodel import Session

from app.inquiries.models import Inquiry

# (session, inquiry, the officer's text, when): called in the answer's transaction.
AnswerListener = Callable[[Session, Inquiry, str, datetime], None]
# (session, the query text, the one office the caller's queue is limited to, if any)
# -> a condition on Inquiry for the work queue's `q`.
TextFilter = Callable[[Session, str, str | None], Any]

_answer_listeners: list[AnswerListener] = []
_text_filter: list[TextFilter] = []


def on_answer(listener: AnswerListener) -> None:
    """Call ``listener`` whenever an inquiry is answered or its ticket resolved."""
    if listener not in _answer_listeners:
        _answer_listeners.append(listener)


def answered(session: Session, inquiry: Inquiry, text: str, at: datetime) -> None:
    """Tell the listeners that ``inquiry`` was answered with ``text``."""
    for listener in _answer_listeners:
        listener(session, inquiry, text, at)


def set_text_filter(text_filter: TextFilter) -> None:
    """The condition the work queue's ``q`` filter uses."""
    _text_filter[:] = [text_filter]


def text_condition(session: Session, query: str, office_code: str | None) -> Any:
    """The work queue's condition for ``query`` (``office_code``: every inquiry the caller
    may see is of that office); a text index must be installed."""
    if not _text_filter:
        raise RuntimeError("no text index is installed (app.search.index.install)")
    return _text_filter[0](session, query, office_code)
