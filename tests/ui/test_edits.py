"""The UI's edits of runs and experiments, each with JavaScript on and off: delete and restore a run,
rename it, edit its description and tags, edit an experiment's description and tags. Every edit is checked
through the ``mlflow`` client (the store changed, not just the page), and refused edits show the
message the REST API gives for the same input, with its status code.

The runs live in their own experiment so that the seeded experiment's counts stay as other tests
expect them.
"""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect


@pytest.fixture(params=["js", "nojs"])
def browser_page(request):
    """The same test with JavaScript on (``page``, which also fails on script errors) and off."""
    return request.getfixturevalue("page" if request.param == "js" else "nojs")


@pytest.fixture(scope="module")
def client():
    from mlflow import MlflowClient

    return MlflowClient()


@pytest.fixture(scope="module")
def experiment_id(client) -> str:
    return client.create_experiment(f"ui-edits-{uuid.uuid4().hex[:8]}")


@pytest.fixture
def run_id(client, experiment_id) -> str:
    run = client.create_run(experiment_id, run_name="to-edit")
    client.set_tag(run.info.run_id, "team", "pricing")
    return run.info.run_id


def api_message(call) -> str:
    """What the REST API answers for the same edit (through the mlflow client), without the error
    code the client puts in front."""
    from mlflow.exceptions import MlflowException

    with pytest.raises(MlflowException) as refused:
        call()
    return re.sub(r"^[A-Z_]+: ", "", refused.value.message)


def posted(path_end: str):
    return lambda r: r.request.method == "POST" and r.url.endswith(path_end)


def test_a_run_is_deleted_and_restored(browser_page, base_url, client, run_id, shot):
    pg = browser_page
    pg.goto(f"{base_url}/runs/{run_id}")
    expect(pg.locator("#deleted-badge")).to_have_count(0)
    pg.click("#delete button")
    expect(pg.locator("#deleted-badge")).to_be_visible()
    assert client.get_run(run_id).info.lifecycle_stage == "deleted"
    shot(pg, "deleted")
    pg.click("#restore button")
    expect(pg.locator("#deleted-badge")).to_have_count(0)
    expect(pg.locator("#delete button")).to_be_visible()
    assert client.get_run(run_id).info.lifecycle_stage == "active"


def test_a_run_is_renamed(browser_page, base_url, client, run_id):
    pg = browser_page
    pg.goto(f"{base_url}/runs/{run_id}")
    pg.fill("#rename input[name=new_name]", "renamed-in-ui")
    pg.click("#rename button")
    expect(pg.locator("#run-name")).to_contain_text("renamed-in-ui")
    assert client.get_run(run_id).info.run_name == "renamed-in-ui"


def test_an_empty_run_name_is_refused(browser_page, base_url, client, run_id):
    pg = browser_page
    pg.goto(f"{base_url}/runs/{run_id}")
    pg.fill("#rename input[name=new_name]", "  ")
    with pg.expect_response(posted("/rename")) as answer:
        pg.click("#rename button")
    assert answer.value.status == 400
    expect(pg.locator("#edit-error")).to_contain_text(
        "Missing value for required parameter 'new_name'"
    )
    assert client.get_run(run_id).info.run_name == "to-edit"


def test_a_run_description_is_edited(browser_page, base_url, client, run_id, shot):
    pg = browser_page
    pg.goto(f"{base_url}/runs/{run_id}")
    expect(pg.get_by_text("No description.")).to_be_visible()
    pg.click("#edit-description summary")
    pg.fill("#edit-description textarea", "Tried a <b>smaller</b> learning rate.")
    pg.click("#edit-description button")
    expect(pg.locator("#description")).to_have_text("Tried a <b>smaller</b> learning rate.")
    tags = client.get_run(run_id).data.tags
    assert tags["mlflow.note.content"] == "Tried a <b>smaller</b> learning rate."
    shot(pg, "described")


def test_a_run_tag_is_set_changed_and_removed(browser_page, base_url, client, run_id):
    pg = browser_page
    pg.goto(f"{base_url}/runs/{run_id}")
    pg.fill("#add-tag input[name=key]", "owner")
    pg.fill("#add-tag input[name=value]", "ana")
    pg.click("#add-tag button")
    expect(pg.locator("#tags tbody tr", has_text="owner")).to_contain_text("ana")
    assert client.get_run(run_id).data.tags["owner"] == "ana"
    pg.fill("#add-tag input[name=key]", "owner")
    pg.fill("#add-tag input[name=value]", "bo")
    pg.click("#add-tag button")
    expect(pg.locator("#tags tbody tr", has_text="owner")).to_contain_text("bo")
    pg.get_by_role("button", name="Remove tag team").click()
    expect(pg.locator("#tags tbody")).not_to_contain_text("team")
    tags = client.get_run(run_id).data.tags
    assert "team" not in tags and tags["owner"] == "bo"


