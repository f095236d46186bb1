"""Service settings read from the environment: ports, database and broker URLs."""

import os

SERVICES = ("identity", "ticketing", "privacy", "audit", "ai", "integrations", "notifications")
PORTS = {
    "identity": 8001,
    "ticketing": 8002,
    "privacy": 8003,
    "audit": 8004,
    "ai": 8005,
    "integrations": 8006,
    "notifications": 8007,
}
DEFAULT_AMQP_URI = "amqp://guest:guest@localhost:5672/"
DEFAULT_ADMIN_URL = "postgresql://postgres@localhost/postgres"
SETTING_PREFIXES = (
    "DZDESK_",
    "IDENTITY_",
    "TOKEN_",
    "ACCESS_TOKEN",
    "REFRESH_TOKEN",
    "SESSION_",
    "GOOGLE_",
    "MICROSOFT_",
    "AZURE_OPENAI_",
    "TICKETING_",
    "SLA_",
    "AUDIT_",
    "PRIVACY_",
    "AI_",
    "INTEGRATIONS_",
    "RELAY_",
    "EVENT_",
    "KEY_CACHE",
    "SIGNING_KEY_",
    "LOGIN_FLOW_",
    "TRUSTED_PROXIES",
    "PLATFORM_ADMINS",
    "IDEMPOTENCY_",
    "RPC_",
    "CURSOR_KEY",
    "NOTIFICATIONS_",
    "SMTP_",
)
# never passed on by prefix: each process gets only its own, mapped in nameko_config
OWN_ONLY = ("DATABASE_URL", "AMQP_URI", "AMQP_PASSWORD", "DATABASE_PASSWORD")


def database_name(service):
    return f"dzdesk_{service}"


def role_names(service):
    """The owner runs migrations; app does DML under RLS; system spans tenants."""
    return {"owner": f"{service}_owner", "app": f"{service}_app", "system": f"{service}_system"}


def database_url(service, role="app", env=None):
    """`<SERVICE>_DATABASE_URL` (`<SERVICE>_SYSTEM_DATABASE_URL`), else the local database as
    the role; with the service's password (`DATABASE_PASSWORD`, or the file named by
    `DATABASE_PASSWORD_FILE`) when the URL carries none. Both roles of a service share it."""
    env = os.environ if env is None else env
    suffix = "_SYSTEM_DATABASE_URL" if role == "system" else "_DATABASE_URL"
    default = f"postgresql://{role_names(service)[role]}@localhost/{database_name(service)}"
    url = env.get(service.upper() + suffix, default)
    password = secret_value(env, "DATABASE_PASSWORD")
    return with_password(url, password) if password else url


def secret_value(env, key):
    """`key`'s value, or the content of the file named by `<key>_FILE` (compose and
    Kubernetes secrets mounted as files); None when neither is set."""
    if env.get(key):
        return env[key]
    if env.get(f"{key}_FILE"):
        with open(env[f"{key}_FILE"]) as secret:
            return secret.read().strip()
    return None


def with_password(url, password):
    """`url` (a postgresql:// URL or a conninfo string) with `password`, unless it has one."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(url)
    if params.get("password"):
        return url
    return make_conninfo(url, password=password)


def role_url(base_url, role, dbname):
    """The URL of `dbname` as `role` on the server of `base_url` (trust or peer auth)."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(base_url)
    params.pop("password", None)
    params.update(user=role, dbname=dbname)
    return make_conninfo(**params)


def admin_url(env=None):
    env = os.environ if env is None else env
    return env.get("DZDESK_ADMIN_DATABASE_URL", DEFAULT_ADMIN_URL)


def amqp_uri(service, env=None):
    """The broker URI of one service, logging in as its own user: `<SERVICE>_AMQP_URI` when
    set; else `AMQP_URI` (one or several `;`-separated nodes) as the user named after the
    service with the password `AMQP_PASSWORD` or the file named by `AMQP_PASSWORD_FILE`;
    else `AMQP_URI` as it is. The user is the service's name because consumers take an
    event named `<service>.*` only from the user `<service>`."""
    from shared.broker import with_user

    env = os.environ if env is None else env
    if env.get(f"{service.upper()}_AMQP_URI"):
        return env[f"{service.upper()}_AMQP_URI"]
    base = env.get("AMQP_URI", DEFAULT_AMQP_URI)
    password = secret_value(env, "AMQP_PASSWORD")
    return with_user(base, service, password) if password else base


def nameko_config(service, env=None):
    """The container config of one service process, every key from the environment."""
    env = os.environ if env is None else env
    port = int(env.get("PORT", PORTS.get(service, 8000)))
    config = {
        "AMQP_URI": amqp_uri(service, env),
        "WEB_SERVER_ADDRESS": f"{env.get('HOST', '0.0.0.0')}:{port}",
        "DATABASE_URL": database_url(service, "app", env),
        "SYSTEM_DATABASE_URL": database_url(service, "system", env),
        "QUEUE_TYPE": env.get("QUEUE_TYPE", "quorum"),
        "max_workers": int(env.get("MAX_WORKERS", 10)),
        "serializer": "json",
    }
    # every DZDesk setting travels by its prefix, so a new one needs no change here
    # (database and broker URLs and passwords excepted: each process gets only its own, mapped
    # above); a secret may come as a file instead, `<KEY>_FILE` naming it
    settings = {
        key: value
        for key, value in env.items()
        if key.startswith(SETTING_PREFIXES) and not key.removesuffix("_FILE").endswith(OWN_ONLY)
    }
    for key in [key for key in settings if key.endswith("_FILE")]:
        name = key.removesuffix("_FILE")
        if not settings.get(name):
            settings[name] = secret_value(settings, name)
    config.update(settings)
    return config
