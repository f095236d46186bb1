"""The portable export bundle: a ZIP of one JSON file per service, a hashed manifest; encrypted."""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

from shared.crypto import CipherError, decrypt_bytes, encrypt_bytes

BUNDLE_FORMAT = "dzdesk-export/1"
MANIFEST_NAME = "manifest.json"
_PART_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")


class BundleError(Exception):
    """An export bundle cannot be built, decrypted or verified."""


class BundleIntegrityError(BundleError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("export bundle failed verification: " + "; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class PartDescription:
    """What one service's file holds, why, who sees it and how long it is kept (in the manifest)."""

    holds: str
    purposes: tuple[str, ...]
    recipients: tuple[str, ...]
    retention: str


_ORGANIZATION = "your organization's DZDesk administrators and agents"
DEFAULT_DESCRIPTIONS: Mapping[str, PartDescription] = {
    "identity": PartDescription(
        holds="your account: name, email address, avatar, Google or Microsoft sign-in identities, "
        "organization memberships and roles, sessions with their IP addresses and user agents",
        purposes=(
            "sign-in and authentication",
            "role-based access control",
            "account administration",
        ),
        recipients=(_ORGANIZATION, "DZDesk as processor"),
        retention="while your account exists; deleted within 30 days of an erasure request",
    ),
    "ticketing": PartDescription(
        holds="tickets you opened, are assigned to or commented on: descriptions, comments, "
        "requester contact details, status history and SLA clocks",
        purposes=("providing IT service management", "meeting service-level agreements"),
        recipients=(_ORGANIZATION, "DZDesk as processor"),
        retention=(
            "as set by your organization; personal fields unreadable within 30 days of erasure"
        ),
    ),
    "privacy": PartDescription(
        holds=(
            "your privacy requests (access, export, rectification, erasure)"
            " and the policy versions you accepted"
        ),
        purposes=("honouring your data-protection rights", "proving consent to policy versions"),
        recipients=("your organization's privacy officers", "DZDesk as processor"),
        retention="requests and acceptances for as long as the law requires proof of them",
    ),
    "audit": PartDescription(
        holds="log entries of actions you performed or that concern you: event type, time, "
        "IP address and user agent (encrypted)",
        purposes=("security", "accountability and compliance auditing"),
        recipients=("your organization's compliance officers", "DZDesk as processor"),
        retention="append-only; personal fields unreadable at once after erasure (key destroyed)",
    ),
    "ai": PartDescription(
        holds="suggestions, summaries and similarity-index entries derived from your ticket text",
        purposes=("ticket triage", "finding similar and duplicate tickets", "summaries"),
        recipients=(
            _ORGANIZATION,
            "an external AI provider only if your organization enables one, "
            "and then only with personal data redacted",
        ),
        retention="per-tenant models and indexes; your text removed from them on erasure",
    ),
}


def _canonical_json(value: Any) -> bytes:
    try:
        return json.dumps(
            value, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False
        ).encode()
    except (TypeError, ValueError) as exc:
        raise BundleError(f"export data is not plain JSON: {exc}") from exc


def _zip_info(name: str, generated_at: datetime) -> zipfile.ZipInfo:
    stamp = generated_at.astimezone(UTC)
    info = zipfile.ZipInfo(
        name,
        date_time=(
            max(stamp.year, 1980),
            stamp.month,
            stamp.day,
            stamp.hour,
            stamp.minute,
            stamp.second,
        ),
    )
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def write_bundle(
    out: IO[bytes],
    tenant_id: str,
    subject_id: str,
    parts: Mapping[str, Any],
    generated_at: datetime,
    descriptions: Mapping[str, PartDescription] | None = None,
) -> dict:
    """Write the ZIP to `out` (one `<service>.json` per part, then manifest.json); returns the
    manifest."""
    if generated_at.tzinfo is None:
        raise BundleError("generated_at must be timezone-aware")
    known = {**DEFAULT_DESCRIPTIONS, **(descriptions or {})}
    files = []
    with zipfile.ZipFile(out, "w") as archive:
        for service in sorted(parts):
            if not _PART_NAME.match(service) or service == "manifest":
                raise BundleError(f"{service!r} cannot name a file in the bundle")
            if service not in known:
                raise BundleError(
                    f"no description of what the {service!r} part holds; the manifest must say"
                )
            content = _canonical_json(parts[service])
            name = f"{service}.json"
            archive.writestr(_zip_info(name, generated_at), content)
            description = known[service]
            files.append(
                {
                    "name": name,
                    "service": service,
                    "sha256": hashlib.sha256(content).hexdigest(),
                    "bytes": len(content),
                    "holds": description.holds,
                    "purposes": list(description.purposes),
                    "recipients": list(description.recipients),
                    "retention": description.retention,
                }
            )
        manifest = {
            "format": BUNDLE_FORMAT,
            "tenant_id": str(tenant_id),
            "subject_id": str(subject_id),
            "generated_at": generated_at.astimezone(UTC).isoformat(),
            "files": files,
        }
        archive.writestr(_zip_info(MANIFEST_NAME, generated_at), _canonical_json(manifest))
    return manifest


def build_bundle(
    tenant_id: str,
    subject_id: str,
    parts: Mapping[str, Any],
    generated_at: datetime,
    descriptions: Mapping[str, PartDescription] | None = None,
) -> bytes:
    """The bundle as bytes (see write_bundle)."""
    buffer = io.BytesIO()
    write_bundle(buffer, tenant_id, subject_id, parts, generated_at, descriptions)
    return buffer.getvalue()


def verify_bundle(bundle: bytes | IO[bytes]) -> dict:
    """Recompute every file's SHA-256 against the manifest; returns the manifest or raises
    BundleIntegrityError."""
    source = io.BytesIO(bundle) if isinstance(bundle, (bytes, bytearray)) else bundle
    try:
        with zipfile.ZipFile(source) as archive:
            names = archive.namelist()
            if MANIFEST_NAME not in names:
                raise BundleIntegrityError([f"{MANIFEST_NAME} is missing"])
            manifest = json.loads(archive.read(MANIFEST_NAME))
            listed = [entry["name"] for entry in manifest["files"]]
            problems = [
                f"{name} appears more than once"
                for name in sorted(set(names))
                if names.count(name) > 1
            ]
            problems += [
                f"{name} is not listed in the manifest"
                for name in names
                if name != MANIFEST_NAME and name not in listed
            ]
            for entry in manifest["files"]:
                if entry["name"] not in names:
                    problems.append(f"{entry['name']} is listed but missing")
                elif hashlib.sha256(archive.read(entry["name"])).hexdigest() != entry["sha256"]:
                    problems.append(f"{entry['name']} does not match its SHA-256 in the manifest")
    except (zipfile.BadZipFile, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise BundleIntegrityError([f"not a readable export bundle ({exc})"]) from exc
    if problems:
        raise BundleIntegrityError(problems)
    return manifest


def _bundle_context(context: str) -> bytes:
    return json.dumps(["dzdesk/export/v1", context]).encode()


def encrypt_bundle(data: bytes, key: bytes, context: str = "") -> bytes:
    """AES-256-GCM for storage until expiry; `context` (e.g. the request id) must match on
    decryption."""
    return encrypt_bytes(key, data, _bundle_context(context))


def decrypt_bundle(blob: bytes, key: bytes, context: str = "") -> bytes:
    try:
        return decrypt_bytes(key, blob, _bundle_context(context))
    except CipherError as exc:
        raise BundleError(
            "the stored export bundle cannot be decrypted (wrong key, context or tampered)"
        ) from exc
