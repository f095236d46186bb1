"""nameko providers of the notifications service: every tenant's transactions (for notices
that reach every tenant) and the mail sender working through the outbox."""

import psycopg
import structlog
from nameko.extensions import DependencyProvider

from services.notifications import delivery, store
from services.notifications.mail import SmtpRelay
from services.notifications.settings import NotificationsSettings
from shared.background import BackgroundLoop
from shared.db import Database, tenant_transaction
from shared.keys import ServiceCipher, SubjectKeys
from shared.logs import describe_error

log = structlog.get_logger()


def _provider(container, kind):
    return next(dep for dep in container.dependencies if isinstance(dep, kind))


class _System:
    """A connection as the system role (reads across tenants only), made when first used."""

    def __init__(self, url):
        self.url, self.conn = url, None

    def get(self):
        if self.conn is None or self.conn.closed:
            self.conn = psycopg.connect(self.url, autocommit=True)
        return self.conn

    def close(self):
        conn, self.conn = self.conn, None
        if conn is not None:
            try:
                conn.close()
            except psycopg.Error:
                pass


class TenantsView:
    """What a worker needs to reach every tenant: which have members, and a transaction of
    a tenant's own on the service's pool."""

    def __init__(self, system, pool):
        self._system, self._pool = system, pool

    def with_members(self):
        try:
            return store.tenants_with_members(self._system.get())
        except psycopg.OperationalError:
            self._system.close()
            raise

    def transaction(self, tenant_id):
        return tenant_transaction(self._pool, tenant_id)


class Tenants(DependencyProvider):
    """Injects a TenantsView (the system connection is shared by the process's workers,
    which use it for one short query at a time)."""

    def setup(self):
        settings = NotificationsSettings.load(self.container.config)
        self.system = _System(settings.system_database_url)

    def stop(self):
        self.system.close()

    kill = stop

    def get_dependency(self, worker_ctx):
        database = next(
            dep
            for dep in self.container.dependencies
            if isinstance(dep, Database) and dep.attr_name == "db"
        )
        return TenantsView(self.system, database.pool)


class MailSender(BackgroundLoop, DependencyProvider):
    """Sends due mail from the outbox, every tenant's, each in its tenant's transaction;
    polls every NOTIFICATIONS_SEND_INTERVAL seconds when there is nothing to send."""

    def setup(self):
        self.settings = NotificationsSettings.load(self.container.config)
        self.relay = SmtpRelay(self.settings)
        self.system = _System(self.settings.system_database_url)

    def start(self):
        self.database = next(
            dep
            for dep in self.container.dependencies
            if isinstance(dep, Database) and dep.attr_name == "db"
        )
        self.cipher = ServiceCipher(_provider(self.container, SubjectKeys).cache)
        super().start()

    def reset(self):
        self.system.close()

    def run_once(self):
        if self.database.pool.closed:
            return self.settings.notifications_send_interval  # the pool opens with the service
        batch = self.settings.notifications_send_batch
        due = store.due_mail(self.system.get(), batch)
        failed = False
        for tenant_id, notice_id in due:
            if not self._running:
                break
            try:
                self.send(tenant_id, notice_id)
            except Exception as exc:  # this one waits for the next poll; the others go on
                failed = True
                log.warning("mail sending failed; will try again", error=describe_error(exc))
        return 0 if len(due) >= batch and not failed else self.settings.notifications_send_interval

    def send(self, tenant_id, notice_id):
        with tenant_transaction(self.database.pool, tenant_id) as conn:
            return delivery.deliver(
                conn, self.cipher, self.relay, self.settings, tenant_id, notice_id
            )

    def get_dependency(self, worker_ctx):
        return self
