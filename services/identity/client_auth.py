"""The token endpoint's client authentication (RFC 6749 sections 2.3.1 and 4.4.2) and its
error answers (section 5.2): the request's form and HTTP Basic read into a client id and
secret, an OAuthError into `{"error": ...}`."""

import base64
from urllib.parse import unquote_plus

from marshmallow import ValidationError
from werkzeug.wrappers import Response

from services.identity.cookies import NO_STORE
from services.identity.exceptions import OAuthError
from services.identity.schemas import ClientCredentialsSchema
from shared.web import json_response


def client_credentials(request) -> tuple[str, str]:
    """(client_id, client_secret) of a token request: RFC 6749 sections 2.3.1 and 4.4.2."""
    if request.mimetype != "application/x-www-form-urlencoded":
        raise OAuthError("invalid_request", "send the request form-encoded")
    try:
        form = ClientCredentialsSchema().load(request.form.to_dict())
    except ValidationError as exc:
        if "grant_type" in exc.messages and request.form.get("grant_type"):
            raise OAuthError("unsupported_grant_type", "only client_credentials") from exc
        raise OAuthError("invalid_request", "grant_type is required") from exc
    scheme, _, encoded = (request.headers.get("Authorization") or "").partition(" ")
    if scheme.lower() != "basic":
        if form.get("client_id") is None:
            raise OAuthError("invalid_client", "authenticate the client", 401)
        return form["client_id"], form.get("client_secret") or ""
    if "client_secret" in form:
        raise OAuthError("invalid_request", "authenticate by one method only")
    try:
        pair = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except ValueError as exc:  # binascii.Error, a non-ASCII header, a non-UTF-8 pair
        raise OAuthError("invalid_client", "malformed Basic credentials", 401) from exc
    user, sep, password = pair.partition(":")
    if not sep:
        raise OAuthError("invalid_client", "malformed Basic credentials", 401)
    # section 2.3.1: both are form-encoded before they are joined
    user, password = unquote_plus(user), unquote_plus(password)
    if form.get("client_id", user) != user:  # the body may repeat the client id, not another
        raise OAuthError("invalid_request", "authenticate by one method only")
    return user, password


def oauth_error(exc: OAuthError) -> Response:
    headers = {**NO_STORE}
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="dzdesk"'
    return json_response(
        {"error": exc.error, "error_description": exc.description}, exc.status, headers
    )
