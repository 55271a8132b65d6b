"""Sign-in, a complete sale with two payment methods and its receipt, and a Cashier's
forbidden page, in a real browser."""

import re

from playwright.sync_api import expect

from tests.browser.conftest import shot


def sign_in(page, url_for, tenant, username, password):
    page.goto(url_for(tenant, "/login"))
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button:has-text('Sign in')")


def test_sign_in_shows_the_workspace(page, url_for, tenant_a):
    page.goto(url_for(tenant_a, "/"))
    expect(page).to_have_url(re.compile(r"/login$"))
    shot(page, "01-sign-in")
    sign_in(page, url_for, tenant_a, "admin", "wrong password")
    expect(page.locator("[role=alert]")).to_have_text("Wrong username or password.")
    sign_in(page, url_for, tenant_a, "admin", tenant_a.admin_password)
    expect(page.locator("[data-testid=tenant]")).to_have_text(tenant_a.slug)
    shot(page, "02-home")


def test_a_complete_sale_with_two_payment_methods_and_its_receipt(
    page, url_for, make_tenant, make_user
):
    tenant = make_tenant("dedicated")
    manager, manager_pw = make_user(tenant, ("Managers",))
    cashier, cashier_pw = make_user(tenant, ("Cashiers",))

    sign_in(page, url_for, tenant, manager, manager_pw)
    # a new workspace has Zero-rated and Exempt; the Manager adds its standard rate
    page.goto(url_for(tenant, "/taxes"))
    page.fill("input[name=name]", "Standard")
    page.fill("input[name=rate]", "16")
    page.click("[data-testid=add-rate] button[type=submit]")
    expect(page.locator("main")).to_contain_text("Standard")
    for sku, name, price, tax, barcode in (
        ("TEA", "Green tea 100g", "4.50", "16", "5012345678900"),
        ("CUP", "Cup", "3.00", "0", ""),
    ):
        page.goto(url_for(tenant, "/products/new"))
        page.fill("input[name=sku]", sku)
        page.fill("input[name=name]", name)
        page.fill("input[name=unit_price]", price)
        rate = page.locator("#tax_rate_id option", has_text=f"({tax}%)").first
        page.select_option("#tax_rate_id", value=rate.get_attribute("value"))
        if barcode:
            page.fill("input[name=barcode]", barcode)
        with page.expect_navigation():  # the product is saved before the next page
            page.click("form.stacked button[type=submit], main form button[type=submit] >> nth=-1")
        page.goto(url_for(tenant, "/stock/receive"))
        page.select_option("#product_id", label=f"{name} ({sku})")
        page.fill("#quantity", "20")
        page.click("main button[type=submit]")
        expect(page.locator("[role=status]")).to_contain_text("now has 20 on hand")
    page.click("text=Sign out")

    sign_in(page, url_for, tenant, cashier, cashier_pw)
    page.goto(url_for(tenant, "/pos"))
    page.fill("#code", "5012345678900")  # a scanner types the barcode and Enter
    page.press("#code", "Enter")
    page.fill("#code", "CUP")
    page.press("#code", "Enter")
    page.fill("input[name=qty_0]", "2")
    page.click("button:has-text('Update cart')")
    expect(page.locator("[data-testid=total]")).to_have_text("13.44")  # 9.00 + 1.44 + 3.00
    shot(page, "03-pos-cart")
    page.fill("#pay_card", "10.00")
    page.fill("input[name=ref_card]", "AUTH-1234")
    page.fill("#pay_cash", "5.00")
    page.click("#complete")

    expect(page.locator("[data-testid=receipt-number]")).to_have_text("1")
    expect(page.locator("[data-testid=receipt-change]")).to_have_text("1.56")
    expect(page.locator(".receipt")).to_contain_text("Green tea 100g")
    expect(page.locator(".receipt")).to_contain_text("Card")
    expect(page.locator(".receipt")).to_contain_text("Cash")
    shot(page, "04-receipt")


def test_a_cashier_gets_a_forbidden_page(page, url_for, tenant_a, make_user):
    cashier, password = make_user(tenant_a, ("Cashiers",))
    sign_in(page, url_for, tenant_a, cashier, password)
    expect(page.locator("nav.menu")).not_to_contain_text("Users")
    expect(page.locator("nav.menu")).not_to_contain_text("Stock")
    response = page.goto(url_for(tenant_a, "/users"))
    assert response.status == 403
    expect(page.locator("h1")).to_have_text("Not allowed")
    shot(page, "05-cashier-forbidden")
