"""The monitoring page after a season of `mltrack monitor` batches, in Chromium with JavaScript on
and off. Not collected with the rest of tests/ui: tests/e2e/monitor_season.rs runs it once its
batches are in, and passes what it made in ``MLTRACK_MONITORED`` (JSON: model, days, the first
shifted day, the failed day, the last day, the first new neighbourhood)."""

from __future__ import annotations

import json
import os

import pytest
from playwright.sync_api import expect

SEASON = json.loads(os.environ.get("MLTRACK_MONITORED", "{}"))


@pytest.fixture(params=["js", "nojs"])
def browser_page(request, page, nojs):
    return page if request.param == "js" else nojs


def test_the_model_page_links_to_a_timeline_that_tells_the_season(browser_page, base_url, shot):
    if not SEASON:
        pytest.fail("MLTRACK_MONITORED is not set: run this through tests/e2e/monitor_season.rs")
    pg = browser_page
    pg.goto(f"{base_url}/models/{SEASON['model']}")
    pg.click("#monitoring-link")
    expect(pg.locator("h1")).to_have_text(f"{SEASON['model']} · monitoring")
    rows = pg.locator("#batches tbody tr")
    expect(rows).to_have_count(SEASON["days"])
    # Newest first.
    expect(rows.first).to_have_attribute("data-date", SEASON["last"])
    failed = pg.locator(f"#batches tr[data-date='{SEASON['failed']}']")
    expect(failed.locator(".badge")).to_have_text("failed")
    expect(failed).to_contain_text("bedrooms_not_negative")
    expect(pg.locator(f"#batches tr[data-date='{SEASON['shift']}'] .badge")).to_have_text("drift")
    # The heatmap: the shifted column's first drift run starts on the shift day.
    drift = pg.locator("#heatmap g[data-column='accommodates'] rect.hm-drift").first
    expect(drift).to_have_attribute("data-from", SEASON["shift"])
    expect(pg.locator("#heatmap")).to_be_visible()
    # Charts, each drawn with its threshold in the legend.
    for chart in ["#chart-rows", "#chart-share", "#chart-prediction"]:
        expect(pg.locator(f"{chart} > svg")).to_be_visible()
    expect(pg.locator("#chart-share figcaption")).to_contain_text("threshold")
    unseen = pg.locator("#unseen tbody tr", has_text=SEASON["new_place"])
    expect(unseen.locator("td").nth(2)).to_have_text(SEASON["shift"])
    # A batch's report opens from its row.
    pg.locator(f"#batches tr[data-date='{SEASON['shift']}'] a", has_text="report").click()
    expect(pg.locator("body")).to_contain_text("drift_report.html")
    shot(pg, "monitoring-report")


def test_the_page_is_screenshotted_for_review(page, base_url, shot):
    page.goto(f"{base_url}/models/{SEASON.get('model', 'none')}/monitoring")
    expect(page.locator("#heatmap")).to_be_visible()
    shot(page, "monitoring")