def test_an_invalid_tag_key_is_refused_with_the_api_message(
    browser_page, base_url, client, run_id, shot
):
    key = "../escape"
    expected = api_message(lambda: client.set_tag(run_id, key, "x"))
    assert "Invalid" in expected
    pg = browser_page
    pg.goto(f"{base_url}/runs/{run_id}")
    pg.fill("#add-tag input[name=key]", key)
    pg.fill("#add-tag input[name=value]", "kept")
    with pg.expect_response(posted("/tags")) as answer:
        pg.click("#add-tag button")
    assert answer.value.status == 400
    expect(pg.locator("#edit-error")).to_have_text(expected)
    # The form keeps what was typed, and nothing was written.
    expect(pg.locator("#add-tag input[name=key]")).to_have_value(key)
    expect(pg.locator("#add-tag input[name=value]")).to_have_value("kept")
    assert key not in client.get_run(run_id).data.tags
    shot(pg, "refused-tag")


def test_removing_a_tag_the_run_lacks_is_the_api_404(page, base_url, client, run_id):
    expected = api_message(lambda: client.delete_tag(run_id, "never-set"))
    page.goto(f"{base_url}/runs/{run_id}")
    # Another tab removed it meanwhile: the form still names it.
    client.delete_tag(run_id, "team")
    with page.expect_response(posted("/tags/delete")) as answer:
        page.get_by_role("button", name="Remove tag team").click()
    assert answer.value.status == 404
    expect(page.locator("#edit-error")).to_have_text(expected.replace("never-set", "team"))


def test_an_experiment_description_is_edited(browser_page, base_url, client, experiment_id):
    pg = browser_page
    text = f"Pricing experiments {uuid.uuid4().hex[:6]}"
    pg.goto(f"{base_url}/experiments/{experiment_id}")
    pg.click("#edit-description summary")
    pg.fill("#edit-description textarea", text)
    pg.click("#edit-description button")
    expect(pg.locator("#description")).to_have_text(text)
    assert client.get_experiment(experiment_id).tags["mlflow.note.content"] == text


def test_an_over_long_experiment_description_is_refused_with_the_api_message(
    browser_page, base_url, client, experiment_id
):
    text = "x" * 20001
    expected = api_message(
        lambda: client.set_experiment_tag(experiment_id, "mlflow.note.content", text)
    )
    pg = browser_page
    pg.goto(f"{base_url}/experiments/{experiment_id}")
    pg.click("#edit-description summary")
    pg.fill("#edit-description textarea", text)
    with pg.expect_response(posted("/description")) as answer:
        pg.click("#edit-description button")
    assert answer.value.status == 400
    expect(pg.locator("#edit-error")).to_have_text(expected)
    expect(pg.locator("#edit-description textarea")).to_have_value(text)


def test_a_cross_site_edit_is_refused(page, base_url, client, run_id):
    answer = page.request.post(
        f"{base_url}/runs/{run_id}/delete",
        headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
    )
    assert answer.status == 403
    assert client.get_run(run_id).info.lifecycle_stage == "active"


def test_an_experiment_tag_is_set_and_removed(browser_page, base_url, client, experiment_id):
    pg = browser_page
    key = f"stage-{uuid.uuid4().hex[:6]}"
    pg.goto(f"{base_url}/experiments/{experiment_id}")
    pg.fill("#add-tag input[name=key]", key)
    pg.fill("#add-tag input[name=value]", "pilot")
    pg.click("#add-tag button")
    expect(pg.locator("#experiment-tags")).to_contain_text(f"{key}: pilot")
    assert client.get_experiment(experiment_id).tags[key] == "pilot"
    pg.get_by_role("button", name=f"Remove tag {key}").click()
    expect(pg.locator("#experiment-tags")).not_to_contain_text(key)
    assert key not in client.get_experiment(experiment_id).tags


def test_an_invalid_experiment_tag_key_is_refused_with_the_api_message(
    browser_page, base_url, client, experiment_id
):
    key = "../up"
    expected = api_message(lambda: client.set_experiment_tag(experiment_id, key, "x"))
    pg = browser_page
    pg.goto(f"{base_url}/experiments/{experiment_id}")
    pg.fill("#add-tag input[name=key]", key)
    pg.fill("#add-tag input[name=value]", "kept")
    with pg.expect_response(posted("/tags")) as answer:
        pg.click("#add-tag button")
    assert answer.value.status == 400
    expect(pg.locator("#edit-error")).to_have_text(expected)
    expect(pg.locator("#add-tag input[name=key]")).to_have_value(key)
    expect(pg.locator("#add-tag input[name=value]")).to_have_value("kept")
