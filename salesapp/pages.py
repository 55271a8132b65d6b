"""Helpers the business domains' views share: refusing a form, paging a list."""

from __future__ import annotations

import math

from .forms import Form

PAGE_SIZE = 50


def refuse(request, values: dict, status: int = 400) -> dict:
    """Answer ``status`` with ``values`` rendered. Nothing of the request is committed:
    pyramid_tm's veto (salesapp.db.commit_veto) rolls back every error response."""
    request.response.status_int = status
    return values


def field_errors(exc) -> dict:
    """Field name -> message from a FormError, or from a domain error with a ``field``
    ("form" for a message about the whole form)."""
    errors = getattr(exc, "errors", None)
    if errors is not None:
        return errors
    return {getattr(exc, "field", None) or "form": str(exc)}


def labelled(errors: dict[str, str], labels: dict[str, str]) -> dict[str, str]:
    """Form's messages ("is required") as sentences a person reads ("SKU is required")."""
    return {name: f"{labels.get(name, name)} {message}" for name, message in errors.items()}


def read_page(form: Form) -> int:
    """The ``page`` query parameter: 1 when absent; bad values are form errors."""
    return form.integer("page", minimum=1, maximum=1_000_000, required=False, default=1)


def pager(request, route: str, page: int, total: int, **query) -> dict:
    """Previous and next links of a paged list, keeping its filters."""
    pages = max(1, math.ceil(total / PAGE_SIZE))
    kept = {name: value for name, value in query.items() if value}

    def link(number):
        return request.route_url(route, _query={**kept, "page": number})

    return {
        "page": page,
        "pages": pages,
        "total": total,
        "previous": link(page - 1) if page > 1 else None,
        "next": link(page + 1) if page < pages else None,
    }
