"""Makes sure PostgreSQL, RabbitMQ (with its management API), Azurite and nginx are there to use.

Also creates the services' own broker users. Uses the servers on localhost when they answer;
starts the local ones when this machine has them; else `docker compose` from deploy/ when Docker
answers; else says what is missing.
"""

import argparse
import os
import shutil
import socket
import subprocess
import sys
import time

DEPLOY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def answers(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def wait_for(port, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if answers(port):
            return True
        time.sleep(0.5)
    return False


def run(*cmd):
    print("infra:", " ".join(cmd), flush=True)
    return subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT).returncode == 0


def docker_answers():
    try:
        return (
            bool(shutil.which("docker"))
            and subprocess.run(["docker", "info"], capture_output=True, timeout=10).returncode == 0
        )
    except (OSError, subprocess.TimeoutExpired):
        return False


def start_postgres():
    if shutil.which("pg_ctlcluster") and os.path.isdir("/etc/postgresql"):
        for version in sorted(os.listdir("/etc/postgresql")):
            run("pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start")
        return wait_for(5432, 30)
    return False


def start_rabbitmq():
    if shutil.which("rabbitmq-server"):
        run("rabbitmq-server", "-detached")
        return wait_for(5672, 60)
    return False


def ensure_management():
    if answers(15672):
        return True
    if shutil.which("rabbitmq-plugins") and run(
        "rabbitmq-plugins", "enable", "rabbitmq_management"
    ):
        return wait_for(15672, 60)
    return False


def ensure_broker_users():
    """The services' own broker users (passwords generated once into ~/.config/dzdesk/),
    their permissions on the default vhost and the exchanges; guest is for tools only."""
    from shared import broker

    document = broker.definitions("/", broker.local_passwords())
    # the local server's guest, else the administrator of deploy/compose.yaml's broker
    admins = (
        [os.environ.get("DZDESK_BROKER_API")]
        if os.environ.get("DZDESK_BROKER_API")
        else [
            "http://guest:guest@127.0.0.1:15672",
            f"http://dzdesk:{os.environ.get('RABBITMQ_PASSWORD', 'dzdesk')}@127.0.0.1:15672",
        ]
    )
    for api in admins:
        try:
            broker.apply(api, document)
            return True
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
    print(f"infra: broker users not set up: {error}", file=sys.stderr)
    return False


def compose_up(*services):
    return run(
        "docker", "compose", "-f", os.path.join(DEPLOY, "compose.yaml"), "up", "-d", *services
    )


def ensure_nginx():
    if shutil.which("nginx") or os.path.exists("/usr/sbin/nginx"):
        return True
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-q"], env=env, stdout=subprocess.DEVNULL)
        subprocess.run(
            ["apt-get", "install", "-y", "-q", "--no-install-recommends", "nginx"],
            env=env,
            stdout=subprocess.DEVNULL,
        )
    return bool(shutil.which("nginx") or os.path.exists("/usr/sbin/nginx"))


def ensure_azurite():
    """Azurite (the Azure Blob Storage emulator ticketing keeps files in) on 127.0.0.1:10000:
    the pinned npm package installed when missing (deploy/local/azurite), started detached
    with its data under .run/azurite/; one that answers already is used as it is."""
    sys.path.insert(0, os.path.dirname(DEPLOY))
    from dzdesk_dev import azurite

    if azurite.answers(azurite.DEFAULT_PORT):
        return True
    run_dir = os.path.join(os.path.dirname(DEPLOY), ".run")
    os.makedirs(os.path.join(run_dir, "logs"), exist_ok=True)
    print("infra: starting Azurite on 127.0.0.1:10000 (data in .run/azurite/)", flush=True)
    try:
        azurite.start(
            os.path.join(run_dir, "azurite"),
            log=os.path.join(run_dir, "logs", "azurite.log"),
            detached=True,
        )
    except RuntimeError as exc:
        print(f"infra: {exc}", file=sys.stderr)
        return False
    return True


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nginx", action="store_true", help="also make sure nginx is installed")
    args = parser.parse_args(argv)
    missing = []
    if (
        not answers(5432)
        and not start_postgres()
        and not (docker_answers() and compose_up("postgres") and wait_for(5432, 60))
    ):
        missing.append(
            "PostgreSQL on 127.0.0.1:5432 (install it, or Docker for deploy/compose.yaml)"
        )
    if (
        not answers(5672)
        and not start_rabbitmq()
        and not (docker_answers() and compose_up("rabbitmq") and wait_for(5672, 90))
    ):
        missing.append("RabbitMQ on 127.0.0.1:5672 (install it, or Docker for deploy/compose.yaml)")
    if answers(5672) and not ensure_management():
        missing.append(
            "the RabbitMQ management API on 127.0.0.1:15672"
            " (run: rabbitmq-plugins enable rabbitmq_management)"
        )
    elif answers(5672) and not ensure_broker_users():
        missing.append(
            "the services' broker users (set DZDESK_BROKER_API to the management"
            " API of an administrator, e.g. http://user:password@127.0.0.1:15672)"
        )
    if not ensure_azurite():
        missing.append(
            "Azurite on 127.0.0.1:10000 (needs Node.js and npm: apt-get install nodejs npm)"
        )
    if args.nginx and not ensure_nginx():
        missing.append("nginx (apt-get install nginx, as root)")
    if missing:
        print("DZDesk cannot start; missing:\n  - " + "\n  - ".join(missing), file=sys.stderr)
        return 1
    print(
        "infra: PostgreSQL, RabbitMQ, Azurite" + (" and nginx" if args.nginx else "") + " are ready"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
