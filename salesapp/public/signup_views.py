"""The sign-up pages on the public site (salesapp.public.signups says how a sign-up
goes). Registered by salesapp.public's includeme only when ``salesapp.signup_enabled``:
off, none of these routes exists and every sign-up address is a 404."""

from __future__ import annotations

from pyramid.httpexceptions import HTTPFound, HTTPSeeOther

from ..http_helpers import client_address
from ..mail import compose
from .models import SignupStatus
from .signups import EXPIRED_LINK, UNKNOWN_LINK, USED_LINK, SignupError, SignupService
from .views import workspace_url

#: seconds between reloads of the status page while the workspace is being made
STATUS_REFRESH_SECONDS = 2


def _service(request) -> SignupService:
    return request.registry.signups


def signup_form(request):
    """GET: the empty form."""
    return _form_page(request)


def _form_page(request, errors=None, values=None, error=None):
    return {
        "base_domain": request.site.base_domain,
        "values": values or {},
        "errors": errors or {},
        "error": error,
        "trial_days": request.registry.salesapp_settings.trial_days,
    }


def signup_submit(request):
    """POST: keep the sign-up and e-mail its link (sent only once the request commits:
    the row is committed before, in its own transaction)."""
    params = request.POST
    values = {
        name: (params.get(name) or "").strip() for name in ("business_name", "subdomain", "email")
    }
    try:
        _, token = _service(request).submit(
            business_name=values["business_name"],
            subdomain=values["subdomain"],
            email=values["email"],
            password=params.get("password") or "",
            address=client_address(request),
            base_domain=request.site.base_domain,
        )
    except SignupError as exc:
        request.response.status_int = exc.status
        errors = {exc.field: str(exc)} if exc.field else {}
        return _form_page(request, errors, values, None if exc.field else str(exc))
    email = values["email"].lower()
    link = request.route_url("signup.verify", token=token)
    request.mailer.send(
        compose(
            f"Confirm your e-mail to create {values['subdomain'].lower()}.{request.site.base_domain}",
            email,
            f"Hello,\n\nSomeone (we hope you) asked for a salesapp workspace for "
            f"{values['business_name']} at {values['subdomain'].lower()}.{request.site.base_domain}.\n\n"
            f"Follow this link within 24 hours to confirm your e-mail and create it:\n\n{link}\n\n"
            "If it was not you, ignore this e-mail: nothing is created without the link.\n",
        )
    )
    request.session["signup_sent_to"] = email
    return HTTPSeeOther(request.route_url("signup.sent"))


def signup_sent(request):
    """After the form: where to look for the link."""
    return {"email": request.session.get("signup_sent_to")}


def subdomain_check(request):
    """The subdomain check the form runs as one types: JSON ``{subdomain, status,
    message}``, status one of available, taken, reserved, malformed."""
    answer = _service(request).availability(
        request.params.get("subdomain"), request.site.base_domain
    )
    return {"subdomain": answer.subdomain, "status": answer.status, "message": answer.message}


def verify_page(request):
    """GET the link: a button to confirm (a mail scanner that fetches links confirms
    nothing), or why the link does not work."""
    token = request.matchdict["token"]
    signup = _service(request).find(token)
    if signup is None or signup.status != SignupStatus.PENDING or signup.expired:
        return _refused(request, token, signup)
    return {"signup": signup, "base_domain": request.site.base_domain, "error": None}


def _refused(request, token, signup):
    """The link cannot be used: unknown (404), used (409) or expired (410)."""
    if signup is None:
        request.response.status_int = 404
        message = UNKNOWN_LINK
    elif signup.status != SignupStatus.PENDING:
        request.response.status_int = 409
        message = USED_LINK
    else:
        request.response.status_int = 410
        message = EXPIRED_LINK
    status_url = request.route_url("signup.status", token=token) if signup is not None else None
    request.override_renderer = "public/signup_refused.jinja2"
    return {"message": message, "status_url": status_url}


def verify_submit(request):
    """POST the confirmation: the sign-up turns verified; its workspace is made next."""
    token = request.matchdict["token"]
    try:
        _service(request).verify(token)
    except SignupError as exc:
        signup = _service(request).find(token)
        if signup is not None and signup.status == SignupStatus.FAILED:
            return HTTPSeeOther(request.route_url("signup.status", token=token))
        request.override_renderer = "public/signup_refused.jinja2"
        request.response.status_int = 409 if signup is not None else 404
        return {"message": str(exc), "status_url": None}
    return HTTPSeeOther(request.route_url("signup.status", token=token))


def status_page(request):
    """Where the sign-up is: being made (the page reloads itself), ready (a link to the
    workspace's sign-in) or failed (why, and a link to sign up again)."""
    token = request.matchdict["token"]
    signup = _service(request).find(token)
    if signup is None:
        return _refused(request, token, None)
    if signup.status == SignupStatus.PENDING:
        return HTTPFound(request.route_url("signup.verify", token=token))
    return {
        "signup": signup,
        "base_domain": request.site.base_domain,
        "sign_in_url": workspace_url(request, signup.slug),
        "refresh": STATUS_REFRESH_SECONDS if signup.status == SignupStatus.VERIFIED else None,
    }


#: (route, pattern, view, renderer, request method)
VIEWS = (
    ("signup", "/signup", signup_form, "public/signup.jinja2", "GET"),
    ("signup", "/signup", signup_submit, "public/signup.jinja2", "POST"),
    ("signup.sent", "/signup/sent", signup_sent, "public/signup_sent.jinja2", "GET"),
    ("signup.check", "/signup/check", subdomain_check, "json", "GET"),
    ("signup.verify", "/signup/verify/{token}", verify_page, "public/signup_verify.jinja2", "GET"),
    (
        "signup.verify",
        "/signup/verify/{token}",
        verify_submit,
        "public/signup_verify.jinja2",
        "POST",
    ),
    ("signup.status", "/signup/status/{token}", status_page, "public/signup_status.jinja2", "GET"),
)


def add_views(config) -> None:
    """The sign-up routes (on the public site only) and their views."""
    added = set()
    for route, pattern, view, renderer, method in VIEWS:
        if route not in added:
            config.add_route(route, pattern, site="public")
            added.add(route)
        config.add_view(view, route_name=route, renderer=renderer, request_method=method)
