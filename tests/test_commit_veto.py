"""pyramid_tm's commit veto: error responses roll back unless the view keeps its writes."""

from types import SimpleNamespace

import pytest

from salesapp.db import KEEP_WRITES, commit_veto


@pytest.mark.parametrize(
    ("status", "keep", "vetoed"),
    [
        (200, False, False),
        (303, False, False),
        (400, False, True),
        (403, False, True),
        (429, False, True),
        (500, False, True),
        (400, True, False),
        (429, True, False),
    ],
)
def test_error_responses_roll_back_unless_kept(status, keep, vetoed):
    request = SimpleNamespace(environ={KEEP_WRITES: True} if keep else {})
    assert commit_veto(request, SimpleNamespace(status_int=status)) is vetoed


def test_the_app_uses_the_veto(app):
    assert app.registry.settings["tm.commit_veto"] == "salesapp.db.commit_veto"
