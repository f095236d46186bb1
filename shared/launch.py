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
}


def service_class(name):
    module, cls = SERVICE_CLASSES[name].split(":")
    return getattr(importlib.import_module(module), cls)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="dzdesk-service", description=__doc__)
    parser.add_argument("service", choices=sorted(SERVICE_CLASSES))
    args = parser.parse_args(argv)
    patch()
    from nameko.cli.run import run

    from shared import logs

    logs.configure(args.service, os.environ.get("LOG_LEVEL", "INFO"))
    run([service_class(args.service)], config.nameko_config(args.service))
    return 0


if __name__ == "__main__":
    sys.exit(main())
