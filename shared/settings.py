"""Typed settings: one object per service, read once at start, every problem named at once.

Each service declares its settings in its own `settings.py` as a subclass of `ServiceSettings`
(pydantic-settings): a field `access_token_ttl: int = 600` is read from the key
`ACCESS_TOKEN_TTL`, a field without a default is required. The values come from the nameko
config, which `shared.config.nameko_config` builds from the environment, so a test can start a
container with its own values in the same process.

`load` raises `SettingsError` naming every missing or invalid key and never a value (settings
hold secrets), and the `Settings` provider loads them in `setup()`, so a service with a missing
key refuses to start instead of failing at its first request. `production_keys` are required
only when DZDESK_ENV is production (`keys(production=True)` lists them as required).
"""

from typing import Annotated, ClassVar

from nameko.extensions import DependencyProvider
from pydantic import BeforeValidator, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict


class SettingsError(ValueError):
    """Settings that cannot start the service; the text names the keys, never their values."""

    def __init__(self, service, missing, invalid):
        self.missing, self.invalid = sorted(missing), sorted(invalid)
        parts = []
        if self.missing:
            parts.append("missing " + ", ".join(self.missing))
        if self.invalid:
            parts.append("invalid " + ", ".join(f"{key} ({why})" for key, why in self.invalid))
        super().__init__(f"{service} settings: " + "; ".join(parts))


def _csv(value):
    if value is None:
        return ()
    if isinstance(value, (list, tuple, set, frozenset)):
        return tuple(str(item).strip() for item in value if str(item).strip())
    return tuple(item.strip() for item in str(value).split(",") if item.strip())


# a comma-separated list in the environment ("a, b"), a tuple in the settings
CommaList = Annotated[tuple[str, ...], BeforeValidator(_csv)]


class ServiceSettings(BaseSettings):
    """What every service process is given (see `shared.config.nameko_config`)."""

    # keys as spelled (upper case): pydantic-settings would otherwise match any case
    model_config = SettingsConfigDict(
        alias_generator=str.upper,
        populate_by_name=True,
        extra="ignore",
        frozen=True,
        hide_input_in_errors=True,
        case_sensitive=True,
    )
    service: ClassVar[str] = "service"
    # required when DZDESK_ENV is production: without them a development process still runs
    # (a cursor key of its own, valid until it stops), every replica of a production one must
    # agree
    production_keys: ClassVar[tuple[str, ...]] = ("CURSOR_KEY",)

    amqp_uri: str
    database_url: str
    system_database_url: str
    queue_type: str = "quorum"
    # signs this service's page cursors (shared.web); its own secret, one per service
    cursor_key: SecretStr | None = None

    @classmethod
    def settings_customise_sources(
        cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings
    ):
        # only what the caller passes: the nameko config is the one source of truth, read
        # from the environment once by shared.config (a second reading here could disagree)
        return (init_settings,)

    @classmethod
    def load(cls, config):
        """The settings of `config` (a mapping of KEY: value); `SettingsError` otherwise."""
        values = {key: value for key, value in dict(config).items() if isinstance(key, str)}
        missing, invalid = set(), set()
        if _production(values):
            missing = {key for key in cls.production_keys if not _given(values.get(key))}
        try:
            settings = cls(**values)
        except ValidationError as error:
            for problem in error.errors(include_input=False, include_url=False):
                key = str(problem["loc"][0]) if problem["loc"] else "?"
                if problem["type"] == "missing":
                    missing.add(key.upper())
                else:
                    invalid.add((key.upper(), problem["type"]))
        if missing or invalid:
            raise SettingsError(cls.service, missing, invalid) from None
        return settings

    @classmethod
    def keys(cls, production=False):
        """Every key the service reads, and whether it is required (for docs and parity tests);
        `production`: as required when DZDESK_ENV is production."""
        found = {
            field.alias or name.upper(): field.is_required()
            for name, field in cls.model_fields.items()
        }
        if production:
            found.update(dict.fromkeys(cls.production_keys, True))
        return found


def _given(value):
    return value is not None and str(value).strip() != ""


def _production(values):
    # shared.environment.is_production, without importing structlog into every settings user
    return str(values.get("DZDESK_ENV") or "").strip().lower() == "production"


class Settings(DependencyProvider):
    """A service's settings, loaded once when its container is set up."""

    def __init__(self, model):
        self.model = model

    def setup(self):
        self.settings = self.model.load(self.container.config)

    def get_dependency(self, worker_ctx):
        return self.settings
