"""Rectification: corrected names and emails reach the participants, sealed as new events."""

import json

from tests.integration.privacy.conftest import new_id


def test_a_rectification_reaches_the_participants_read_models_and_events(suite):
    tenant, subject = new_id(), new_id()
    suite.seed(tenant, subject, name="Ada Byron", email="ada@old.example")
    accepted = suite.request(
        tenant,
        subject,
        {
            "type": "rectification",
            "subject_id": subject,
            "changes": {"name": "Ada Lovelace", "email": "ada@new.example"},
        },
    )
    view = suite.wait(tenant, accepted["id"])
    assert view["status"] == "completed"
    assert [p["name"] for p in view["participants"]] == ["profiles"]
    with suite.rpc("profiles") as profiles:
        assert profiles.view(tenant, subject) == {
            "name": "Ada Lovelace",
            "email": "ada@new.example",
        }
        assert profiles.opened_events(tenant, subject)[-1] == {
            "name": "Ada Lovelace",
            "email": "ada@new.example",
        }


def test_rectified_values_never_rest_in_plaintext_in_privacy(suite):
    tenant, subject = new_id(), new_id()
    suite.seed(tenant, subject)
    accepted = suite.request(
        tenant,
        subject,
        {
            "type": "rectification",
            "subject_id": subject,
            "changes": {"email": "secret@new.example"},
        },
    )
    suite.wait(tenant, accepted["id"])
    rows = suite.privacy_rows("SELECT saga, pii FROM privacy_requests")
    events = suite.privacy_rows("SELECT envelope FROM events")
    assert "secret@new.example" not in json.dumps([rows, events], default=str)
    assert rows[0][1] is None  # the sealed changes are dropped once applied


def test_a_rectification_without_changes_is_a_bad_request(privacy_only):
    suite, tenant, subject = privacy_only(), new_id(), new_id()
    response = suite.post(
        "/v1/privacy/requests", {"type": "rectification", "subject_id": subject}, tenant, subject
    )
    assert response.status_code == 400 and "changes" in response.json()["errors"]
