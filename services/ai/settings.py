"""The ai service's typed settings, read once when its container is set up."""

from pydantic import SecretStr, model_validator

from services.ai.models.registry import DEFAULT_BUDGET_MIB
from services.ai.text.providers import DEFAULT_API_VERSION
from shared.settings import ServiceSettings

# keys that count as unset when blank (compose passes AZURE_OPENAI_* through empty)
_BLANK_IS_UNSET = "AZURE_OPENAI_"


class AiSettings(ServiceSettings):
    service = "ai"

    # seconds ai waits for identity's user directory before redacting without it
    ai_identity_timeout: float = 2.0
    # publish ai.triage_suggested for every opened ticket once the tenant's model has learned
    ai_auto_triage: bool = True
    # memory for the process's tenant models; past it the least recently used are evicted
    ai_model_cache_mib: float = DEFAULT_BUDGET_MIB

    # Azure OpenAI is used only when endpoint, key and deployment are all set
    azure_openai_endpoint: str = ""
    azure_openai_api_key: SecretStr = SecretStr("")
    azure_openai_deployment: str = ""
    azure_openai_api_version: str = DEFAULT_API_VERSION
    azure_openai_timeout: float = 20.0
    azure_openai_retries: int = 2

    @model_validator(mode="before")
    @classmethod
    def _blank_is_unset(cls, values):
        if isinstance(values, dict):
            return {
                key: value
                for key, value in values.items()
                if not (str(key).upper().startswith(_BLANK_IS_UNSET) and value in ("", None))
            }
        return values

    @property
    def azure_openai(self) -> bool:
        """Whether Azure OpenAI is configured (endpoint, key and deployment all set)."""
        return bool(
            self.azure_openai_endpoint
            and self.azure_openai_api_key.get_secret_value()
            and self.azure_openai_deployment
        )
