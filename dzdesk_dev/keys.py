"""The development provider's key material: RSA signing keys and a CA with a 127.0.0.1 server
certificate."""

import datetime
import ipaddress
import os
import secrets
from dataclasses import dataclass

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from jwt.algorithms import RSAAlgorithm

# long enough for a `make run` left up for weeks; the material is regenerated at every start
VALIDITY = datetime.timedelta(days=90)


def certificate(subject_key, common_name, issuer_cert=None, issuer_key=None, *, ca=False):
    now = datetime.datetime.now(datetime.UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_cert.subject if issuer_cert else subject)
        .public_key(subject_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if issuer_cert is not None:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
    return builder.sign(issuer_key or subject_key, hashes.SHA256())


@dataclass(frozen=True)
class ProviderKey:
    """An RSA signing key of the provider, published under ``kid``."""

    kid: str
    private_key: rsa.RSAPrivateKey

    @classmethod
    def generate(cls) -> "ProviderKey":
        return cls(
            secrets.token_hex(8), rsa.generate_private_key(public_exponent=65537, key_size=2048)
        )

    @property
    def public_pem(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def jwk(self) -> dict:
        jwk = RSAAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}

    def certificate_pem(self) -> str:
        cert = certificate(self.private_key, "dzdesk-dev-google-" + self.kid)
        return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")

    def sign(self, claims: dict, kid: str | None = None) -> str:
        return jwt.encode(
            claims, self.private_key, algorithm="RS256", headers={"kid": kid or self.kid}
        )


def write_tls_material(folder: str) -> dict:
    """A throwaway CA and a certificate for 127.0.0.1 signed by it, as PEM files in ``folder``."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = certificate(ca_key, "dzdesk-dev-ca", ca=True)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = certificate(server_key, "127.0.0.1", ca_cert, ca_key)
    paths = {name: os.path.join(folder, name + ".pem") for name in ("ca", "cert", "key")}
    contents = {
        "ca": ca_cert.public_bytes(serialization.Encoding.PEM),
        "cert": server_cert.public_bytes(serialization.Encoding.PEM),
        "key": server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    }
    for name, path in paths.items():
        with open(path, "wb") as out:
            out.write(contents[name])
    os.chmod(paths["key"], 0o600)
    return paths
