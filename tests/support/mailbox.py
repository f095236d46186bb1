"""A real SMTP server for a test (dzdesk_dev/mailbox.py, aiosmtpd, in a process of its own)
and the mail it received, read from its .eml files."""

import contextlib
import email
import email.policy
import socket
import subprocess
import sys

from nameko.testing.utils import find_free_port

from tests.support.waiting import wait_until


def _answers(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class Mailbox:
    """The messages an SMTP server on `port` kept in `folder`, oldest first."""

    def __init__(self, folder, port):
        self.folder, self.port = folder, port
        self.process = None

    def start(self, *options):
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "dzdesk_dev.mailbox", "--dir", str(self.folder)]
            + ["--port", str(self.port), *options]
        )
        wait_until(lambda: _answers(self.port), 20, "the SMTP server to listen")
        return self

    def stop(self):
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def messages(self, to=None):
        found = []
        for path in sorted(self.folder.glob("*.eml")):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if to is None or message["To"] == to:
                found.append(message)
        return found

    def wait_for(self, to, count=1, timeout=30):
        """The first `count` messages to `to`, once that many have arrived."""
        return wait_until(
            lambda: (found := self.messages(to)) and len(found) >= count and found[:count],
            timeout,
            f"{count} mail(s) to {to}",
        )


def parts(message):
    """(plain text, HTML) of a message."""
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    return (
        text.get_content() if text is not None else "",
        html.get_content() if html is not None else "",
    )


@contextlib.contextmanager
def mailbox(folder, *options, port=None, start=True):
    box = Mailbox(folder, port or find_free_port())
    if start:
        box.start(*options)
    try:
        yield box
    finally:
        box.stop()
