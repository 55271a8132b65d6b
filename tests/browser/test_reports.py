"""A manager opens the sales-by-day report in a real browser and finds its chart."""

import datetime as dt
import re

from playwright.sync_api import expect

from salesapp.localization import PLAIN
from tests.browser.conftest import shot
from tests.browser.test_selling import sign_in
from tests.reports.conftest import Books


def test_a_manager_sees_the_sales_by_day_chart(
    page, url_for, make_tenant, make_user, app_engine, owner_engine
):
    tenant = make_tenant("pooled")
    manager, password = make_user(tenant, ("Managers",))
    books = Books(tenant, app_engine(tenant.store_name, pool_size=2), owner_engine)
    tea = books.add_product("TEA", "4.50", tax="16", stock="10")
    books.sell([(tea, "2")])  # 9.00 + 1.44 tax
    today = dt.datetime.now(dt.UTC).date().isoformat()

    sign_in(page, url_for, tenant, manager, password)
    page.click("nav.menu >> text=Reports")
    page.click("text=Sales by day")
    expect(page.locator("h1")).to_have_text("Sales by day")
    chart = page.locator('svg[role=img][aria-label="Sales by day chart"]')
    expect(chart).to_be_visible()
    bars = chart.locator("rect.bar")
    expect(bars).to_have_count(30)  # the last 30 days, today last
    today_bar = bars.nth(29)
    expect(today_bar).to_have_attribute("data-value", "10.44")
    expect(today_bar).to_have_attribute("data-label", PLAIN.day(dt.datetime.now(dt.UTC).date()))
    box = today_bar.bounding_box()
    assert box is not None and box["height"] > 50  # the only sale: the tallest bar
    expect(page.locator("[data-testid=totals] [data-col=net]")).to_have_text("10.44")
    csv_link = page.locator("[data-testid=csv]")
    month_ago = (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=29)).isoformat()
    expect(csv_link).to_have_attribute(
        "href", re.compile(rf"/reports/sales-by-day\.csv\?from={month_ago}&to={today}$")
    )
    shot(page, "06-sales-by-day-report")
