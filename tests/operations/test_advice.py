"""The promotion advice of `salesapp stats` and the console: each verdict carries the
figures it rests on (rows, size, new rows a day, share of the store) and the thresholds
that decided it."""

from __future__ import annotations

import dataclasses

import pytest

from salesapp.operations.catalog import Catalog
from salesapp.operations.stats import Verdict, advise, tenant_stats
from salesapp.tenancy.directory import StoreKind
from tests.conftest import run_cli


def figures(**kw):
    base = dict(
        slug="shop",
        kind=StoreKind.POOLED,
        store="pool1",
        total_rows=1_500_000,
        approx_bytes=300 * 2**20,
        new_rows=3_000,
        store_rows=2_000_000,
        store_bytes=400 * 2**20,
        store_tenants=4,
    )
    return {**base, **kw}


def reasons_by_measure(advice):
    return {r["measure"]: r for r in advice["reasons"]}


def test_a_pooled_tenant_past_the_rows_threshold_is_advised_to_move_with_its_figures(settings):
    advice = advise(settings, **figures())
    assert advice["verdict"] == Verdict.PROMOTE
    assert advice["candidate"]
    assert advice["command"] == "salesapp tenant move shop --to dedicated"
    reasons = reasons_by_measure(advice)
    rows = reasons["rows"]
    assert rows["value"] == 1_500_000
    assert rows["threshold"] == settings.dedicated_threshold_rows
    assert rows["setting"] == "salesapp.dedicated_threshold_rows"
    assert rows["past"] is True
    assert "1,500,000 rows (threshold 1,000,000)" in rows["text"]
    size = reasons["size_mb"]
    assert size["value"] == 300
    assert size["past"] is False
    assert reasons["new_rows_per_day"]["value"] == 100.0  # 3,000 over 30 days
    assert reasons["new_rows_per_day"]["text"] == "100.0 new rows a day (last 30 days: 3,000)"
    assert size["text"] == "300.0 MB (threshold 1.0 GB)"
    assert reasons["new_rows_per_day"]["past"] is None  # context, not a rule
    share = reasons["share_of_store"]
    assert share["value"] == 0.75
    assert "75% of the size and 75% of the rows" in share["text"]
    assert "4 tenants" in share["text"]
    # the summary names what decided, and only that
    assert "1,500,000 rows" in advice["summary"]
    assert "GB" not in advice["summary"]


def test_size_alone_decides_too_and_below_both_it_stays_pooled(settings):
    big = advise(settings, **figures(total_rows=10, approx_bytes=2048 * 2**20))
    assert big["candidate"]
    assert "2.0 GB (threshold 1.0 GB)" in big["summary"]
    small = advise(settings, **figures(total_rows=10, approx_bytes=2**20))
    assert small["verdict"] == Verdict.STAY
    assert not small["candidate"]
    assert small["command"] is None
    assert "below both thresholds: 10 rows" in small["summary"]


def test_a_dedicated_tenant_is_never_a_candidate(settings):
    advice = advise(settings, **figures(kind=StoreKind.DEDICATED, store="dedicated-shop"))
    assert advice["verdict"] == Verdict.DEDICATED
    assert not advice["candidate"]
    assert "share_of_store" not in reasons_by_measure(advice)
    assert reasons_by_measure(advice)["rows"]["past"] is True  # the figure is still told


def test_stats_gives_each_tenant_its_figures_and_advice(settings, make_tenant, ini_file, tmp_path):
    tenant = make_tenant("pooled")
    low = dataclasses.replace(settings, dedicated_threshold_rows=5)
    catalog = Catalog(low)
    try:
        rows = {r["slug"]: r for r in tenant_stats(catalog, store=tenant.store_name)}
    finally:
        catalog.dispose()
    assert {r["store"] for r in rows.values()} == {tenant.store_name}
    mine = rows[tenant.slug]
    assert mine["dedicated_candidate"]
    assert mine["advice"]["candidate"]
    reasons = reasons_by_measure(mine["advice"])
    assert reasons["rows"]["value"] == mine["total_rows"] > 5
    assert f"{mine['total_rows']:,} rows (threshold 5)" in mine["advice"]["summary"]
    # a new tenant's admin and the audit events of its making are all of this month
    assert mine["new_rows_per_day"] == reasons["new_rows_per_day"]["value"] > 0
    store_rows = sum(r["total_rows"] for r in rows.values())
    assert reasons["share_of_store"]["value"] == pytest.approx(
        mine["approx_bytes"] / sum(r["approx_bytes"] for r in rows.values()), abs=1e-4
    )
    assert f"{mine['total_rows'] / store_rows:.0%} of the rows" in reasons["share_of_store"]["text"]

    # the command prints the advice with its figures
    ini = tmp_path / "low.ini"
    ini.write_text(ini_file.read_text() + "salesapp.dedicated_threshold_rows = 5\n")
    out = run_cli(ini, "stats").output
    assert "Promotion advice: a pooled tenant with 5 rows or 1.0 GB" in out
    assert f"  {tenant.slug}: past the threshold: {mine['total_rows']:,} rows" in out
    assert f"run: salesapp tenant move {tenant.slug} --to dedicated" in out
    assert "new rows a day" in out
    assert f"of the rows of store {tenant.store_name}" in out
    normal = run_cli(ini_file, "stats").output
    assert "none is past them" in normal
    assert "run: salesapp tenant move" not in normal
