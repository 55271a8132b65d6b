"""Purchasing pages: suppliers, purchase orders (draft -> sent -> received), and goods in
(a list of scanned lines posted as one goods receipt).

A refused form answers 400 and the commit veto rolls the request back: a bad line of a
receipt leaves nothing saved.
"""

from __future__ import annotations

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.view import view_config, view_defaults

from ..formatting import plural
from ..forms import Form, FormError, parse_uuid
from ..pages import PAGE_SIZE, field_errors, labelled, pager, read_page, refuse
from .lines import DraftLine, add_scanned, checked_lines, posted_lines
from .models import ORDER_STATUS_LABELS, OrderStatus
from .services import (
    CAN_CANCEL,
    CAN_EDIT,
    CAN_RECEIVE,
    CAN_SEND,
    SUPPLIER_FIELDS,
    PurchasingService,
    read_supplier_fields,
)

SUPPLIER_LABELS = {
    "name": "Name",
    "contact": "Contact",
    "phone": "Phone",
    "email": "E-mail",
    "notes": "Notes",
}


def _found(row):
    if row is None:
        raise HTTPNotFound()
    return row


# -- suppliers ---------------------------------------------------------------------
@view_config(
    route_name="suppliers.list", renderer="purchasing/suppliers.jinja2", permission="stock.view"
)
def supplier_list(request):
    form = Form(request.GET)
    q = form.text("q", max_length=100)
    page = read_page(form)
    if form.errors:
        q, page = "", 1
    purchasing = request.find_service(PurchasingService)
    values = {
        "suppliers": purchasing.suppliers(q, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE),
        "q": q,
        "pager": pager(request, "suppliers.list", page, purchasing.count_suppliers(q), q=q),
        "errors": labelled(form.errors, {"q": "Search", "page": "Page"}),
    }
    return refuse(request, values) if form.errors else values


@view_defaults(renderer="purchasing/supplier_form.jinja2", permission="stock.edit")
class SupplierForm:
    """The new and edit pages of a supplier."""

    def __init__(self, request):
        self.request = request
        self.purchasing = request.find_service(PurchasingService)
        self.supplier = None
        if request.matched_route.name == "suppliers.edit":
            self.supplier = _found(self.purchasing.supplier(request.matchdict["id"]))

    def _page(self, values, errors=None):
        return {"supplier": self.supplier, "values": values, "errors": errors or {}}

    @view_config(route_name="suppliers.new", request_method="GET")
    @view_config(route_name="suppliers.edit", request_method="GET")
    def get(self):
        values = (
            {name: getattr(self.supplier, name) for name in SUPPLIER_FIELDS}
            if self.supplier
            else {}
        )
        return self._page(values)

    @view_config(route_name="suppliers.new", request_method="POST")
    @view_config(route_name="suppliers.edit", request_method="POST")
    def post(self):
        request = self.request
        form = Form(request.POST, local=request.local)
        fields = read_supplier_fields(form)
        posted = {name: request.POST.get(name, "") for name in SUPPLIER_FIELDS}
        if form.errors:
            return refuse(request, self._page(posted, labelled(form.errors, SUPPLIER_LABELS)))
        try:
            supplier = self.purchasing.save_supplier(self.supplier, fields)
        except FormError as exc:
            return refuse(request, self._page(posted, labelled(exc.errors, SUPPLIER_LABELS)))
        request.session.flash(f"Supplier {supplier.name} was saved.")
        return HTTPSeeOther(location=request.route_url("suppliers.list"))


# -- purchase orders ---------------------------------------------------------------
@view_config(route_name="orders.list", renderer="purchasing/orders.jinja2", permission="stock.view")
def order_list(request):
    form = Form(request.GET)
    status = form.choice("status", [s.value for s in OrderStatus], required=False)
    supplier_id = form.uuid("supplier", required=False)
    page = read_page(form)
    if form.errors:
        status, supplier_id, page = None, None, 1
    purchasing = request.find_service(PurchasingService)
    filters = {"status": status, "supplier_id": supplier_id}
    values = {
        "orders": purchasing.orders(**filters, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE),
        "suppliers": purchasing.suppliers(),
        "filters": {"status": status or "", "supplier": str(supplier_id or "")},
        "labels": ORDER_STATUS_LABELS,
        "pager": pager(
            request,
            "orders.list",
            page,
            purchasing.count_orders(**filters),
            status=status,
            supplier=supplier_id and str(supplier_id),
        ),
        "errors": labelled(
            form.errors, {"status": "Status", "supplier": "Supplier", "page": "Page"}
        ),
    }
    return refuse(request, values) if form.errors else values


