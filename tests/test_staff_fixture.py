"""The staff fixture signs in one user per role."""


def test_staff_fixture_signs_in_each_role(staff):
    _tenant, clients = staff()
    for role, client in clients.items():
        page = client.get("/")
        assert page.status_int == 200, role
        assert role in page.text
