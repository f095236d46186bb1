"""Which saga runs each kind of request, with its participants and timings from the settings."""

from __future__ import annotations

from datetime import timedelta

from services.privacy.sagas.actions import SagaPolicy
from services.privacy.sagas.erasure import ErasureSaga
from services.privacy.sagas.export import ExportSaga
from services.privacy.sagas.rectification import RectificationSaga
from services.privacy.settings import PrivacySettings

SAGAS = {"erasure": ErasureSaga, "export": ExportSaga, "rectification": RectificationSaga}
# who may file a request for somebody else in their own tenant
OFFICER_ROLES = frozenset({"privacy_officer", "admin"})


def participants(settings: PrivacySettings, kind: str) -> list[str]:
    """The registry of services a saga commands (PRIVACY_PARTICIPANTS / PRIVACY_RECTIFIERS)."""
    if kind == "rectification":
        names = settings.privacy_rectifiers
    else:
        names = settings.privacy_participants
    return list(dict.fromkeys(names))


def saga_policy(settings: PrivacySettings) -> SagaPolicy:
    return SagaPolicy(
        retry_base=timedelta(seconds=settings.privacy_retry_base_seconds),
        retry_cap=timedelta(seconds=settings.privacy_retry_cap_seconds),
        receipt_timeout=timedelta(seconds=settings.privacy_receipt_timeout_seconds),
        escalate_after_failures=settings.privacy_escalate_after_failures,
        bundle_ttl=timedelta(seconds=settings.privacy_export_ttl_seconds),
        authorised_roles=OFFICER_ROLES,
    )


def start_saga(kind, request_id, tenant_id, subject_id, requested_by, roles, now, settings):
    return SAGAS[kind].start(
        request_id,
        tenant_id,
        subject_id,
        requested_by,
        sorted(roles),
        now,
        participants(settings, kind),
        policy=saga_policy(settings),
    )


def load_saga(data, settings: PrivacySettings):
    return SAGAS[data["type"]].from_dict(data, policy=saga_policy(settings))
