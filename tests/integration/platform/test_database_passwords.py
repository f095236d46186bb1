"""Each service's database roles log in with its own password, on a server that checks them.

The machine's PostgreSQL trusts local connections, so these tests start a throwaway server of
their own (initdb, scram-sha-256 for every TCP login) and never touch the machine's.
"""

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time

import psycopg
import pytest
from nameko.testing.utils import find_free_port

from shared import config, migrations


def _binaries():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return os.path.dirname(found[-1]) if found else None


@pytest.fixture(scope="module")
def checking_server():
    """The admin URL of a PostgreSQL of this module's own that checks passwords."""
    binaries = _binaries()
    if binaries is None:
        pytest.skip("needs PostgreSQL's server binaries (initdb) on this machine")
    as_user = []
    if os.geteuid() == 0:  # initdb and postgres refuse to run as root
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root without a postgres user")
        as_user = ["runuser", "-u", "postgres", "--"]
    data = tempfile.mkdtemp(prefix="dzdesk-pg-")
    secret = os.path.join(data, "admin-password")
    with open(secret, "w") as out:
        out.write("admin-pw")
    if as_user:
        for path in (data, secret):
            shutil.chown(path, "postgres")
    pgdata = os.path.join(data, "db")
    subprocess.run(
        [
            *as_user,
            f"{binaries}/initdb",
            "-D",
            pgdata,
            "-U",
            "postgres",
            "--auth-host=scram-sha-256",
            "--auth-local=scram-sha-256",
            f"--pwfile={secret}",
        ],
        check=True,
        capture_output=True,
    )
    port = find_free_port()
    server = subprocess.Popen(
        [
            *as_user,
            f"{binaries}/postgres",
            "-D",
            pgdata,
            "-p",
            str(port),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            f"unix_socket_directories={data}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    admin = f"postgresql://postgres:admin-pw@127.0.0.1:{port}/postgres"
    deadline = time.monotonic() + 30
    while True:
        try:
            psycopg.connect(admin, connect_timeout=1).close()
            break
        except psycopg.OperationalError:
            assert time.monotonic() < deadline, "the throwaway PostgreSQL did not start"
            time.sleep(0.2)
    yield admin
    server.terminate()
    server.wait(timeout=30)
    shutil.rmtree(data, ignore_errors=True)


def role_url(admin, role, database, password=None):
    url = config.role_url(admin, role, database)
    return config.with_password(url, password) if password else url


def test_the_migrated_roles_log_in_with_the_services_password_only(checking_server):
    migrations.migrate("ai", admin_url=checking_server, log=lambda *_: None, password="pw-1")

    for role in ("ai_app", "ai_system"):
        psycopg.connect(role_url(checking_server, role, "dzdesk_ai", "pw-1")).close()
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(role_url(checking_server, role, "dzdesk_ai", "wrong")).close()


def test_migrating_again_with_a_new_password_rotates_it(checking_server):
    migrations.migrate("ai", admin_url=checking_server, log=lambda *_: None, password="pw-1")
    migrations.migrate("ai", admin_url=checking_server, log=lambda *_: None, password="pw-2")

    psycopg.connect(role_url(checking_server, "ai_app", "dzdesk_ai", "pw-2")).close()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(role_url(checking_server, "ai_app", "dzdesk_ai", "pw-1")).close()


def test_the_service_config_carries_the_password_from_its_secret_file(checking_server, tmp_path):
    secret = tmp_path / "db-ticketing"
    secret.write_text("pw-t\n")
    env = {"TICKETING_DATABASE_PASSWORD_FILE": str(secret)}
    migrations.migrate(
        "ticketing",
        admin_url=checking_server,
        log=lambda *_: None,
        password=migrations.password_from_env("ticketing", env),
    )
    plain = {
        "TICKETING_DATABASE_URL": role_url(checking_server, "ticketing_app", "dzdesk_ticketing"),
        "TICKETING_SYSTEM_DATABASE_URL": role_url(
            checking_server, "ticketing_system", "dzdesk_ticketing"
        ),
    }

    values = config.nameko_config("ticketing", {**plain, "DATABASE_PASSWORD_FILE": str(secret)})

    for key in ("DATABASE_URL", "SYSTEM_DATABASE_URL"):
        with psycopg.connect(values[key]) as conn:
            assert conn.execute("SELECT current_user").fetchone()[0].startswith("ticketing_")
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(config.nameko_config("ticketing", plain)["DATABASE_URL"]).close()
