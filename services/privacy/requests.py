"""Data-subject requests: who may file them, which saga runs them, and the saga timings from config."""

from __future__ import annotations

import os
from datetime import timedelta

from services.privacy.rectification import RectificationSaga
from services.privacy.saga import ErasureSaga, ExportSaga, SagaPolicy

SAGAS = {"erasure": ErasureSaga, "export": ExportSaga, "rectification": RectificationSaga}
# who may file a request for somebody else in their own tenant
OFFICER_ROLES = frozenset({"privacy_officer", "admin"})
DEFAULT_PARTICIPANTS = "identity,ticketing,ai,audit"
DEFAULT_RECTIFIERS = "identity"


def setting(config, key, default):
    """A privacy setting from the container config, else the environment (the launcher passes
    only the platform's common keys through), else the default."""
    return config.get(key, os.environ.get(key, default))


def may_act_for(user_id: str, roles, subject_id: str) -> bool:
    """The subject themself, or a privacy officer or admin of the same tenant."""
    return user_id == subject_id or bool(OFFICER_ROLES & set(roles))


def participants(config, kind: str) -> list[str]:
    """The registry of services a saga commands (PRIVACY_PARTICIPANTS / PRIVACY_RECTIFIERS)."""
    if kind == "rectification":
        raw = setting(config, "PRIVACY_RECTIFIERS", DEFAULT_RECTIFIERS)
    else:
        raw = setting(config, "PRIVACY_PARTICIPANTS", DEFAULT_PARTICIPANTS)
    names = [name.strip() for name in str(raw).split(",") if name.strip()]
    return list(dict.fromkeys(names))


def saga_policy(config) -> SagaPolicy:
    def seconds(key, default):
        return timedelta(seconds=float(setting(config, key, default)))

    return SagaPolicy(
        retry_base=seconds("PRIVACY_RETRY_BASE_SECONDS", 60),
        retry_cap=seconds("PRIVACY_RETRY_CAP_SECONDS", 6 * 3600),
        # how long a claimed call may stay unanswered (a crashed privacy process) before a retry
        receipt_timeout=seconds("PRIVACY_RECEIPT_TIMEOUT_SECONDS", 600),
        escalate_after_failures=int(setting(config, "PRIVACY_ESCALATE_AFTER_FAILURES", 5)),
        bundle_ttl=seconds("PRIVACY_EXPORT_TTL_SECONDS", 7 * 86400),
        authorised_roles=OFFICER_ROLES,
    )


def start_saga(kind, request_id, tenant_id, subject_id, requested_by, roles, now, config):
    return SAGAS[kind].start(
        request_id,
        tenant_id,
        subject_id,
        requested_by,
        sorted(roles),
        now,
        participants(config, kind),
        policy=saga_policy(config),
    )


def load_saga(data, config):
    return SAGAS[data["type"]].from_dict(data, policy=saga_policy(config))
