"""Experiments list writes, the run page (charts, artifacts), the registry with a stage transition,
MLflow's hash links, error pages, and reading every page with JavaScript turned off."""

from __future__ import annotations

import uuid

from playwright.sync_api import expect


def test_experiments_are_created_renamed_deleted_and_restored(page, base_url, seeded, shot):
    page.goto(base_url + "/")
    page.fill("input[name=q]", seeded["prefix"])
    page.press("input[name=q]", "Enter")
    expect(page.locator("#experiments tbody")).to_contain_text(seeded["experiment_name"])
    name = f"ui-created-{uuid.uuid4().hex[:6]}"
    page.fill("#create input[name=name]", name)
    page.click("#create button")
    expect(page.locator("h1")).to_have_text(name)
    exp_url = page.url
    # The same name again: the store's rule, the API's message, shown inline with a 400.
    page.goto(base_url + "/")
    page.fill("#create input[name=name]", name)
    with page.expect_response(lambda r: r.url.endswith("/experiments")) as answer:
        page.click("#create button")
    assert answer.value.status == 400
    expect(page.locator("p.error")).to_contain_text("already exists")
    shot(page, "duplicate-name")
    # Rename from the list.
    page.goto(f"{base_url}/?q={name}")
    row = page.locator("#experiments tbody tr", has_text=name)
    row.locator("input[name=new_name]").fill(name + "-renamed")
    row.locator("form.rename button").click()
    expect(page.locator("h1")).to_have_text(name + "-renamed")
    assert page.url == exp_url
    # Delete, find it under Deleted, restore.
    page.goto(f"{base_url}/?q={name}")
    page.locator("#experiments tbody tr", has_text=name).locator("button.danger").click()
    expect(page.locator("#experiments tbody")).to_contain_text(name + "-renamed")
    expect(page.locator("#experiments tbody")).to_contain_text("deleted")
    page.locator("#experiments tbody tr", has_text=name).get_by_role("button", name="Restore").click()
    expect(page.locator("h1")).to_have_text(name + "-renamed")
    shot(page, "restored")


def test_an_empty_experiment_name_is_refused_with_the_api_message(page, base_url):
    page.goto(base_url + "/")
    with page.expect_response(lambda r: r.url.endswith("/experiments")) as answer:
        page.click("#create button")
    assert answer.value.status == 400
    expect(page.locator("p.error")).to_contain_text("Missing value for required parameter 'name'")


def test_the_run_page_shows_info_charts_and_versions(page, base_url, seeded, shot):
    run = seeded["runs"]["alpha"]
    page.goto(f"{base_url}/experiments/{seeded['experiment_id']}")
    page.locator("#runs tbody tr td.name a", has_text="alpha").click()
    expect(page.locator("#run-name")).to_contain_text("alpha")
    assert page.url.endswith(f"/experiments/{seeded['experiment_id']}/runs/{run}")
    expect(page.locator("#description")).to_have_text("Baseline with the default learning rate.")
    expect(page.locator("#params")).to_contain_text("lr")
    expect(page.locator("#metrics")).to_contain_text("rmse")
    expect(page.locator("#tags")).to_contain_text("pricing")
    expect(page.locator("#versions")).to_contain_text(f"{seeded['model']} v1")
    chart = page.locator("figure.chart[data-metric=loss]")
    expect(chart.locator("svg[role=img]")).to_be_visible()
    expect(chart.locator("figcaption")).to_have_text("20 points")
    shot(page, "run")
    # The metric's own chart, then with time on the x axis.
    chart.locator("h3 a").click()
    expect(page.locator("h1")).to_have_text("loss")
    expect(page.locator("#metric-chart svg polyline").first).to_be_attached()
    expect(page.locator("#sampling")).to_have_text("20 points")
    shot(page, "metric-step")
    page.get_by_role("link", name="Time").click()
    assert "x=time" in page.url
    expect(page.locator("#metric-chart svg text.x").first).to_have_text(
        __import__("re").compile(r"\d\d:\d\d:\d\d")
    )


