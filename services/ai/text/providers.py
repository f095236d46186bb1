"""Text providers for summaries and reply drafts: local, and Azure OpenAI fed only redacted text."""

import abc
import time
from collections.abc import Callable
from urllib.parse import quote

import requests
import structlog

from services.ai.models.registry import ModelRegistry
from services.ai.text.redaction import Redactor
from services.ai.text.summary import Thread, split_sentences, summarize

DEFAULT_API_VERSION = "2024-10-21"
_PLACEHOLDER_NOTE = (
    " Personal data has been replaced by placeholders such as [PERSON_1], [EMAIL_1], [PHONE_1],"
    " [IP_1], [CARD_1], [IBAN_1] and [ID_1]."
    " Keep every placeholder you use exactly as written and never guess what it stands for."
)
SUMMARY_INSTRUCTIONS = (
    "You are an IT service desk assistant. Summarize the ticket thread for an agent in at most"
    " three sentences: the problem, what was tried, and the current state." + _PLACEHOLDER_NOTE
)
REPLY_INSTRUCTIONS = (
    "You are an IT service desk agent. Draft a short, polite reply to the requester that moves the"
    " ticket toward resolution. Do not promise what you cannot verify." + _PLACEHOLDER_NOTE
)
_SIGNATURE = "Kind regards,\nThe service desk"

RedactorFactory = Callable[[Thread], Redactor]


def redactor_for_thread(thread: Thread) -> Redactor:
    """The default: redact the people the thread names plus every email, phone and IP address."""
    return Redactor(thread.people)


class ProviderUnavailable(Exception):
    """The provider could not produce an answer (after its retries)."""


class Provider(abc.ABC):
    name: str

    @abc.abstractmethod
    def summarize(self, thread: Thread) -> str: ...

    @abc.abstractmethod
    def suggest_reply(self, thread: Thread) -> str: ...


class LocalProvider(Provider):
    """Extractive summaries, and reply drafts built from how similar tickets of the same tenant
    were resolved."""

    name = "local"

    def __init__(
        self,
        registry: ModelRegistry | None = None,
        *,
        redactor_factory: RedactorFactory = redactor_for_thread,
        min_similarity: float = 0.35,
        max_chars: int = 400,
    ):
        self._registry = registry
        self._redactor_factory = redactor_factory
        self._min_similarity = min_similarity
        self._max_chars = max_chars

    def summarize(self, thread: Thread) -> str:
        return summarize(thread, max_chars=self._max_chars)

    def suggest_reply(self, thread: Thread) -> str:
        resolution = self._similar_resolution(thread)
        if resolution:
            return (
                "Hello,\n\nThank you for contacting the service desk. A similar issue was resolved"
                f" recently as follows: {resolution}\n\nCould you check whether this helps? If it"
                f" does not, reply to this ticket and we will keep investigating.\n\n{_SIGNATURE}"
            )
        return (
            "Hello,\n\nThank you for contacting the service desk. We have received your request and"
            " are looking into it; we will update this ticket as soon as we know more.\n\n"
            + _SIGNATURE
        )

    def _similar_resolution(self, thread: Thread) -> str | None:
        model = (
            self._registry.get(thread.tenant_id) if self._registry and thread.tenant_id else None
        )
        if model is None:
            return None
        for ticket_id, score in model.similar(f"{thread.title}\n{thread.description}", k=5):
            resolution = model.resolution_of(ticket_id)
            if score >= self._min_similarity and resolution:
                # Another requester's ticket: its people must not surface in this reply.
                redacted, _ = self._redactor_factory(thread).redact(
                    " ".join(split_sentences(resolution)[:2])
                )
                return redacted
        return None


