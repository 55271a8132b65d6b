"""The workspace's logo: an Admin uploads (PNG, JPEG or WebP, told by its bytes, at most
256 KiB), replaces and removes it on the settings page; every signed-in user of the
workspace gets it at /settings/logo (receipts show it), with its type and an ETag; 404
when there is none. Anything else is refused with a message and nothing is saved."""

import struct
import zlib

import pytest
from webtest import Upload

from salesapp.preferences.models import MAX_LOGO_BYTES
from tests.accounts.support import form_for, sql


def png(width: int = 40, height: int = 20, rgb=(31, 111, 235), padding: int = 0) -> bytes:
    """A real PNG image of one colour (``padding`` bytes of a text chunk make it larger)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    extra = chunk(b"tEXt", b"Comment\x00" + b"x" * padding) if padding else b""
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + extra
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


#: the first bytes of a JPEG and of a WebP file (the check reads no further)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 \x18\x00\x00\x00" + b"\x00" * 64


def logo_rows(owner_engine, tenant) -> list:
    return sql(owner_engine, tenant, "select media_type, content from workspace_logos")


def upload(admin, content: bytes, filename="logo.png", media_type="image/png", status=303):
    form = form_for(admin.get("/settings"), "/settings/logo", testid="logo-upload")
    form["logo"] = Upload(filename, content, media_type)
    return form.submit(status=status)


@pytest.mark.parametrize("placement", ["pooled", "dedicated"])
def test_upload_serve_replace_remove(staff, owner_engine, placement):
    tenant, clients = staff(placement, roles=("Admin", "Cashiers"))
    admin, cashier = clients["Admin"], clients["Cashiers"]
    page = admin.get("/settings")
    assert page.html.select_one("[data-testid=no-logo]") is not None
    cashier.get("/settings/logo", status=404)

    image = png()
    res = upload(admin, image).follow()
    assert "Logo saved" in res.text
    preview = res.html.select_one("[data-testid=logo-preview]")
    assert preview["src"].split("?")[0].endswith("/settings/logo")
    assert [tuple(row) for row in logo_rows(owner_engine, tenant)] == [("image/png", image)]

    # any signed-in user of the workspace gets it: receipts print it
    served = cashier.get("/settings/logo", status=200)
    assert served.content_type == "image/png"
    assert served.body == image
    assert served.headers["ETag"]
    assert served.headers["Last-Modified"]
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["Cache-Control"] == "private, no-cache"
    again = cashier.get(
        "/settings/logo", headers={"If-None-Match": served.headers["ETag"]}, status=304
    )
    assert again.body == b""

    # replaced: the new type, a new ETag
    upload(admin, JPEG, filename="logo.jpg", media_type="image/jpeg")
    replaced = cashier.get("/settings/logo")
    assert replaced.content_type == "image/jpeg"
    assert replaced.body == JPEG
    assert replaced.headers["ETag"] != served.headers["ETag"]
    upload(admin, WEBP, filename="logo.webp", media_type="image/webp")
    assert cashier.get("/settings/logo").content_type == "image/webp"

    # removed
    form = form_for(admin.get("/settings"), "/settings/logo", testid="logo-remove")
    assert "Logo removed." in form.submit(status=303).follow().text
    assert logo_rows(owner_engine, tenant) == []
    cashier.get("/settings/logo", status=404)
    assert admin.get("/settings").html.select_one("[data-testid=no-logo]") is not None

    # each change is in the audit trail, with what it was and what it became
    events = sql(
        owner_engine,
        tenant,
        "select detail from audit_events where target = 'logo' order by at, id",
    )
    details = [row.detail["logo"] for row in events]
    assert details[0] == [None, f"image/png, {len(image):,} bytes"]
    assert details[1][1].startswith("image/jpeg")
    assert details[-1] == [f"image/webp, {len(WEBP):,} bytes", None]


@pytest.mark.parametrize(
    ("content", "filename", "media_type", "message"),
    [
        (b"hello, I am text", "logo.png", "image/png", "is not a PNG, JPEG or WebP image"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"/>', "logo.svg", "image/svg+xml", "not a PNG"),
        (b"GIF89a" + b"\x00" * 40, "logo.gif", "image/gif", "not a PNG, JPEG or WebP"),
        (b"%PDF-1.7", "logo.jpg", "image/jpeg", "not a PNG"),
        (b"", "logo.png", "image/png", "is empty"),
        (png(padding=MAX_LOGO_BYTES), "big.png", "image/png", "is too large"),
    ],
    ids=["text", "svg", "gif", "pdf-named-jpg", "empty", "too-large"],
)
def test_what_is_not_a_logo_is_refused_and_nothing_is_saved(
    staff, owner_engine, content, filename, media_type, message
):
    tenant, clients = staff(roles=("Admin",))
    admin = clients["Admin"]
    kept = png(rgb=(200, 30, 30))
    upload(admin, kept)
    res = upload(admin, content, filename=filename, media_type=media_type, status=400)
    error = res.html.select_one("#logo-error").text
    assert message in error
    assert "upload it again" in error or "choose" in error.lower()
    assert [tuple(row) for row in logo_rows(owner_engine, tenant)] == [("image/png", kept)]


def test_a_logo_of_exactly_the_limit_is_taken(staff, owner_engine):
    tenant, clients = staff(roles=("Admin",))
    image = png()
    image = png(padding=MAX_LOGO_BYTES - len(image) - 20)  # a tEXt chunk: 20 bytes more
    assert len(image) == MAX_LOGO_BYTES
    upload(clients["Admin"], image)
    assert len(logo_rows(owner_engine, tenant)[0].content) == MAX_LOGO_BYTES
    res = upload(clients["Admin"], image + b"\x00", status=400)
    assert f"{MAX_LOGO_BYTES + 1:,} bytes" in res.html.select_one("#logo-error").text


def test_no_file_chosen(staff):
    _, clients = staff(roles=("Admin",))
    admin = clients["Admin"]
    token = admin.get("/settings").forms[0]["csrf_token"].value
    res = admin.post("/settings/logo", {"csrf_token": token}, status=400)
    assert "Choose an image file" in res.html.select_one("#logo-error").text


def test_only_an_admin_changes_the_logo(staff, owner_engine):
    tenant, clients = staff(roles=("Admin", "Managers", "Cashiers"))
    upload(clients["Admin"], png())
    for role in ("Managers", "Cashiers"):
        client = clients[role]
        token = client.get("/").forms[0]["csrf_token"].value
        client.post(
            "/settings/logo",
            {"csrf_token": token},
            upload_files=[("logo", "x.png", png(rgb=(0, 0, 0)))],
            status=403,
        )
        client.post("/settings/logo", {"csrf_token": token, "action": "remove"}, status=403)
        assert client.get("/settings/logo").body == png()
    assert logo_rows(owner_engine, tenant)[0].content == png()


def test_the_logo_is_the_workspaces_own(staff):
    _, first = staff(roles=("Admin",))
    _, second = staff(roles=("Admin",))
    upload(first["Admin"], png())
    second["Admin"].get("/settings/logo", status=404)
    assert first["Admin"].get("/settings/logo").body == png()


def test_signed_out_gets_no_logo(staff, client_for):
    tenant, clients = staff(roles=("Admin",))
    upload(clients["Admin"], png())
    res = client_for(tenant).get("/settings/logo", expect_errors=True)
    assert res.status_int in (302, 303, 401, 403)
    assert res.body != png()
