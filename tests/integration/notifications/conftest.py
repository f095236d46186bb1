"""notifications test rig: privacy (the keys, the policy) and notifications on one vhost, a
real SMTP server, and identity's and ticketing's events published as those services would."""

import uuid

import psycopg
import pytest
import requests

from services.notifications.service import NotificationsService
from services.privacy.service import PrivacyService
from shared.crypto import FieldCipher, KeyCache
from shared.envelope import Envelope
from shared.keys import RemoteKeyring
from tests.support.amqp import as_user, publish, service_rpc
from tests.support.mailbox import mailbox
from tests.support.waiting import wait_until


def new_id():
    return str(uuid.uuid4())


class Sources:
    """identity's and ticketing's envelopes, sealed with the subjects' keys from privacy and
    published each as its own service (broker user), like their relays."""

    def __init__(self, amqp_uri):
        self.amqp_uri = amqp_uri
        self.keyring = RemoteKeyring({"AMQP_URI": as_user(amqp_uri, "identity")})
        self.cipher = FieldCipher(KeyCache(self.keyring))
        self.versions = {}
        self.published = []

    def close(self):
        self.keyring.stop()

    def emit(self, event_type, tenant_id, stream_id, data, pii=None, actor=None, **options):
        version = self.versions.get((tenant_id, stream_id), 0) + 1
        self.versions[(tenant_id, stream_id)] = version
        sealed = self.cipher.seal(tenant_id, pii) if pii else None
        envelope = Envelope.new(
            event_type,
            tenant_id,
            stream_id,
            data,
            pii=sealed,
            actor=actor or {"system": "test"},
            **options,
        ).with_version(version)
        publish(self.amqp_uri, [envelope.to_dict()])
        self.published.append(envelope)
        return envelope

    def member(self, tenant_id, email, roles=("requester",), name="Someone"):
        user_id = new_id()
        self.emit(
            "identity.user_joined",
            tenant_id,
            f"member-{user_id}",
            {"user_id": user_id, "roles": sorted(roles), "provider": "google"},
            pii={"name": (user_id, name), "email": (user_id, email)},
            actor={"user_id": user_id, "roles": sorted(roles)},
        )
        return user_id

    def ticket(self, tenant_id, requester_id, title, watchers=(), ticket_id=None):
        ticket_id = ticket_id or new_id()
        self.emit(
            "ticketing.ticket_opened",
            tenant_id,
            f"ticket-{ticket_id}",
            {
                "ticket_id": ticket_id,
                "requester_id": requester_id,
                "opened_by": requester_id,
                "type": "incident",
                "priority": "medium",
                "watchers": list(watchers),
            },
            pii={
                "title": (requester_id, title),
                "description": (requester_id, f"{title}: it does not work"),
            },
            actor={"user_id": requester_id, "roles": ["requester"]},
        )
        return ticket_id

    def comment(
        self, tenant_id, ticket_id, author_id, body, internal=False, roles=("agent",), **options
    ):
        return self.emit(
            "ticketing.comment_added",
            tenant_id,
            f"ticket-{ticket_id}",
            {"comment_id": new_id(), "internal": internal},
            pii={"body": (author_id, body)},
            actor={"user_id": author_id, "roles": sorted(roles)},
            **options,
        )

    def status(self, tenant_id, ticket_id, agent_id, to_status, from_status="new"):
        return self.emit(
            "ticketing.status_changed",
            tenant_id,
            f"ticket-{ticket_id}",
            {"from_status": from_status, "to_status": to_status},
            actor={"user_id": agent_id, "roles": ["agent"]},
        )

    def assign(self, tenant_id, ticket_id, agent_id, assignee_id):
        return self.emit(
            "ticketing.ticket_assigned",
            tenant_id,
            f"ticket-{ticket_id}",
            {"assignee_id": assignee_id},
            actor={"user_id": agent_id, "roles": ["agent"]},
        )


class Rig:
    def __init__(self, cfg, urls, privacy_cfg, sources, mail, tokens):
        self.cfg, self.urls, self.privacy_cfg = cfg, urls, privacy_cfg
        self.sources, self.mail, self.tokens = sources, mail, tokens

    @property
    def base(self):
        return f"http://{self.cfg['WEB_SERVER_ADDRESS']}/v1/me/notifications"

    def call(self, method, path, tenant_id, user_id, roles=("requester",), **kwargs):
        headers = self.tokens.headers(tenant_id=tenant_id, user_id=user_id, roles=roles)
        return requests.request(method, self.base + path, headers=headers, timeout=10, **kwargs)

    def notices(self, tenant_id, user_id, **params):
        response = self.call("GET", "", tenant_id, user_id, params=params)
        assert response.status_code == 200, response.text
        return response.json()

    def publish_policy(self, version, summary, url="https://dzdesk.example/privacy"):
        response = requests.post(
            f"http://{self.privacy_cfg['WEB_SERVER_ADDRESS']}/v1/privacy/policies",
            json={"version": version, "title": f"Policy {version}", "summary": summary, "url": url},
            headers=self.tokens.headers(roles=("platform_admin",)),
            timeout=10,
        )
        assert response.status_code == 201, response.text
        return response.json()

    def rows(self, query, *args):
        with psycopg.connect(self.urls["admin"]) as conn:
            return conn.execute(query, args).fetchall()

    def handled(self, event):
        """Whether notifications has handled the event (its inbox holds it)."""
        return bool(self.rows("SELECT 1 FROM inbox WHERE event_id = %s", event.event_id))

    def wait_handled(self, *events):
        wait_until(lambda: all(self.handled(e) for e in events), 30, "the events to be handled")

    def wait_members(self, count):
        wait_until(
            lambda: self.rows("SELECT count(*) FROM notify_members")[0][0] >= count,
            30,
            f"{count} members",
        )

    def mail_states(self):
        return dict(self.rows("SELECT user_id, state FROM notify_outbox"))

    def rpc(self, service="notifications"):
        return service_rpc(service, self.cfg if service == "notifications" else self.privacy_cfg)


@pytest.fixture
def start_notifications(container_factory, service_config, token_issuer, tmp_path):
    """start(mail_options=(), start_mail=True, **config) -> Rig: privacy and notifications,
    with an SMTP server of the test's own (started later when start_mail is False)."""
    opened, boxes = [], []

    def start(mail_options=(), start_mail=True, **overrides):
        box = mailbox(tmp_path / f"mail{len(boxes)}", *mail_options, start=start_mail)
        mail = box.__enter__()
        boxes.append(box)
        privacy_cfg, _ = service_config("privacy")
        container_factory(PrivacyService, privacy_cfg).start()
        settings = {
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": mail.port,
            "NOTIFICATIONS_SEND_INTERVAL": 0.05,
            "NOTIFICATIONS_RETRY_BASE_SECONDS": 0.1,
            "NOTIFICATIONS_RETRY_CAP_SECONDS": 0.3,
            "NOTIFICATIONS_MAX_ATTEMPTS": 1000,
            "NOTIFICATIONS_PORTAL_URL": "https://desk.example",
            **overrides,
        }
        cfg, urls = service_config("notifications", AMQP_URI=privacy_cfg["AMQP_URI"], **settings)
        container_factory(NotificationsService, cfg).start()
        sources = Sources(privacy_cfg["AMQP_URI"])
        opened.append(sources)
        return Rig(cfg, urls, privacy_cfg, sources, mail, token_issuer)

    yield start
    for sources in opened:
        sources.close()
    for box in boxes:
        box.__exit__(None, None, None)
