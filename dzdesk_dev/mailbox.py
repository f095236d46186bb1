"""A real SMTP server for development and tests (aiosmtpd) that keeps each message it
receives as an .eml file: `python -m dzdesk_dev.mailbox --dir .run/mail --port 8025`.

With --tls-cert/--tls-key it offers STARTTLS (and requires it); with --user/--password it
requires a login (over TLS only when TLS is offered), as a provider's relay would.
"""

import argparse
import os
import pathlib
import signal
import ssl
import sys
import threading
import time
import uuid

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Maildir:
    """aiosmtpd handler: each message becomes `<time>-<id>.eml`, written whole, then
    renamed, so a reader never sees half a message."""

    def __init__(self, folder):
        self.folder = pathlib.Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server, session, envelope):
        name = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}"
        partial = self.folder / f".{name}.tmp"
        recipients = ", ".join(envelope.rcpt_tos)
        partial.write_bytes(f"X-Envelope-To: {recipients}\r\n".encode() + envelope.original_content)
        os.replace(partial, self.folder / f"{name}.eml")
        return "250 Message accepted for delivery"


def authenticator(user, password):
    def check(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == user
            and auth_data.password.decode() == password
        )
        return AuthResult(success=ok)

    return check


def controller(folder, host="127.0.0.1", port=8025, cert=None, key=None, user=None, password=None):
    options = {}
    if cert and key:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        options.update(tls_context=context, require_starttls=True)
    if user:
        options.update(
            authenticator=authenticator(user, password or ""),
            auth_required=True,
            auth_require_tls=bool(cert and key),
        )
    return Controller(Maildir(folder), hostname=host, port=port, **options)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m dzdesk_dev.mailbox", description=__doc__)
    parser.add_argument("--dir", required=True, help="where the .eml files go")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--user")
    parser.add_argument("--password")
    args = parser.parse_args(argv)
    server = controller(
        args.dir, args.host, args.port, args.tls_cert, args.tls_key, args.user, args.password
    )
    server.start()
    print(f"mailbox: SMTP on {args.host}:{args.port}, messages in {args.dir}", flush=True)
    stopped = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopped.set())
    stopped.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
