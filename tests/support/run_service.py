"""Runs a service class in its own process, as `dzdesk-service` does, for crash drills.

python -m tests.support.run_service module:Class CONFIG_JSON   (LOG_LEVEL: default WARNING)
"""

import json
import os
import subprocess
import sys
import time

from shared.green import patch


def main(argv):
    patch()
    import importlib

    from shared import logs
    from shared.launch import DEFAULT_STOP_SECONDS
    from shared.stopping import serve

    module, cls = argv[0].split(":")
    config = json.loads(argv[1])
    logs.configure(cls, os.environ.get("LOG_LEVEL", "WARNING"))
    serve(
        getattr(importlib.import_module(module), cls),
        config,
        float(config.get("STOP_TIMEOUT_SECONDS", DEFAULT_STOP_SECONDS)),
    )


def start_process(class_path, cfg, consumed_queue=None, timeout=30, log_level=None, stderr=None):
    """The service in a process of its own, once it answers /health/ready and, when named,
    once `consumed_queue` has its consumer (extensions start in parallel: HTTP may come first).
    `log_level` and `stderr` (a file) set up and catch its logs as `dzdesk-service` writes them."""
    import requests

    from tests.support.amqp import has_consumer

    env = {**os.environ, **({"LOG_LEVEL": log_level} if log_level else {})}
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.run_service", class_path, json.dumps(cfg)],
        env=env,
        stderr=stderr,
    )

    def ready():
        try:
            requests.get(
                f"http://{cfg['WEB_SERVER_ADDRESS']}/health/ready", timeout=1
            ).raise_for_status()
        except requests.RequestException:
            return False
        return consumed_queue is None or has_consumer(cfg["AMQP_URI"], consumed_queue)

    deadline = time.monotonic() + timeout
    while not ready():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"{class_path} did not start (exit code {process.poll()})")
        time.sleep(0.05)
    return process


if __name__ == "__main__":
    main(sys.argv[1:])