def test_parent_and_children_link_each_other(page, base_url, seeded):
    sweep, trial = seeded["runs"]["sweep"], seeded["runs"]["trial-1"]
    page.goto(f"{base_url}/runs/{trial}")
    expect(page.locator("#parent-link")).to_have_text("sweep")
    page.click("#parent-link")
    assert page.url.endswith(sweep)
    expect(page.locator("#children")).to_contain_text("trial-1")
    expect(page.locator("#children")).to_contain_text("trial-2")


def test_artifacts_preview_text_json_csv_image_and_html(page, base_url, seeded, shot):
    run = seeded["runs"]["alpha"]
    page.goto(f"{base_url}/experiments/{seeded['experiment_id']}/runs/{run}")
    page.locator("#artifact-tree a", has_text="drift.html").click()
    frame = page.locator("iframe#preview")
    expect(frame).to_have_attribute("sandbox", "")
    report = page.frame_locator("iframe#preview")
    expect(report.locator("#verdict")).to_have_text("Drift detected in 2 of 5 columns")
    # The report's script must not run: neither its own title nor ours changes.
    assert report.locator("title").text_content() == "Drift report"
    assert page.title().endswith("mltrack")
    raw = page.request.get(base_url + frame.get_attribute("src"))
    assert "sandbox" in raw.headers["content-security-policy"]
    shot(page, "html-report")
    page.locator("#artifact-tree a", has_text="config.json").click()
    expect(page.locator("pre#preview")).to_contain_text('"layers": [')
    page.locator("#artifact-tree a", has_text="notes.txt").click()
    expect(page.locator("pre#preview")).to_contain_text("<b>not bold</b>")
    page.locator("#artifact-tree a", has_text="predictions.csv").click()
    table = page.locator("table#preview")
    expect(table.locator("tbody tr")).to_have_count(3)
    expect(table.locator("tbody tr").nth(2)).to_contain_text("0,5")
    page.locator("#artifact-tree a", has_text="tiny.png").click()
    image = page.locator("img#preview")
    expect(image).to_be_visible()
    # The 2x2 PNG decodes (waits for the load rather than racing it).
    page.wait_for_function("() => document.querySelector('img#preview').naturalWidth === 2")
    link = page.get_by_role("link", name="Download").get_attribute("href")
    download = page.request.get(base_url + link)
    assert download.headers["content-disposition"].startswith("attachment")


def test_artifact_paths_cannot_escape_the_run(page, base_url, seeded):
    run = seeded["runs"]["alpha"]
    for path in ("../../../etc/passwd", "/etc/passwd", "reports/../../x"):
        answer = page.goto(f"{base_url}/runs/{run}/artifacts?path={path}")
        assert answer.status == 400, path
        expect(page.locator("p.error")).to_be_visible()


def test_a_version_is_transitioned_and_the_stage_changes(page, base_url, seeded, shot):
    model = seeded["model"]
    page.goto(base_url + "/models")
    row = page.locator("#models tbody tr", has_text=model)
    expect(row).to_contain_text("Staging")
    expect(row).to_contain_text("@champion")
    row.locator("a", has_text=model).click()
    expect(page.locator("#versions tbody tr")).to_have_count(2)
    page.locator("#versions a", has_text="Version 2").click()
    expect(page.locator("#stage")).to_have_text("None")
    expect(page.locator("#source-run")).to_have_text("beta")
    # Archive-existing into a non-active stage is refused by the API's rule, inline, with 400.
    page.select_option("#transition select[name=stage]", "Archived")
    page.check("#transition input[name=archive_existing_versions]")
    with page.expect_response(lambda r: r.url.endswith("/stage")) as answer:
        page.click("#transition button")
    assert answer.value.status == 400
    expect(page.locator("#transition-error")).to_contain_text("cannot archive existing model versions")
    expect(page.locator("#stage")).to_have_text("None")
    # The form keeps what was asked, so it can be corrected.
    expect(page.locator("#transition select[name=stage]")).to_have_value("Archived")
    expect(page.locator("#transition input[name=archive_existing_versions]")).to_be_checked()
    shot(page, "transition-refused")
    page.uncheck("#transition input[name=archive_existing_versions]")
    page.select_option("#transition select[name=stage]", "Production")
    page.click("#transition button")
    expect(page.locator("#stage")).to_have_text("Production")
    expect(page.locator("#history")).to_contain_text("Production")
    shot(page, "transitioned")
    page.click(f"text={model}")
    expect(page.locator("#versions tbody tr", has_text="Version 2")).to_contain_text("Production")
    page.goto(base_url + "/models")
    expect(page.locator("#models tbody tr", has_text=model)).to_contain_text("Production")


