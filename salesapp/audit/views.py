"""The Admin's view of the audit trail, with filters; times and days in the
workspace's zone, people and rows by name (AuditService.named)."""

from __future__ import annotations

from pyramid.view import view_config

from ..forms import Form
from ..pages import PAGE_SIZE, pager, read_page, refuse
from .services import AuditService, day_bounds


@view_config(route_name="audit", renderer="audit/list.jinja2", permission="audit.view")
def audit_list(request):
    form = Form(request.GET, local=request.local)
    action = form.text("action", max_length=60)
    username = form.text("username", max_length=63)
    day_from = form.date("from")
    day_to = form.date("to")
    page = read_page(form)
    if day_from and day_to and day_from > day_to:
        form.error("from", "must not be after 'to'")
    audit = request.find_service(AuditService)
    since, until = day_bounds(request.local, day_from, day_to)
    filters = {"action": action, "username": username, "since": since, "until": until}
    values = {
        "filters": {
            "action": action,
            "username": username,
            "from": day_from or "",
            "to": day_to or "",
        },
        "actions": audit.actions(),
        "errors": form.errors,
        "rows": [],
        "pager": None,
    }
    if form.errors:
        return refuse(request, values)
    events = audit.events(limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE, **filters)
    values["rows"] = audit.named(events, when=request.local.when)
    values["pager"] = pager(
        request,
        "audit",
        page,
        audit.count(**filters),
        action=action,
        username=username,
        **{"from": day_from, "to": day_to},
    )
    return values
