"""The runs table: sorting (in the page and on the server), the filter box, paging, nested runs,
CSV export, and selecting runs to compare."""

from __future__ import annotations

import csv
import io
import re

from playwright.sync_api import expect


def names(pg) -> list[str]:
    return pg.locator("#runs tbody tr td.name a:not([title])").all_inner_texts()


def header_link(pg, label: str):
    return pg.locator("#runs thead th", has_text=label).locator("a")


def test_nested_runs_are_grouped_under_their_parent(page, base_url, seeded, shot):
    page.goto(f"{base_url}/experiments/{seeded['experiment_id']}")
    expect(page.locator("h1")).to_contain_text(seeded["experiment_name"])
    expect(page.locator("#count")).to_have_text("Runs 1–4 of 4 top-level")
    order = names(page)
    sweep = order.index("sweep")
    assert sorted(order[sweep + 1 : sweep + 3]) == ["trial-1", "trial-2"], order
    child = page.locator("#runs tbody tr", has_text="trial-1")
    expect(child).to_have_class(re.compile(r"\bchild\b"))
    # Collapsing the parent hides its children (JavaScript); expanding shows them again.
    page.locator("button.toggle").click()
    expect(child).to_be_hidden()
    shot(page, "collapsed")
    page.locator("button.toggle").click()
    expect(child).to_be_visible()


def test_sorting_a_complete_page_happens_without_reload(page, base_url, seeded, shot):
    page.goto(f"{base_url}/experiments/{seeded['experiment_id']}")
    page.evaluate("window.__still_here = true")
    header_link(page, "metrics.rmse").click()
    # Highest first; the parent without rmse sorts last and keeps its children under it.
    expect(page.locator("#runs tbody tr td.name a").first).to_have_text("gamma")
    assert names(page)[:4] == ["gamma", "alpha", "beta", "sweep"]
    assert page.evaluate("window.__still_here") is True, "the page was reloaded"
    header_link(page, "metrics.rmse").click()
    expect(page.locator("#runs tbody tr td.name a").first).to_have_text("beta")
    assert names(page)[:3] == ["beta", "alpha", "gamma"]
    expect(page.locator("#runs thead th.sorted")).to_contain_text("rmse")
    shot(page, "sorted-by-rmse")
    # Duration has no server-side order; on a complete page it sorts in place too.
    page.locator("#runs thead th", has_text="Duration").locator("span.sort").click()
    expect(page.locator("#runs thead th.sorted")).to_contain_text("Duration")
    top = page.locator("#runs tbody tr:not([data-parent]) td:nth-child(4)")
    values = [int(v) for v in top.evaluate_all("cells => cells.map(c => c.dataset.v)")]
    assert values == sorted(values, reverse=True), values


def test_the_server_sorts_by_any_column_through_links(nojs, base_url, seeded, shot):
    nojs.goto(f"{base_url}/experiments/{seeded['experiment_id']}")
    header_link(nojs, "params.lr").click()
    assert "order=params" in nojs.url
    # String order, descending: 0.1, 0.01, 0.001, then the parent without lr.
    assert names(nojs)[:3] == ["alpha", "beta", "gamma"]
    header_link(nojs, "params.lr").click()
    assert names(nojs)[:3] == ["gamma", "beta", "alpha"]
    header_link(nojs, "Run Name").click()
    top = [n for n in names(nojs) if not n.startswith("trial")]
    assert top == ["sweep", "gamma", "beta", "alpha"], top
    shot(nojs, "server-sorted")


def test_a_valid_filter_narrows_the_table(page, base_url, seeded, shot):
    page.goto(f"{base_url}/experiments/{seeded['experiment_id']}")
    page.fill("#filter-form input[name=filter]", "metrics.rmse < 60 and params.model = 'tree'")
    page.press("#filter-form input[name=filter]", "Enter")
    expect(page.locator("#count")).to_have_text("Runs 1–2 of 2")
    assert sorted(names(page)) == ["alpha", "beta"]
    expect(page.locator("#filter-error")).to_have_count(0)
    shot(page, "filtered")


