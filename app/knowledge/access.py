"""Who may read and change templates and articles.

Office scope works as for inquiries: a caller of an office sees that office's templates
and articles and those for all offices (``office_code`` null); compliance and admin see
every office's. Changing an office's templates or articles takes a coordinator or
supervisor of that office; only supervisors (and, for templates, admins) change the ones
for all offices. Something the caller may not see is a 404, as for inquiries.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, or_
from sqlmodel import col

from app.core.errors import Forbidden
from app.core.security import Principal, Role

TEMPLATE_MANAGERS = frozenset({Role.coordinator, Role.supervisor, Role.admin})
ARTICLE_WRITERS = frozenset({Role.coordinator, Role.supervisor})
# Everyone who works with inquiries reads templates and published articles.
READERS = frozenset(
    {
        Role.officer,
        Role.coordinator,
        Role.supervisor,
        Role.head,
        Role.unit,
        Role.compliance,
        Role.admin,
    }
)


def ensure_reader(principal: Principal) -> None:
    """Refuse callers who read no templates or articles (integrations)."""
    if not principal.has_any(READERS):
        raise Forbidden("your roles do not include reading templates and articles")


def may_read(principal: Principal, office_code: str | None) -> bool:
    """Whether the caller may read templates or articles of ``office_code`` (None: for
    all offices)."""
    return office_code is None or principal.may_read_office(office_code)


def readable(principal: Principal, office_column: Any) -> ColumnElement[bool] | None:
    """A SQL condition on ``office_column`` selecting what the caller may read (None:
    everything)."""
    if principal.cross_office:
        return None
    column = col(office_column)
    if principal.office is None:
        return column.is_(None)
    return or_(column.is_(None), column == principal.office)


def may_change(principal: Principal, office_code: str | None, *, admins: bool) -> bool:
    """Whether the caller changes templates or articles of ``office_code``."""
    if admins and Role.admin in principal.roles:
        return True
    if office_code is None:
        return Role.supervisor in principal.roles
    writers = principal.has_any({Role.coordinator, Role.supervisor})
    return writers and principal.office == office_code


def ensure_may_change(principal: Principal, office_code: str | None, *, admins: bool) -> None:
    """403 unless :func:`may_change`."""
    if may_change(principal, office_code, admins=admins):
        return
    if office_code is None:
        who = "supervisors and admins" if admins else "supervisors"
        raise Forbidden(f"only {who} change what is for all offices")
    raise Forbidden("you may change only your own office's templates and articles")
