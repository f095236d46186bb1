"""`make run`: starts the services, the nginx gateway and (unless SMTP_HOST names a relay) a
local SMTP server keeping mail under .run/mail/; Ctrl-C stops them all. Attachments go to the
Azurite that `make infra` started (127.0.0.1:10000, data in .run/azurite/) unless
TICKETING_BLOB_CONNECTION_STRING names a storage account."""

import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "deploy" / "nginx"))

from render import render  # noqa: E402

from shared import environment  # noqa: E402
from shared.broker import local_passwords  # noqa: E402
from shared.config import PORTS  # noqa: E402
from shared.local_secrets import service_environment  # noqa: E402

RUN_DIR = ROOT / ".run"
GATEWAY = "http://127.0.0.1:8080"


def nginx_binary():
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None
    )
    if not found:
        raise SystemExit("nginx is missing: install it (apt-get install nginx) and run again")
    return found


def ready(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def development_sign_in_wanted(env):
    """No real sign-in configured and not production: sign in through the development provider."""
    return not (
        env.get("GOOGLE_CLIENT_IDS") or env.get("MICROSOFT_CLIENT_ID")
    ) and not environment.is_production(env)


def start_development_sign_in(env):
    """The development provider in this process; returns it and the settings that point at it."""
    import certifi

    from dzdesk_dev.oidc import DEFAULT_PORT, DevOidcProvider

    try:
        provider = DevOidcProvider(http_port=DEFAULT_PORT).start()
    except OSError as exc:
        raise SystemExit(
            f"run: port {DEFAULT_PORT} for the development sign-in is taken ({exc})"
        ) from exc
    # the services reach its HTTPS side (Microsoft's authority) through requests; they must
    # still trust whatever they trusted before for everything else (Azure OpenAI)
    trusted = env.get("REQUESTS_CA_BUNDLE") or certifi.where()
    bundle = RUN_DIR / "dev-sign-in-ca.pem"
    bundle.write_text(
        pathlib.Path(trusted).read_text().rstrip("\n")
        + "\n"
        + pathlib.Path(provider.ca_bundle_path).read_text()
    )
    settings = {**provider.settings(), "REQUESTS_CA_BUNDLE": str(bundle)}
    rule = "run: " + "=" * 78
    print(
        f"{rule}\nrun: DEVELOPMENT SIGN-IN on {provider.http_url}: ANYONE CAN SIGN IN AS ANYONE.\n"
        "run: (no GOOGLE_CLIENT_IDS or MICROSOFT_CLIENT_ID is set; DZDESK_ENV=production "
        f"refuses it)\n{rule}",
        flush=True,
    )
    return provider, {**env, **settings}


def next_steps(dev_sign_in):
    print(f"run: gateway on {GATEWAY} — Ctrl-C stops everything", flush=True)
    if not dev_sign_in:
        print(f"run: sign in with POST {GATEWAY}/v1/auth/google or /v1/auth/microsoft", flush=True)
        return
    dev = ".venv/bin/dzdesk-dev token --email alice@acme.test"
    print(
        "run: try it from this folder, in another terminal:\n"
        f'  curl -s -H "Authorization: Bearer $({dev})" {GATEWAY}/v1/me\n'
        "  # or keep a token for a few calls (it lasts ten minutes):\n"
        f"  TOKEN=$({dev})\n"
        f'  curl -s -H "Authorization: Bearer $TOKEN" {GATEWAY}/v1/tickets'
        ' -H "Content-Type: application/json" \\\n'
        """       -d '{"type": "incident", "title": "Printer jammed","""
        """ "description": "Paper stuck in tray 2"}'\n"""
        f'  curl -s -H "Authorization: Bearer $TOKEN" {GATEWAY}/v1/tickets\n'
        "  make demo    # a guided tour through the gateway",
        flush=True,
    )


MAIL_PORT = 8025


def start_mailbox(env):
    """The local SMTP server (dzdesk_dev/mailbox.py, aiosmtpd) keeping every mail as an .eml
    file under .run/mail/, and the settings pointing notifications at it; none when SMTP_HOST
    names a relay of its own."""
    if env.get("SMTP_HOST"):
        return None, env
    mailbox = subprocess.Popen(
        [sys.executable, "-m", "dzdesk_dev.mailbox", "--dir", str(RUN_DIR / "mail")]
        + ["--port", str(MAIL_PORT)],
        cwd=ROOT,
        stdout=open(RUN_DIR / "logs" / "mailbox.log", "ab"),
        stderr=subprocess.STDOUT,
    )
    print(f"run: mail goes to .run/mail/ (SMTP on 127.0.0.1:{MAIL_PORT})", flush=True)
    return mailbox, {**env, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(MAIL_PORT)}


def broker_login(env, service, passwords):
    """Each process logs in to RabbitMQ as its own service user, unless told otherwise."""
    env = dict(env)
    if not env.get(f"{service.upper()}_AMQP_URI") and not env.get("AMQP_PASSWORD"):
        env["AMQP_PASSWORD"] = passwords[service]  # the user is the service's name
    return env


def main():
    RUN_DIR.mkdir(exist_ok=True)
    (RUN_DIR / "logs").mkdir(exist_ok=True)
    provider, env = None, dict(os.environ)
    if development_sign_in_wanted(env):
        provider, env = start_development_sign_in(env)
    children = []
    mailbox, env = start_mailbox(env)
    if mailbox is not None:
        children.append(("mailbox", mailbox))
    if not env.get("TICKETING_BLOB_CONNECTION_STRING"):
        print("run: attachments go to Azurite on 127.0.0.1:10000 (.run/azurite/)", flush=True)
    passwords = local_passwords()  # the same file `make`'s set-up created the users from
    bin_dir = pathlib.Path(sys.executable).parent
    for service in PORTS:
        log = open(RUN_DIR / "logs" / f"{service}.log", "ab")
        children.append(
            (
                service,
                subprocess.Popen(
                    [str(bin_dir / "dzdesk-service"), service],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=ROOT,
                    # its own secrets only (shared/local_secrets.py): the master key to privacy
                    env=broker_login(service_environment(service, env), service, passwords),
                ),
            )
        )
    conf = RUN_DIR / "nginx.conf"
    conf.write_text(render(run_dir=str(RUN_DIR)))
    children.append(
        (
            "gateway",
            subprocess.Popen(
                [
                    nginx_binary(),
                    "-c",
                    str(conf),
                    "-p",
                    str(RUN_DIR),
                    "-e",
                    str(RUN_DIR / "error.log"),
                    "-g",
                    "daemon off;",
                ],
                cwd=RUN_DIR,
            ),
        )
    )

    def stop(*_):
        for _, child in reversed(children):
            if child.poll() is None:
                child.terminate()
        for _, child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        if provider is not None:
            provider.stop()
        sys.exit(0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    deadline = time.monotonic() + 60
    pending = dict(PORTS)
    while pending and time.monotonic() < deadline:
        for service, port in list(pending.items()):
            if ready(port):
                print(f"run: {service} ready on http://127.0.0.1:{port}", flush=True)
                del pending[service]
        for name, child in children:
            if child.poll() is not None:
                print(
                    f"run: {name} exited with {child.returncode}; logs in .run/logs/",
                    file=sys.stderr,
                )
                stop()
        time.sleep(0.5)
    if pending:
        print(
            f"run: not ready after 60s: {', '.join(pending)}; logs in .run/logs/", file=sys.stderr
        )
        stop()
    next_steps(provider is not None)
    while True:
        for name, child in children:
            if child.poll() is not None:
                print(f"run: {name} exited with {child.returncode}; stopping", file=sys.stderr)
                stop()
        time.sleep(1)


if __name__ == "__main__":
    main()
