"""Serves a nameko service until SIGTERM or SIGINT, then stops it within a deadline.

nameko's own `run` stops gracefully with no deadline, and a signal that arrives while the
queue consumer is still starting leaves its RPC entrypoints waiting forever to unregister.
Here a stop waits for nothing it cannot bound: a signal during start kills the container (no
worker has taken a message for good: whatever was delivered goes back to its queue); after
start, the container stops gracefully (no new work, running workers finish and ack) for up
to `stop_seconds`, and is then killed, which hands unacknowledged messages back to the broker
and rolls back unfinished transactions. A second signal kills at once.
"""

import signal
import time

import eventlet
import structlog
from eventlet.queue import Queue
from nameko.runners import ServiceRunner

log = structlog.get_logger()
KILL_SECONDS = 2.0  # what a kill may take on top of the graceful stop


def serve(service_cls, config, stop_seconds):
    runner = ServiceRunner(config)
    runner.add_service(service_cls)
    happenings = Queue()

    def on_signal(signum, frame):
        # a signal handler interrupts whichever greenlet runs: hand over to the hub
        eventlet.spawn_n(happenings.put, ("signal", signal.Signals(signum).name))

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    starting = eventlet.spawn(runner.start)
    starting.link(lambda gt: happenings.put(("started", None)))
    what, detail = happenings.get()
    if what == "signal":
        log.info("service stopping before it started", signal=detail)
        _kill(runner, starting)
        return
    starting.wait()  # a failed start raises here: the process exits with the reason

    running = eventlet.spawn(runner.wait)
    running.link(lambda gt: happenings.put(("died", None)))
    what, detail = happenings.get()
    if what == "died":
        running.wait()  # a container that crashed raises here
        return
    log.info("service stopping", signal=detail, within_seconds=stop_seconds)
    stopping = eventlet.spawn(runner.stop)
    stopping.link(lambda gt: happenings.put(("stopped", None)))
    deadline = time.monotonic() + stop_seconds
    while True:
        try:
            what, detail = happenings.get(timeout=max(0.0, deadline - time.monotonic()))
        except eventlet.queue.Empty:
            what = "deadline"
        if what in ("stopped", "died"):
            log.info("service stopped")
            return
        if what in ("signal", "deadline"):
            break
    log.warning("service did not stop in time; killing it", reason=what)
    _kill(runner, stopping)


def _kill(runner, pending):
    with eventlet.Timeout(KILL_SECONDS, False):
        runner.kill()
    pending.kill()
