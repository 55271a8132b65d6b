"""The dashboard of Managers and Admins."""

from pyramid.view import view_config

from ..inventory.services import InventoryService
from .services import DashboardService


@view_config(route_name="dashboard", renderer="dashboard/index.jinja2", permission="dashboard.view")
def dashboard(request):
    figures = request.find_service(DashboardService)
    return {
        "today": figures.today(),
        "top": figures.top_products(),
        "low": request.find_service(InventoryService).low_stock(limit=10),
    }
