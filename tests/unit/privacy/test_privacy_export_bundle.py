"""The export bundle: a JSON file per service, a manifest with SHA-256 per file, encrypted."""

import hashlib
import io
import json
import uuid
import zipfile
from datetime import UTC, datetime

import pytest

from services.privacy.bundle import (
    DEFAULT_DESCRIPTIONS,
    BundleError,
    BundleIntegrityError,
    PartDescription,
    build_bundle,
    decrypt_bundle,
    encrypt_bundle,
    verify_bundle,
    write_bundle,
)
from shared.crypto import new_data_key

GENERATED_AT = datetime(2026, 6, 1, 8, 30, tzinfo=UTC)
PARTS = {
    "identity": {
        "user": {"name": "Zoë", "email": "zoe@example.com"},
        "sessions": [{"ip": "192.0.2.7"}],
    },
    "ticketing": {"tickets": [{"title": "VPN down", "description": "It broke again"}]},
    "privacy": {"requests": []},
    "audit": {"entries": [{"event_type": "identity.user_signed_in"}]},
    "ai": {"summaries": []},
}


def new_bundle(parts=PARTS, **kwargs):
    tenant, subject = str(uuid.uuid4()), str(uuid.uuid4())
    return tenant, subject, build_bundle(tenant, subject, parts, GENERATED_AT, **kwargs)


def rewrite(bundle: bytes, change) -> bytes:
    """Copy the bundle's entries into a new ZIP, letting `change(name, content)` alter them."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(bundle)) as source, zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            content = change(name, source.read(name))
            if content is not None:
                target.writestr(name, content)
    return out.getvalue()


def test_the_bundle_holds_one_json_file_per_service_and_a_manifest():
    _, _, bundle = new_bundle()
    with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
        assert sorted(archive.namelist()) == sorted(
            [f"{name}.json" for name in PARTS] + ["manifest.json"]
        )
        assert json.loads(archive.read("identity.json")) == PARTS["identity"]


def test_the_manifest_names_tenant_subject_and_generation_time():
    tenant, subject, bundle = new_bundle()
    manifest = verify_bundle(bundle)
    assert (manifest["tenant_id"], manifest["subject_id"]) == (tenant, subject)
    assert manifest["generated_at"] == "2026-06-01T08:30:00+00:00"


def test_the_manifest_hashes_each_file_with_sha256():
    _, _, bundle = new_bundle()
    manifest = verify_bundle(bundle)
    with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
        for entry in manifest["files"]:
            assert entry["sha256"] == hashlib.sha256(archive.read(entry["name"])).hexdigest()


def test_the_manifest_describes_holdings_purposes_recipients_and_retention():
    _, _, bundle = new_bundle()
    ai = next(e for e in verify_bundle(bundle)["files"] if e["service"] == "ai")
    default = DEFAULT_DESCRIPTIONS["ai"]
    assert (ai["holds"], ai["retention"]) == (default.holds, default.retention)
    assert ai["purposes"] == list(default.purposes)
    assert ai["recipients"] == list(default.recipients)


def test_given_descriptions_replace_the_defaults():
    custom = PartDescription("things", ("a purpose",), ("nobody",), "one day")
    _, _, bundle = new_bundle(descriptions={"ticketing": custom})
    ticketing = next(e for e in verify_bundle(bundle)["files"] if e["service"] == "ticketing")
    assert (ticketing["holds"], ticketing["recipients"]) == ("things", ["nobody"])


def test_a_part_without_a_description_is_refused():
    with pytest.raises(BundleError, match="billing"):
        new_bundle(parts={"billing": {}})


def test_a_part_name_that_is_not_a_plain_file_name_is_refused():
    with pytest.raises(BundleError):
        new_bundle(
            parts={"../identity": {}},
            descriptions={"../identity": DEFAULT_DESCRIPTIONS["identity"]},
        )


def test_non_json_data_is_refused():
    with pytest.raises(BundleError, match="JSON"):
        new_bundle(parts={"identity": {"when": GENERATED_AT}})


def test_the_same_input_builds_the_same_bytes():
    tenant, subject = str(uuid.uuid4()), str(uuid.uuid4())
    assert build_bundle(tenant, subject, PARTS, GENERATED_AT) == build_bundle(
        tenant, subject, PARTS, GENERATED_AT
    )


def test_the_bundle_can_be_written_to_a_file_object():
    out = io.BytesIO()
    manifest = write_bundle(out, str(uuid.uuid4()), str(uuid.uuid4()), PARTS, GENERATED_AT)
    assert verify_bundle(io.BytesIO(out.getvalue())) == manifest


def test_a_changed_file_fails_verification_naming_the_file():
    _, _, bundle = new_bundle()
    changed = rewrite(
        bundle, lambda name, c: c.replace(b"VPN", b"XYZ") if name == "ticketing.json" else c
    )
    with pytest.raises(BundleIntegrityError) as caught:
        verify_bundle(changed)
    assert caught.value.problems == ["ticketing.json does not match its SHA-256 in the manifest"]


def test_a_removed_file_fails_verification():
    _, _, bundle = new_bundle()
    with pytest.raises(BundleIntegrityError, match="ai.json is listed but missing"):
        verify_bundle(rewrite(bundle, lambda name, c: None if name == "ai.json" else c))


def test_an_added_file_fails_verification():
    _, _, bundle = new_bundle()
    added = io.BytesIO(bundle)
    with zipfile.ZipFile(added, "a") as archive:
        archive.writestr("extra.json", b"{}")
    with pytest.raises(BundleIntegrityError, match="extra.json is not listed"):
        verify_bundle(added.getvalue())


def test_garbage_fails_verification():
    with pytest.raises(BundleIntegrityError, match="not a readable"):
        verify_bundle(b"definitely not a zip")


def test_an_encrypted_bundle_decrypts_to_the_same_bytes():
    _, _, bundle = new_bundle()
    key, request_id = new_data_key(), str(uuid.uuid4())
    sealed = encrypt_bundle(bundle, key, request_id)
    assert b"zoe@example.com" not in sealed
    assert decrypt_bundle(sealed, key, request_id) == bundle


def test_an_encrypted_bundle_does_not_decrypt_under_another_key():
    _, _, bundle = new_bundle()
    with pytest.raises(BundleError):
        decrypt_bundle(encrypt_bundle(bundle, new_data_key()), new_data_key())


def test_an_encrypted_bundle_does_not_decrypt_for_another_request():
    _, _, bundle = new_bundle()
    key = new_data_key()
    with pytest.raises(BundleError):
        decrypt_bundle(encrypt_bundle(bundle, key, str(uuid.uuid4())), key, str(uuid.uuid4()))


def test_a_tampered_encrypted_bundle_is_refused():
    _, _, bundle = new_bundle()
    key = new_data_key()
    sealed = bytearray(encrypt_bundle(bundle, key))
    sealed[-1] ^= 0x01
    with pytest.raises(BundleError):
        decrypt_bundle(bytes(sealed), key)