def test_archive_existing_moves_the_previous_version(page, base_url, seeded):
    model, (v1, _) = seeded["model"], seeded["versions"]
    page.goto(f"{base_url}/models/{model}/versions/{v1}")
    page.select_option("#transition select[name=stage]", "Production")
    page.check("#transition input[name=archive_existing_versions]")
    page.click("#transition button")
    expect(page.locator("#stage")).to_have_text("Production")
    page.goto(f"{base_url}/models/{model}")
    expect(page.locator("#versions tbody tr", has_text="Version 2")).to_contain_text("Archived")


def test_mlflow_hash_links_lead_to_the_right_page(page, base_url, seeded):
    exp, run = seeded["experiment_id"], seeded["runs"]["beta"]
    page.goto(f"{base_url}/#/experiments/{exp}/runs/{run}")
    page.wait_for_url(f"**/experiments/{exp}/runs/{run}")
    expect(page.locator("#run-name")).to_contain_text("beta")
    page.goto(f"{base_url}/#/experiments/{exp}")
    page.wait_for_url(f"**/experiments/{exp}")
    expect(page.locator("h1")).to_contain_text(seeded["experiment_name"])
    page.goto(f"{base_url}/#/models/{seeded['model']}/versions/1")
    page.wait_for_url("**/versions/1")
    expect(page.locator("h1")).to_contain_text("Version 1")


def test_unknown_things_are_404_pages_not_errors(page, base_url, seeded):
    for path, text in [
        (f"/experiments/{seeded['experiment_id']}/runs/0123456789abcdef", "not found"),
        ("/experiments/987654", "No Experiment with id=987654"),
        ("/models/no-such-model", "not found"),
    ]:
        answer = page.goto(base_url + path)
        assert answer.status == 404, path
        expect(page.locator("p.error")).to_contain_text(text)


def test_every_page_reads_without_javascript(nojs, base_url, seeded, shot):
    exp, runs, model = seeded["experiment_id"], seeded["runs"], seeded["model"]
    checks = [
        ("/", "#experiments", seeded["experiment_name"]),
        (f"/experiments/{exp}", "#runs", "alpha"),
        (f"/experiments/{exp}/runs/{runs['alpha']}", "#params", "depth"),
        (f"/runs/{runs['alpha']}/metric?key=loss", "#sampling", "20 points"),
        (f"/runs/{runs['alpha']}/artifacts?path=data/predictions.csv", "table#preview", "prediction"),
        (f"/compare?runs={runs['alpha']},{runs['gamma']}", "#compare-table", "forest"),
        ("/models", "#models", model),
        (f"/models/{model}", "#versions", "Version 1"),
        (f"/models/{model}/versions/1", "#history", "Staging"),
    ]
    for i, (path, selector, text) in enumerate(checks):
        answer = nojs.goto(base_url + path)
        assert answer.status == 200, path
        expect(nojs.locator(selector)).to_contain_text(text)
        shot(nojs, f"{i}-nojs")
    nojs.goto(f"{base_url}/experiments/{exp}/runs/{runs['alpha']}")
    expect(nojs.locator("figure.chart svg").first).to_be_visible()