class LineEditor:
    """What the goods-in page and the order editor share: the heading (supplier,
    location), the list of lines, and the scan field that adds to it."""

    renderer = ""

    def __init__(self, request):
        self.request = request
        self.purchasing = request.find_service(PurchasingService)
        self.inventory = self.purchasing.inventory

    def _heading(self) -> dict:
        """supplier_id, location_id (the default location in a one-location workspace)
        and any errors reading them."""
        request = self.request
        form = Form(request.POST, local=request.local)
        heading = {"supplier_id": form.uuid("supplier_id", required=False)}
        if request.tenant.multi_location:
            heading["location_id"] = form.uuid("location_id")
        else:
            heading["location_id"] = self.inventory.default_location().id
        return heading

    def page(self, values: dict, lines: list[DraftLine], errors=None, status=200) -> dict:
        self.request.response.status_int = status
        return {
            "values": values,
            "lines": lines,
            "errors": errors or {},
            "suppliers": self.purchasing.suppliers(),
            "locations": self.inventory.locations(),
            "multi": self.request.tenant.multi_location,
            "labels": ORDER_STATUS_LABELS,
        }


@view_defaults(
    route_name="stock.goods_in", renderer="purchasing/goods_in.jinja2", permission="stock.edit"
)
class GoodsIn(LineEditor):
    """Receive goods: scan or type each product into the list (Enter adds it), set
    quantities and costs, post the whole list as one goods receipt."""

    def _order(self, order_id):
        if not order_id:
            return None
        order = self.purchasing.order(order_id)
        if order is None or order.status not in CAN_RECEIVE:
            return None
        return order

    def _values(self, order) -> dict:
        values = dict(self.request.POST or self.request.GET)
        if order is not None:
            values.update(
                order_id=str(order.id),
                supplier_id=str(order.supplier_id),
                location_id=str(order.location_id),
            )
        return values

    def render(self, order, lines, errors=None, status=200):
        values = self.page(self._values(order), lines, errors, status)
        values["order"] = order
        values["order_lines"] = self.purchasing.order_lines(order) if order else []
        return values

    @view_config(request_method="GET")
    def get(self):
        order = self._order(parse_uuid(self.request.GET.get("order")))
        lines = []
        if order is not None:  # start from what is still to come
            local = self.request.local
            lines = [
                DraftLine(
                    row.product, local.entry(row.outstanding), local.entry_money(row.line.unit_cost)
                )
                for row in self.purchasing.order_lines(order)
                if row.outstanding > 0
            ]
        return self.render(order, lines)

    @view_config(request_method="POST")
    def post(self):
        request = self.request
        order = self._order(parse_uuid(request.POST.get("order_id")))
        lines = posted_lines(request)
        action = request.POST.get("action", "add")
        if action != "post":  # add (Enter in the scan field), or remove a line
            costs = {}
            if order is not None:
                costs = {
                    row.product.id: row.line.unit_cost for row in self.purchasing.order_lines(order)
                }
            errors = add_scanned(request, lines, lambda p: costs.get(p.id, p.cost))
            return self.render(order, lines, errors, 400 if errors else 200)
        heading = self._heading()
        try:
            checked = checked_lines(request, lines)
            receipt = self.purchasing.receive(
                location_id=heading["location_id"],
                supplier_id=heading["supplier_id"],
                order=order,
                reference=Form(request.POST).text("reference", max_length=100),
                lines=checked,
            )
        except FormError as exc:
            return self.render(order, lines, field_errors(exc), 400)
        request.session.flash(
            f"Goods receipt {receipt.number} posted: {plural(len(checked), 'line')} received."
        )
        return HTTPSeeOther(location=request.route_url("stock.receipt", id=receipt.id))


@view_config(
    route_name="stock.receipts", renderer="purchasing/receipts.jinja2", permission="stock.view"
)
def receipt_list(request):
    form = Form(request.GET)
    page = read_page(form)
    if form.errors:
        page = 1
    purchasing = request.find_service(PurchasingService)
    return {
        "receipts": purchasing.receipts(limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE),
        "pager": pager(request, "stock.receipts", page, purchasing.count_receipts()),
    }