class AzureOpenAIProvider(Provider):
    """Azure OpenAI chat completions; the thread is redacted before it leaves, and restored in the
    answer."""

    name = "azure_openai"

    def __init__(
        self,
        endpoint: str,
        api_key: str,
        deployment: str,
        api_version: str = DEFAULT_API_VERSION,
        timeout: float = 20.0,
        retries: int = 2,
        fallback: Provider | None = None,
        redactor_factory: RedactorFactory = redactor_for_thread,
        *,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self._url = (
            f"{endpoint.rstrip('/')}/openai/deployments/{quote(deployment, safe='')}"
            "/chat/completions"
        )
        self._api_key = api_key
        self._api_version = api_version
        self._timeout = timeout
        self._retries = max(0, retries)
        self.fallback = fallback if fallback is not None else LocalProvider()
        self._redactor_factory = redactor_factory
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._sleep = sleep
        self._session = requests.Session()

    def close(self) -> None:
        self._session.close()

    def summarize(self, thread: Thread) -> str:
        return self._complete(thread, SUMMARY_INSTRUCTIONS, self.fallback.summarize)

    def suggest_reply(self, thread: Thread) -> str:
        return self._complete(thread, REPLY_INSTRUCTIONS, self.fallback.suggest_reply)

    def _complete(
        self, thread: Thread, instructions: str, fallback: Callable[[Thread], str]
    ) -> str:
        redacted, mapping = self._redactor_factory(thread).redact(thread.render())
        doubt = Redactor.doubt(redacted)
        if doubt is not None:
            # fail closed: what redaction cannot vouch for never leaves; the local model answers
            structlog.get_logger(__name__).info(
                "ai.provider_kept_local",
                provider=self.name,
                fallback=self.fallback.name,
                reason=doubt,
            )
            return fallback(thread)
        body = {
            "messages": [
                {"role": "system", "content": instructions},
                {"role": "user", "content": redacted},
            ],
            "temperature": 0.2,
            "max_tokens": 400,
        }
        try:
            answer = self._post(body)
        except ProviderUnavailable as exc:
            structlog.get_logger(__name__).warning(
                "ai.provider_fallback",
                provider=self.name,
                fallback=self.fallback.name,
                reason=str(exc),
            )
            return fallback(thread)
        return Redactor.restore(answer, mapping)

    def _post(self, body: dict) -> str:
        failure = "no attempt"
        for attempt in range(self._retries + 1):
            wait = self._backoff * 2**attempt
            try:
                response = self._session.post(
                    self._url,
                    params={"api-version": self._api_version},
                    json=body,
                    headers={"api-key": self._api_key},
                    timeout=self._timeout,
                )
            except (requests.Timeout, requests.ConnectionError) as exc:
                failure = type(exc).__name__
            else:
                if response.status_code == 200:
                    return _content(response)
                failure = f"HTTP {response.status_code}"
                if response.status_code != 429 and response.status_code < 500:
                    raise ProviderUnavailable(failure)  # our request is wrong; retrying repeats it
                wait = max(wait, _retry_after(response))
            if attempt < self._retries:
                self._sleep(min(self._max_backoff, wait))
        raise ProviderUnavailable(f"{failure} after {self._retries + 1} attempts")


def _content(response: requests.Response) -> str:
    try:
        content = response.json()["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise ProviderUnavailable("malformed completion") from exc
    if not isinstance(content, str) or not content.strip():
        raise ProviderUnavailable("empty completion")  # e.g. stopped by a content filter
    return content.strip()


def _retry_after(response: requests.Response) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", 0)))
    except ValueError:
        return 0.0


def provider_from_settings(
    settings,
    fallback: Provider,
    redactor_factory: RedactorFactory = redactor_for_thread,
) -> Provider:
    """Azure OpenAI when endpoint, key and deployment are all configured (``AiSettings``), else
    the fallback."""
    if not settings.azure_openai:
        return fallback
    return AzureOpenAIProvider(
        settings.azure_openai_endpoint,
        settings.azure_openai_api_key.get_secret_value(),
        settings.azure_openai_deployment,
        api_version=settings.azure_openai_api_version,
        timeout=settings.azure_openai_timeout,
        retries=settings.azure_openai_retries,
        fallback=fallback,
        redactor_factory=redactor_factory,
    )
