"""A Manager's approval, on the spot, of a discount over the seller's cap (issue 17).

At the till, a sale whose discounts are more than the signed-in seller's cap
(salesapp.sales.services: a cap per role, a workspace setting) is refused with the
choice to have it approved: someone whose own cap covers it (a Manager or an Admin)
picks their name and types their PIN on the till. The approval is kept with the cart
(``pos_carts.approved_by``, ``approved_percent``) for discounts up to the percentage
approved: raising a discount afterwards needs a new approval, lowering it does not.
The completed sale records the approver (``sales.discount_approved_by``) and the audit
trail has ``sale.discount_approved``. PIN checks are throttled like sign-ins
(salesapp.accounts.pins), so a till cannot be used to guess a Manager's PIN.
"""

from __future__ import annotations

from decimal import Decimal

from ..accounts.models import User
from ..accounts.pins import APPROVERS, PinService
from ..accounts.places import staff_for
from ..accounts.services import user_by_id
from ..http_helpers import client_address
from .cart import Cart
from .services import DiscountOverCap, SaleError, SaleService


def approvers(request, location_id, register_id) -> list[User]:
    """Who may approve at this till: active Managers and Admins who may sell here and
    have a PIN, other than the seller."""
    pins = request.find_service(PinService)
    users = [
        u
        for u in staff_for(request.dbsession, location_id, register_id)
        if u.role_names & APPROVERS and u.id != request.user.id
    ]
    with_pins = pins.users_with_pins(u.id for u in users)
    return [u for u in users if u.id in with_pins]


def approval_of(request, cart: Cart) -> tuple[User | None, Decimal | None]:
    """The approver kept with the cart (still active) and the percentage they approved."""
    if cart.approval is None:
        return None, None
    user_id, percent = cart.approval
    user = user_by_id(request.dbsession, request.tenant.id, user_id)
    if user is None or not user.is_active:
        return None, None
    return user, percent


def approve(request, cart: Cart, approver_id, pin: str) -> str | None:
    """Check the approver's PIN and cap against the cart as it is and keep the approval
    with the cart; None when approved, else the message to show. PinThrottled (a
    SignInThrottled) propagates: too many wrong PINs for that person."""
    sales = request.find_service(SaleService)
    user = request.find_service(PinService).approve(approver_id, pin, client_address(request))
    if user is None:
        return "That PIN is not right, or that person may not approve discounts. Try again."
    try:
        quote = sales.quote(cart.lines, cart_discount=cart.discount, approver=user)
    except DiscountOverCap as exc:
        cap, needed = request.local.number(sales.cap_for(user)), request.local.number(exc.needed)
        return (
            f"{user.full_name or user.username} may discount at most {cap}%: this sale "
            f"takes {needed}% off. Lower the discount or ask someone else."
        )
    except SaleError as exc:
        return "; ".join(exc.errors.values())
    if quote.approved_by is None:
        return "No approval is needed: the discount is within your cap."
    cart.approval = (user.id, quote.discount_percent)
    cart.save()
    return None