@view_config(
    route_name="stock.receipt", renderer="purchasing/receipt.jinja2", permission="stock.view"
)
def receipt_detail(request):
    purchasing = request.find_service(PurchasingService)
    receipt = _found(purchasing.receipt(request.matchdict["id"]))
    return {
        "receipt": receipt,
        "lines": purchasing.receipt_lines(receipt),
        "supplier": purchasing.supplier(receipt.supplier_id) if receipt.supplier_id else None,
        "order": purchasing.order(receipt.purchase_order_id) if receipt.purchase_order_id else None,
        "location": purchasing.inventory.location(receipt.location_id),
    }


@view_defaults(renderer="purchasing/order_form.jinja2", permission="stock.edit")
class OrderEditor(LineEditor):
    """A new purchase order, or a draft's changes: supplier, location and lines."""

    def __init__(self, request):
        super().__init__(request)
        self.order = None
        if request.matched_route.name == "orders.edit":
            self.order = _found(self.purchasing.order(request.matchdict["id"]))
            if self.order.status not in CAN_EDIT:
                raise HTTPNotFound()

    def render(self, values, lines, errors=None, status=200):
        result = self.page(values, lines, errors, status)
        result["order"] = self.order
        return result

    @view_config(route_name="orders.new", request_method="GET")
    @view_config(route_name="orders.edit", request_method="GET")
    def get(self):
        order, lines, values = self.order, [], dict(self.request.GET)
        if order is not None:
            local = self.request.local
            values = {
                "supplier_id": str(order.supplier_id),
                "location_id": str(order.location_id),
                "notes": order.notes,
            }
            lines = [
                DraftLine(
                    row.product,
                    local.entry(row.line.quantity),
                    local.entry_money(row.line.unit_cost),
                )
                for row in self.purchasing.order_lines(order)
            ]
        return self.render(values, lines)

    @view_config(route_name="orders.new", request_method="POST")
    @view_config(route_name="orders.edit", request_method="POST")
    def post(self):
        request = self.request
        lines = posted_lines(request)
        values = dict(request.POST)
        if request.POST.get("action", "add") != "save":
            errors = add_scanned(request, lines)
            return self.render(values, lines, errors, 400 if errors else 200)
        heading = self._heading()
        form = Form(request.POST)
        notes = form.text("notes", max_length=2000)
        try:
            form.check()
            if heading["supplier_id"] is None:
                raise FormError({"supplier_id": "choose a supplier"})
            order = self.purchasing.save_order(
                self.order,
                supplier_id=heading["supplier_id"],
                location_id=heading["location_id"],
                notes=notes,
                lines=checked_lines(request, lines),
            )
        except FormError as exc:
            return self.render(values, lines, field_errors(exc), 400)
        request.session.flash(f"Purchase order {order.number} was saved as a draft.")
        return HTTPSeeOther(location=request.route_url("orders.detail", id=order.id))


@view_defaults(
    route_name="orders.detail", renderer="purchasing/order.jinja2", permission="stock.view"
)
class OrderDetail:
    """An order, its lines with what has come in, its receipts; send or cancel it."""

    def __init__(self, request):
        self.request = request
        self.purchasing = request.find_service(PurchasingService)
        self.order = _found(self.purchasing.order(request.matchdict["id"]))

    def page(self, errors=None):
        order = self.order
        return {
            "order": order,
            "lines": self.purchasing.order_lines(order),
            "supplier": self.purchasing.supplier(order.supplier_id),
            "location": self.purchasing.inventory.location(order.location_id),
            "labels": ORDER_STATUS_LABELS,
            "can": {
                "edit": order.status in CAN_EDIT,
                "send": order.status in CAN_SEND,
                "cancel": order.status in CAN_CANCEL,
                "receive": order.status in CAN_RECEIVE,
            },
            "errors": errors or {},
        }

    @view_config(request_method="GET")
    def get(self):
        return self.page()

    @view_config(request_method="POST", permission="stock.edit")
    def post(self):
        request = self.request
        action = request.POST.get("action")
        try:
            if action == "send":
                self.purchasing.send(self.order)
                message = f"Purchase order {self.order.number} is marked as sent."
            elif action == "cancel":
                self.purchasing.cancel(self.order)
                message = f"Purchase order {self.order.number} was cancelled."
            else:
                return refuse(request, self.page({"order": "choose Send or Cancel"}))
        except FormError as exc:
            return refuse(request, self.page(field_errors(exc)))
        request.session.flash(message)
        return HTTPSeeOther(location=request.route_url("orders.detail", id=self.order.id))
