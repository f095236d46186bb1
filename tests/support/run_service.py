"""Runs a service class in its own process, as `dzdesk-service` does, for crash drills.

python -m tests.support.run_service module:Class CONFIG_JSON
"""
import json
import sys

from shared.green import patch


def main(argv):
    patch()
    import importlib

    from nameko.cli.run import run

    from shared import logs

    module, cls = argv[0].split(":")
    config = json.loads(argv[1])
    logs.configure(cls, "WARNING")
    run([getattr(importlib.import_module(module), cls)], config)


if __name__ == "__main__":
    main(sys.argv[1:])
