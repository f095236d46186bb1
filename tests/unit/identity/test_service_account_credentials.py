"""Service-account credentials and their bodies: ids a service can recognise, client ids that
name the tenant, secrets kept as hashes, the request and answer schemas."""

import uuid
from datetime import timedelta

import pytest
from marshmallow import ValidationError

from services.identity import credentials
from services.identity.schemas import (
    ClientCredentialsSchema,
    RotateSchema,
    ServiceAccountSchema,
    account_body,
)
from shared.auth import PERSON, Principal, _principal, is_service_account_id
from shared.auth import new_service_account_id as new_id
from shared.envelope import ActorSchema, actor_of
from shared.errors import Unauthorized


def test_service_account_ids_are_uuids_no_persons_id_can_be_taken_for():
    ids = {new_id() for _ in range(200)}
    assert len(ids) == 200 and all(uuid.UUID(value).version == 8 for value in ids)
    assert all(is_service_account_id(value) for value in ids)
    assert not any(is_service_account_id(str(uuid.uuid4())) for _ in range(200))
    assert not is_service_account_id("not-a-uuid")


def test_a_client_id_names_the_tenant_and_the_account():
    tenant, account = str(uuid.uuid4()), new_id()
    assert credentials.parse_client_id(credentials.client_id(tenant, account)) == (tenant, account)
    for wrong in ("", tenant, f"{tenant}.{uuid.uuid4()}", f"x.{account}", f"{tenant}:{account}"):
        assert credentials.parse_client_id(wrong) is None


def test_a_secret_is_stored_only_as_its_hash_and_matched_against_each_live_one():
    secret, stored = credentials.new_secret()
    other, other_stored = credentials.new_secret()
    assert secret.startswith("dzs_") and len(secret) > 40 and secret not in stored
    assert credentials.matches(secret, [other_stored, stored])
    assert not credentials.matches(secret, [other_stored]) and not credentials.matches(other, [])


def test_the_actor_of_a_service_account_is_its_id_alone_and_a_person_keeps_theirs():
    account = new_id()
    program = Principal(account, "t", frozenset({"agent"}), kind="service_account")
    person = Principal("u1", "t", frozenset({"agent", "admin"}))
    assert actor_of(program) == {"service_account": account}
    assert actor_of(person) == {"user_id": "u1", "roles": ["admin", "agent"]}
    assert person.kind == PERSON and not person.is_service_account
    assert ActorSchema().load(actor_of(program)) == {"service_account": account}


def _claims(**extra):
    return {"sub": new_id(), "tenant_id": "t", "roles": ["agent"], **extra}


def test_a_token_says_it_is_a_service_accounts_only_for_a_service_account_id():
    claims = _claims(kind="service_account")
    assert _principal(claims).is_service_account
    with pytest.raises(Unauthorized):
        _principal({**claims, "sub": str(uuid.uuid4())})  # a person's id posing as a program
    with pytest.raises(Unauthorized):
        _principal(_claims())  # a program's id without the claim
    with pytest.raises(Unauthorized):
        _principal(_claims(kind="robot"))


def test_the_creation_body_needs_a_name_and_roles_and_takes_a_lifetime():
    loaded = ServiceAccountSchema().load({"name": "CI", "roles": ["agent"], "expires_in": 3600})
    assert loaded == {"name": "CI", "roles": ["agent"], "expires_in": timedelta(hours=1)}
    for wrong in ({"roles": ["agent"]}, {"name": "CI", "roles": []}, {"name": "", "roles": ["a"]}):
        with pytest.raises(ValidationError):
            ServiceAccountSchema().load(wrong)
    assert RotateSchema().load({}) == {"expires_in": None, "previous_expires_in": None}
    with pytest.raises(ValidationError):
        RotateSchema().load({"previous_expires_in": 31 * 86400})


def test_the_token_request_is_client_credentials_only():
    form = {"grant_type": "client_credentials", "client_id": "a", "client_secret": "b"}
    assert ClientCredentialsSchema().load(form) == form
    with pytest.raises(ValidationError):
        ClientCredentialsSchema().load({**form, "grant_type": "password"})
    assert ClientCredentialsSchema.content_type == "application/x-www-form-urlencoded"


def test_an_account_is_shown_without_any_secret_unless_it_was_just_issued():
    account = {"id": new_id(), "client_id": "t.x", "name": "CI", "roles": ["agent"], "secrets": []}
    assert "client_secret" not in account_body(account)
    assert account_body(account, "dzs_x")["client_secret"] == "dzs_x"
