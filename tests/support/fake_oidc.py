"""The development sign-in provider as the tests use it, plus the forged tokens an attacker would
send."""

import base64
import hashlib
import hmac
import json
import secrets

from dzdesk_dev.keys import ProviderKey
from dzdesk_dev.oidc import DevOidcProvider


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _compact(header: dict, claims: dict, sign) -> str:
    signing_input = ".".join(
        _b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
    )
    return signing_input + "." + _b64url(sign(signing_input.encode("ascii")))


class FakeOidcProvider(DevOidcProvider):
    """``keys`` is (google, microsoft, rogue): the rogue key signs forgeries and is
    never published."""

    def __init__(
        self, *, keys: tuple[ProviderKey, ProviderKey, ProviderKey] | None = None, **kwargs
    ):
        google_key, microsoft_key, self.rogue_key = keys or tuple(
            ProviderKey.generate() for _ in range(3)
        )
        super().__init__(keys=(google_key, microsoft_key), **kwargs)

    def forge_with_unknown_key(self, claims: dict, kid: str) -> str:
        """Signed by a key the provider never published, under a kid it did publish."""
        return self.rogue_key.sign(claims, kid)

    def forge_with_unknown_kid(self, claims: dict) -> str:
        return self.rogue_key.sign(claims, "unknown-" + secrets.token_hex(6))

    @staticmethod
    def forge_unsigned(claims: dict, kid: str) -> str:
        return _compact({"alg": "none", "typ": "JWT", "kid": kid}, claims, lambda _: b"")

    @staticmethod
    def forge_hs256_with_public_key(claims: dict, key: ProviderKey) -> str:
        """The classic algorithm confusion: HMAC keyed with the provider's public key PEM."""
        return _compact(
            {"alg": "HS256", "typ": "JWT", "kid": key.kid},
            claims,
            lambda data: hmac.new(key.public_pem, data, hashlib.sha256).digest(),
        )
