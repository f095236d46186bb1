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


def wait_until_completed(suite, request_id, token, done=("completed",), timeout=30):
    """The privacy request's body once its status is one of `done`; fails the test after
    `timeout` seconds with the request's last body."""

    def completed():
        body = suite.request("GET", f"/v1/privacy/requests/{request_id}", token).json()
        completed.last = body
        return body if body.get("status") in done else None

    try:
        return wait_until(completed, timeout, "the request to complete")
    except AssertionError:
        raise AssertionError(f"request not completed: {completed.last}") from None
