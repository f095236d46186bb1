"""Audit's own nameko dependencies: the checkpoint signer with its schedule, the log reader."""

import psycopg
import structlog
from nameko.extensions import DependencyProvider

from services.audit import application
from services.audit.settings import AuditSettings
from services.audit.signing import load_signer
from services.audit.streaming import LogStreams
from shared.background import BackgroundLoop
from shared.db import Database

log = structlog.get_logger()


class CheckpointSigner(BackgroundLoop, DependencyProvider):
    """Loads the signing key at start, signs moved chains every AUDIT_CHECKPOINT_INTERVAL
    seconds (0 turns the schedule off), and injects the Signer for on-demand checkpoints."""

    def setup(self):
        self.settings = AuditSettings.load(self.container.config)
        self.interval = self.settings.audit_checkpoint_interval
        self.signer = None
        self.waited = False

    def start(self):
        with psycopg.connect(self.settings.database_url) as conn:
            self.signer = load_signer(conn, self.settings)
        log.info("audit signing key loaded", key_id=self.signer.key_id)
        if self.interval > 0:
            super().start()

    def get_dependency(self, worker_ctx):
        return self.signer

    def run_once(self):
        # a round comes one interval after the start, then one interval after the last round
        if not self.waited:
            self.waited = True
            return self.interval
        try:
            application.sign_moved_chains(self.settings, self.signer)
        except Exception:
            # a failed round waits for the next one, not for the loop's backoff
            log.exception("scheduled audit checkpoints failed; will try again")
        return self.interval


class LogReader(Database):
    """A small pool of its own (app role, RLS on) for response bodies that outlive their
    worker; no unit of work, so nothing to settle when the worker ends."""

    def __init__(self):
        super().__init__(min_size=0, max_size=4)

    def get_dependency(self, worker_ctx):
        return LogStreams(self.pool)
