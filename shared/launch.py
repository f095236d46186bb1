"""Runs one DZDesk service as its own nameko process: `dzdesk-service <name>`."""

import argparse
import importlib
import os
import sys

from shared import config
from shared.green import patch

SERVICE_CLASSES = {
    "identity": "services.identity.service:IdentityService",
    "ticketing": "services.ticketing.service:TicketingService",
    "privacy": "services.privacy.service:PrivacyService",
    "audit": "services.audit.service:AuditService",
    "ai": "services.ai.service:AiService",
    "integrations": "services.integrations.service:IntegrationsService",
    "notifications": "services.notifications.service:NotificationsService",
}
# Kubernetes' grace period (deploy/k8s) leaves room above this; compose's stop_grace_period too.
DEFAULT_STOP_SECONDS = 7.0  # then at most 2 s to kill (shared/stopping.py)


def service_class(name):
    module, cls = SERVICE_CLASSES[name].split(":")
    return getattr(importlib.import_module(module), cls)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="dzdesk-service", description=__doc__)
    parser.add_argument("service", choices=sorted(SERVICE_CLASSES))
    args = parser.parse_args(argv)
    patch()
    from shared import logs
    from shared.stopping import serve

    logs.configure(args.service, os.environ.get("LOG_LEVEL", "INFO"))
    serve(
        service_class(args.service),
        config.nameko_config(args.service),
        float(os.environ.get("STOP_TIMEOUT_SECONDS", DEFAULT_STOP_SECONDS)),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
