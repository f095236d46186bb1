"""The session and sign-in state cookies, and the responses that set or clear them."""

import hmac

from werkzeug.wrappers import Response

from shared.web import json_response, problem

SESSION_COOKIE = "dzdesk_session"
# The cookie carries the refresh token, so it goes only to the endpoints that take one.
COOKIE_PATH = "/v1/auth"
# The Microsoft code flow's state, bound to the browser that started it: a callback carrying a
# state this browser did not start (login CSRF: signing the victim in as the attacker) fails.
LOGIN_STATE_COOKIE = "dzdesk_login_state"
LOGIN_COOKIE_PATH = "/v1/auth/microsoft"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def refresh_token_of(request, body_token) -> str | None:
    return body_token or request.cookies.get(SESSION_COOKIE)


def signed_in_response(body: dict, refresh_token: str, max_age_seconds: int):
    response = json_response(body, headers=NO_STORE)
    response.set_cookie(
        SESSION_COOKIE,
        refresh_token,
        max_age=max_age_seconds,
        path=COOKIE_PATH,
        secure=True,
        httponly=True,
        samesite="Lax",
    )
    return response


def browser_signed_in_response(body: dict, refresh_token: str, max_age_seconds: int):
    """The code flow's answer in the browser: the refresh token only in the HttpOnly cookie,
    never in the page (``body`` has none), where any script on it could read it."""
    response = json_response(body, headers=NO_STORE)
    response.set_cookie(
        SESSION_COOKIE,
        refresh_token,
        max_age=max_age_seconds,
        path=COOKIE_PATH,
        secure=True,
        httponly=True,
        samesite="Lax",
    )
    return clear_login_state(response)


def login_redirect(authorize_url: str, state: str, max_age_seconds: int):
    """302 to the provider, with the state in a short-lived cookie of this browser's own.

    SameSite=Lax: the provider's redirect back is a top-level GET, which Lax lets through.
    """
    response = Response(status=302, headers={"Location": authorize_url, **NO_STORE})
    response.set_cookie(
        LOGIN_STATE_COOKIE,
        state,
        max_age=max_age_seconds,
        path=LOGIN_COOKIE_PATH,
        secure=True,
        httponly=True,
        samesite="Lax",
    )
    return response


def started_here(request, state: str) -> bool:
    """Whether this browser started the sign-in that `state` names."""
    cookie = request.cookies.get(LOGIN_STATE_COOKIE) or ""
    return bool(cookie) and hmac.compare_digest(cookie.encode(), state.encode())


def clear_login_state(response):
    response.delete_cookie(
        LOGIN_STATE_COOKIE, path=LOGIN_COOKIE_PATH, secure=True, httponly=True, samesite="Lax"
    )
    return response


def clear_session_cookie(response):
    response.delete_cookie(
        SESSION_COOKIE, path=COOKIE_PATH, secure=True, httponly=True, samesite="Lax"
    )
    return response


def reuse_detected():
    """401 for a reused refresh token; returned (not raised) so the family's revocation commits."""
    return clear_session_cookie(
        problem(401, "Unauthorized", "the refresh token was already used; the session is revoked")
    )
