"""Which environment a process runs in, and the guard that keeps development sign-in out of
production."""

import structlog

# Set by `make run` to the development provider's address; its client ids carry the prefix,
# so a configuration copied from a development machine is recognised even without the setting.
DEV_SIGN_IN_SETTING = "DZDESK_DEV_SIGN_IN_URL"
DEV_CLIENT_PREFIX = "dzdesk-dev"


class DevelopmentSignInInProduction(RuntimeError):
    """DZDESK_ENV is production while a development sign-in provider is configured."""


def is_production(config) -> bool:
    return str(config.get("DZDESK_ENV") or "").strip().lower() == "production"


def development_sign_in(config) -> str | None:
    """What configures development sign-in (a setting's name), or None when nothing does."""
    if config.get(DEV_SIGN_IN_SETTING):
        return DEV_SIGN_IN_SETTING
    clients = str(config.get("GOOGLE_CLIENT_IDS") or "").split(",")
    if any(client.strip().startswith(DEV_CLIENT_PREFIX) for client in clients):
        return "GOOGLE_CLIENT_IDS"
    if str(config.get("MICROSOFT_CLIENT_ID") or "").strip().startswith(DEV_CLIENT_PREFIX):
        return "MICROSOFT_CLIENT_ID"
    return None


def guard_development_sign_in(config) -> str | None:
    """Refuse to run in production with development sign-in; elsewhere say so loudly.

    Returns the label /health/ready shows, or None when no development sign-in is configured.
    """
    found = development_sign_in(config)
    if found is None:
        return None
    if is_production(config):
        raise DevelopmentSignInInProduction(
            f"DZDESK_ENV is production but {found} configures the development sign-in provider "
            "(anyone could sign in as anyone): refusing to start"
        )
    label = (
        f"DEVELOPMENT SIGN-IN ({found}): anyone can sign in as anyone through "
        f"{config.get(DEV_SIGN_IN_SETTING) or 'a dzdesk-dev client'}; never use in production"
    )
    structlog.get_logger().warning("development_sign_in_enabled", detail=label)
    return label
