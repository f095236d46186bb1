"""Waiting for something a test can observe, instead of sleeping a guessed time."""

import time


def wait_until(predicate, timeout=30, what="the condition", every=0.05):
    """The first truthy value of predicate(); fails the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(every)
