"""One engine per store, and a bounded LRU of dedicated engines."""

import pytest

from salesapp.settings import SettingsError, parse_settings
from salesapp.tenancy.directory import StoreRef
from salesapp.tenancy.stores import StoreEngines, connect_args


def ref(i, kind="dedicated", db=None):
    return StoreRef(i, f"s{i}", kind, f"postgresql://app@localhost:1/{db or f'db{i}'}")


def test_one_engine_per_store_not_per_tenant(settings):
    engines = StoreEngines(settings)
    pooled = ref(1, "pooled")
    assert engines.engine_for_store(pooled) is engines.engine_for_store(ref(1, "pooled"))
    assert engines.counts() == {"pooled": 1, "dedicated": 0}
    engines.dispose()


def test_dedicated_engines_are_bounded_least_recently_used_first(settings):
    assert settings.max_dedicated_engines == 3
    engines = StoreEngines(settings)
    first = engines.engine_for_store(ref(1))
    engines.engine_for_store(ref(2))
    engines.engine_for_store(ref(3))
    assert engines.engine_for_store(ref(1)) is first  # touch 1: 2 is now the oldest
    engines.engine_for_store(ref(4))
    assert engines.counts() == {"pooled": 0, "dedicated": 3}
    assert engines.engine_for_store(ref(1)) is first  # kept
    assert engines.counts()["dedicated"] == 3
    for i in range(5, 50):
        engines.engine_for_store(ref(i))
    assert engines.counts()["dedicated"] == 3
    engines.dispose()


def test_a_changed_store_url_gets_a_new_engine(settings):
    engines = StoreEngines(settings)
    old = engines.engine_for_store(ref(7, db="old"))
    new = engines.engine_for_store(ref(7, db="new"))
    assert old is not new and new.url.database == "new"
    engines.dispose()


def test_prepared_statements_off_for_a_transaction_mode_pooler():
    tuned = parse_settings({"salesapp.prepared_statements": "false"}, environ={})
    assert connect_args(tuned)["prepare_threshold"] is None  # psycopg never prepares
    assert "prepare_threshold" not in connect_args(parse_settings({}, environ={}))
    with pytest.raises(SettingsError, match="true or false"):
        parse_settings({"salesapp.prepared_statements": "sometimes"}, environ={})
