"""The UI's edits of the model registry, each with JavaScript on and off: a model's description and
tags, a version's description, aliases and tags, and deleting a version. Every edit is checked
through the ``mlflow`` client, and refused edits show the REST API's message for the same input,
with its status code. Each test registers its own model so the seeded one stays as other tests
expect it.
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
def source_run(client) -> str:
    exp = client.create_experiment(f"ui-registry-edits-{uuid.uuid4().hex[:8]}")
    return client.create_run(exp, run_name="source").info.run_id


@pytest.fixture
def model(client, source_run) -> str:
    """A model with two versions; version 1 has the tag ``team=pricing``."""
    name = f"edit-model-{uuid.uuid4().hex[:8]}"
    client.create_registered_model(name, tags={"team": "pricing"})
    for _ in range(2):
        client.create_model_version(name, f"runs:/{source_run}/model", run_id=source_run)
    client.set_model_version_tag(name, "1", "team", "pricing")
    return name


def api_message(call) -> str:
    """What the REST API answers for the same edit, without the code the client puts in front."""
    from mlflow.exceptions import MlflowException

    with pytest.raises(MlflowException) as refused:
        call()
    return re.sub(r"^[A-Z_]+: ", "", refused.value.message)


def posted(path_end: str):
    return lambda r: r.request.method == "POST" and r.url.endswith(path_end)


def test_a_model_description_is_edited(browser_page, base_url, client, model):
    pg = browser_page
    pg.goto(f"{base_url}/models/{model}")
    pg.click("#edit-description summary")
    pg.fill("#edit-description textarea", "Predicts prices.")
    pg.click("#edit-description button")
    expect(pg.locator("#description")).to_have_text("Predicts prices.")
    assert client.get_registered_model(model).description == "Predicts prices."


def test_a_model_tag_is_set_and_removed(browser_page, base_url, client, model):
    pg = browser_page
    pg.goto(f"{base_url}/models/{model}")
    pg.fill("#add-tag input[name=key]", "owner")
    pg.fill("#add-tag input[name=value]", "ana")
    pg.click("#add-tag button")
    expect(pg.locator("#tags tr", has_text="owner")).to_contain_text("ana")
    pg.get_by_role("button", name="Remove tag team").click()
    expect(pg.locator("#tags")).not_to_contain_text("team")
    tags = client.get_registered_model(model).tags
    assert tags == {"owner": "ana"}


def test_an_invalid_model_tag_key_is_refused_with_the_api_message(
    browser_page, base_url, client, model
):
    key = "../up"
    expected = api_message(lambda: client.set_registered_model_tag(model, key, "x"))
    pg = browser_page
    pg.goto(f"{base_url}/models/{model}")
    pg.fill("#add-tag input[name=key]", key)
    pg.fill("#add-tag input[name=value]", "kept")
    with pg.expect_response(posted("/tags")) as answer:
        pg.click("#add-tag button")
    assert answer.value.status == 400
    expect(pg.locator("#edit-error")).to_have_text(expected)
    expect(pg.locator("#add-tag input[name=key]")).to_have_value(key)
    expect(pg.locator("#add-tag input[name=value]")).to_have_value("kept")


def test_a_version_description_is_edited(browser_page, base_url, client, model):
    pg = browser_page
    pg.goto(f"{base_url}/models/{model}/versions/1")
    pg.click("#edit-description summary")
    pg.fill("#edit-description textarea", "Trained on March.")
    pg.click("#edit-description button")
    expect(pg.locator("#description")).to_have_text("Trained on March.")
    assert client.get_model_version(model, "1").description == "Trained on March."


def test_an_alias_is_set_moved_and_removed(browser_page, base_url, client, model, shot):
    pg = browser_page
    pg.goto(f"{base_url}/models/{model}/versions/1")
    pg.fill("#add-alias input[name=alias]", "champion")
    pg.click("#add-alias button")
    expect(pg.locator("#aliases")).to_contain_text("@champion")
    assert client.get_model_version_by_alias(model, "champion").version == "1"
    shot(pg, "alias-set")
    # The same alias on version 2 moves it, as the API does.
    pg.goto(f"{base_url}/models/{model}/versions/2")
    pg.fill("#add-alias input[name=alias]", "champion")
    pg.click("#add-alias button")
    expect(pg.locator("#aliases")).to_contain_text("@champion")
    assert client.get_model_version_by_alias(model, "champion").version == "2"
    pg.get_by_role("button", name="Remove alias champion").click()
    expect(pg.locator("#aliases")).not_to_contain_text("@champion")
    assert client.get_registered_model(model).aliases == {}


@pytest.mark.parametrize("alias", ["latest", "v3", "not ok"])
def test_an_alias_mlflow_rejects_is_refused_with_its_message(
    browser_page, base_url, client, model, alias, shot
):
    expected = api_message(lambda: client.set_registered_model_alias(model, alias, "1"))
    pg = browser_page
    pg.goto(f"{base_url}/models/{model}/versions/1")
    pg.fill("#add-alias input[name=alias]", alias)
    with pg.expect_response(posted("/aliases")) as answer:
        pg.click("#add-alias button")
    assert answer.value.status == 400
    expect(pg.locator("#edit-error")).to_have_text(expected)
    expect(pg.locator("#add-alias input[name=alias]")).to_have_value(alias)
    assert client.get_registered_model(model).aliases == {}
    shot(pg, "refused-alias")


def test_a_version_tag_is_set_and_removed(browser_page, base_url, client, model):
    pg = browser_page
    pg.goto(f"{base_url}/models/{model}/versions/1")
    pg.fill("#add-tag input[name=key]", "validated")
    pg.fill("#add-tag input[name=value]", "yes")
    pg.click("#add-tag button")
    expect(pg.locator("tr.tag", has_text="validated")).to_contain_text("yes")
    pg.get_by_role("button", name="Remove tag team").click()
    expect(pg.locator("tr.tag", has_text="team")).to_have_count(0)
    assert client.get_model_version(model, "1").tags == {"validated": "yes"}


def test_a_version_is_deleted(browser_page, base_url, client, model):
    pg = browser_page
    pg.goto(f"{base_url}/models/{model}/versions/2")
    pg.click("#delete-version button")
    assert pg.url.rstrip("/").endswith(f"/models/{model}")
    expect(pg.locator("#versions tbody tr")).to_have_count(1)
    versions = client.search_model_versions(f"name = '{model}'")
    assert [v.version for v in versions] == ["1"]
    answer = pg.goto(f"{base_url}/models/{model}/versions/2")
    assert answer.status == 404
