"""A manager in Nairobi reads the reports in Nairobi's time: a shift closed at 07:07 UTC
shows as 10:07, a sale a minute after Nairobi's midnight is today's bar (in UTC it is
still yesterday), on a laptop (1366x768) and a phone (390x844), with screenshots."""

import datetime as dt

from playwright.sync_api import expect

from salesapp.localization import Local
from tests.browser.conftest import shot
from tests.browser.test_selling import sign_in
from tests.reports.conftest import Ledger

NAIROBI = Local("Africa/Nairobi", "en_KE", "KES")
VIEWPORTS = {"laptop": (1366, 768), "phone": (390, 844)}


def test_a_nairobi_manager_sees_nairobi_times(
    page, url_for, make_tenant, make_user, app_engine, owner_engine
):
    tenant = make_tenant("pooled")
    manager, password = make_user(tenant, ("Managers",))
    ledger = Ledger(tenant, app_engine(tenant.store_name, pool_size=2), owner_engine)
    ledger.settle("Africa/Nairobi", locale="en_KE", currency="KES")
    today = NAIROBI.today()
    start, _ = NAIROBI.day_range(today)
    # 00:01 today in Nairobi, 21:01 yesterday in UTC: 1,000.00 + 160.00 tax
    ledger.sale(start + dt.timedelta(minutes=1), [("Standard", "16", "1000.00", "160.00")])
    yesterday = today - dt.timedelta(days=1)
    closed = dt.datetime.combine(yesterday, dt.time(7, 7), dt.UTC)  # 10:07 in Nairobi
    ledger.shift("Till 1", closed - dt.timedelta(hours=8), closed)

    sign_in(page, url_for, tenant, manager, password)
    for name, (width, height) in VIEWPORTS.items():
        page.set_viewport_size({"width": width, "height": height})
        page.goto(url_for(tenant, "/reports/shifts"))
        expect(page.locator("h1")).to_have_text("Shifts")
        cell = page.locator("[data-testid=report-table] tbody [data-col=closed]")
        expect(cell).to_have_text(NAIROBI.when(closed))
        assert "10:07" in cell.inner_text()
        expect(page.locator("[data-testid=zone]")).to_have_text("Africa/Nairobi time")
        shot(page, f"reports-local-shifts-{name}")

        page.goto(url_for(tenant, "/reports/sales-by-day"))
        bars = page.locator('svg[aria-label="Sales by day chart"] rect.bar')
        expect(bars).to_have_count(30)
        expect(bars.nth(29)).to_have_attribute("data-label", NAIROBI.day(today))
        expect(bars.nth(29)).to_have_attribute("data-value", "1160.00")
        expect(bars.nth(28)).to_have_attribute("data-value", "0.00")
        expect(page.locator("[data-testid=totals] [data-col=net]")).to_have_text("1,160.00")
        expect(page.locator("input#to")).to_have_value(today.isoformat())
        wide = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
        assert not wide, f"the sales by day page scrolls sideways at {width}x{height}"
        shot(page, f"reports-local-sales-by-day-{name}")
