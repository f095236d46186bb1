"""Identity's HTTP details: the session cookie, the caller's device, token responses."""

from shared.web import json_response, problem

SESSION_COOKIE = "dzdesk_session"
# The cookie carries the refresh token, so it goes only to the endpoints that take one.
COOKIE_PATH = "/v1/auth"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def client_ip(request, trusted_proxies) -> str | None:
    """The caller's address: the gateway's own X-Forwarded-For entry when the peer is the gateway.

    The gateway appends the address it saw to whatever the client sent, so only the last
    entry is the gateway's word; earlier ones are whatever the client chose to claim.
    """
    peer = request.remote_addr
    if peer in trusted_proxies:
        hops = [hop.strip() for hop in request.headers.get("X-Forwarded-For", "").split(",") if hop.strip()]
        if hops:
            return hops[-1]
    return peer


def device_of(request, trusted_proxies) -> dict:
    return {"user_agent": request.headers.get("User-Agent"),
            "ip_address": client_ip(request, trusted_proxies)}


def refresh_token_of(request, body_token) -> str | None:
    return body_token or request.cookies.get(SESSION_COOKIE)


def signed_in_response(signed_in, max_age_seconds: int):
    response = json_response(signed_in.body, headers=NO_STORE)
    response.set_cookie(SESSION_COOKIE, signed_in.refresh_token, max_age=max_age_seconds,
                        path=COOKIE_PATH, secure=True, httponly=True, samesite="Lax")
    return response


def clear_session_cookie(response):
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH, secure=True, httponly=True, samesite="Lax")
    return response


def reuse_detected():
    """401 for a reused refresh token; returned (not raised) so the family's revocation commits."""
    return clear_session_cookie(problem(401, "Unauthorized",
                                        "the refresh token was already used; the session is revoked"))