def test_an_invalid_filter_shows_the_parse_error_inline_with_400(page, base_url, seeded, shot):
    page.goto(f"{base_url}/experiments/{seeded['experiment_id']}")
    page.fill("#filter-form input[name=filter]", "metrics.rmse <<< 1")
    with page.expect_response(lambda r: "filter=" in r.url) as answer:
        page.press("#filter-form input[name=filter]", "Enter")
    assert answer.value.status == 400
    error = page.locator("#filter-error")
    expect(error).to_contain_text("Invalid comparator '<<<'")
    # The box keeps what was typed so it can be corrected.
    expect(page.locator("#filter-form input[name=filter]")).to_have_value("metrics.rmse <<< 1")
    expect(page.locator("#runs tbody tr")).to_have_count(0)
    shot(page, "invalid-filter")


def test_a_filtered_child_links_to_its_parent(nojs, base_url, seeded):
    nojs.goto(f"{base_url}/experiments/{seeded['experiment_id']}?filter=params.lr%20%3D%20%270.05%27")
    assert names(nojs) == ["trial-1"]
    nojs.locator("#runs a[title='Parent run']").click()
    expect(nojs.locator("#run-name")).to_contain_text("sweep")


def test_paging_walks_through_the_runs(nojs, base_url, seeded):
    nojs.goto(f"{base_url}/experiments/{seeded['experiment_id']}?size=2")
    expect(nojs.locator("#count")).to_have_text("Runs 1–2 of 4 top-level")
    first = [n for n in names(nojs) if not n.startswith("trial")]
    nojs.click("a[rel=next]")
    expect(nojs.locator("#count")).to_have_text("Runs 3–4 of 4 top-level")
    second = [n for n in names(nojs) if not n.startswith("trial")]
    assert sorted(first + second) == ["alpha", "beta", "gamma", "sweep"]
    nojs.click("a[rel=prev]")
    expect(nojs.locator("#count")).to_have_text("Runs 1–2 of 4 top-level")


def test_the_column_picker_adds_a_tag_column(nojs, base_url, seeded, shot):
    nojs.goto(f"{base_url}/experiments/{seeded['experiment_id']}")
    expect(nojs.locator("#runs thead")).not_to_contain_text("team")
    nojs.locator("details.picker summary").click()
    nojs.check("details.picker input[name=col][value='tags.team']")
    nojs.uncheck("details.picker input[name=col][value='params.depth']")
    nojs.locator("details.picker button[type=submit]").click()
    expect(nojs.locator("#runs thead")).to_contain_text("tags.team")
    expect(nojs.locator("#runs thead")).not_to_contain_text("params.depth")
    expect(nojs.locator("#runs tbody tr", has_text="alpha")).to_contain_text("pricing")
    shot(nojs, "picked-columns")


def test_csv_export_holds_every_matching_run(page, base_url, seeded):
    page.goto(f"{base_url}/experiments/{seeded['experiment_id']}")
    href = page.locator("#csv").get_attribute("href")
    response = page.request.get(base_url + href)
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text())))
    assert sorted(r["run_name"] for r in rows) == sorted(seeded["runs"])
    alpha = next(r for r in rows if r["run_name"] == "alpha")
    assert alpha["params.lr"] == "0.1" and alpha["metrics.rmse"] == "50"
    trial = next(r for r in rows if r["run_name"] == "trial-1")
    assert trial["parent_run_id"] == seeded["runs"]["sweep"]


def test_selected_runs_open_the_compare_page(page, base_url, seeded, shot):
    page.goto(f"{base_url}/experiments/{seeded['experiment_id']}")
    for name in ("alpha", "beta"):
        page.locator("#runs tbody tr", has_text=name).locator("input[type=checkbox]").check()
    page.click("button[form=compare]")
    expect(page.locator("h1")).to_have_text("Comparing 2 runs")
    lr = page.locator("#compare-table tr.param", has_text="lr")
    expect(lr).to_have_class(re.compile(r"\bdiff\b"))
    model = page.locator("#compare-table tr.param", has_text="model")
    expect(model).not_to_have_class(re.compile(r"\bdiff\b"))
    # Both loss histories are overlaid, one line per run in the legend's colours.
    overlay = page.locator("#overlay svg[role=img]").inner_html()
    assert "31,119,180" in overlay or "#1F77B4" in overlay.upper()
    assert "255,127,14" in overlay or "#FF7F0E" in overlay.upper()
    expect(page.locator("#scatter svg circle")).to_have_count(2)
    shot(page, "compare")
    page.click("#diff-toggle")
    expect(page.locator("#compare-table tr.param", has_text="model")).to_have_count(0)
    expect(page.locator("#compare-table tr.param", has_text="lr")).to_have_count(1)
