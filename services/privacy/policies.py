"""Privacy policy versions: platform admins publish, users accept, all read the current one."""

from services.privacy import store
from services.privacy.exceptions import PolicyExists, PolicyNotFound
from shared.envelope import PLATFORM_TENANT
from shared.errors import Forbidden

PLATFORM_ADMIN_ROLE = "platform_admin"


def is_platform_admin(principal, settings) -> bool:
    """A platform admin holds the `platform_admin` role, or is listed (by user id) in
    PLATFORM_ADMINS."""
    return principal.has_any(PLATFORM_ADMIN_ROLE) or principal.user_id in settings.platform_admins


def require_platform_admin(principal, settings):
    if not is_platform_admin(principal, settings):
        raise Forbidden("only a platform admin may publish a privacy policy version")


def publish(unit, body, actor):
    """Store the version and announce it platform-wide (notifications reach every tenant)."""
    unit.begin(PLATFORM_TENANT)
    published_at = store.publish_policy(
        unit.conn,
        body["version"],
        body["title"],
        body.get("summary"),
        body.get("url"),
        actor["user_id"],
    )
    if published_at is None:
        raise PolicyExists(f"policy version {body['version']} is already published")
    stream = f"policy-{body['version']}"
    published = unit.new_event(
        "policy_published",
        stream,
        {
            "version": body["version"],
            "title": body["title"],
            "summary": body.get("summary"),
            "url": body.get("url"),
            "published_at": published_at.isoformat(),
        },
        actor=actor,
    )
    unit.append(stream, 0, [published])
    return {**body, "published_at": published_at.isoformat()}


def current(conn, user_id):
    policy = store.current_policy(conn)
    if policy is None:
        raise PolicyNotFound("no privacy policy has been published yet")
    accepted_at = store.acceptance(conn, user_id, policy["version"])
    return {
        **policy,
        "published_at": policy["published_at"].isoformat(),
        "accepted": accepted_at is not None,
        "accepted_at": accepted_at and accepted_at.isoformat(),
    }


def accept(unit, user_id, version, actor):
    """(body, first time?) of the caller's acceptance of `version`."""
    if not store.policy_exists(unit.conn, version):
        raise PolicyNotFound(f"no policy version {version}")
    accepted_at, first = store.accept_policy(unit.conn, user_id, version)
    if first:
        stream = f"acceptances-{user_id}"
        event = unit.new_event(
            "policy_accepted", stream, {"user_id": user_id, "version": version}, actor=actor
        )
        unit.append_next(stream, [event])
    return {"version": version, "accepted": True, "accepted_at": accepted_at.isoformat()}, first
