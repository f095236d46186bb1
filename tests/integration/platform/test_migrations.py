import pathlib
import uuid

import psycopg

from shared import config, migrations

PLATFORM_MIGRATIONS = pathlib.Path(migrations.__file__).parent / "migrations"


def test_migrating_twice_applies_each_file_once_and_creates_the_roles(service_databases):
    database = f"dzdesk_probe_m_{uuid.uuid4().hex[:8]}"
    service_databases.created.append(database)
    log = []
    migrations.migrate("probe", database=database, log=log.append)
    migrations.migrate("probe", database=database, log=log.append)
    files = sorted(path.name for path in PLATFORM_MIGRATIONS.glob("*.sql"))
    assert log == [
        f"probe: created database {database}",
        *(f"probe: applied platform/{name}" for name in files),
    ]
    admin = psycopg.conninfo.make_conninfo(config.admin_url(), dbname=database)
    with psycopg.connect(admin) as conn:
        applied = conn.execute("SELECT source, version FROM schema_migrations").fetchall()
        owner = conn.execute(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", (database,)
        ).fetchone()[0]
        roles = {
            name
            for (name,) in conn.execute(
                "SELECT rolname FROM pg_roles WHERE rolname LIKE 'probe\\_%'"
            )
        }
    assert applied == [("platform", name.removesuffix(".sql")) for name in files]
    assert owner == "probe_owner"
    assert {"probe_owner", "probe_app", "probe_system"} <= roles
    service_databases.drop_all()


def test_the_migrate_command_rejects_an_unknown_service(capsys):
    import pytest

    with pytest.raises(SystemExit):
        migrations.main(["nonsense"])
    assert "unknown service" in capsys.readouterr().err


def test_the_servers_log_keeps_nothing_a_services_session_sent(service_databases):
    """An error's message, DETAIL, CONTEXT and statement echo submitted text: the roles the
    services connect as log nothing below FATAL on the server."""
    database = f"dzdesk_probe_q_{uuid.uuid4().hex[:8]}"
    service_databases.created.append(database)
    roles = config.role_names("probe")
    with psycopg.connect(config.admin_url(), autocommit=True) as admin:
        for kind in ("app", "system"):  # as a role made by an older release would be
            admin.execute(f'ALTER ROLE "{roles[kind]}" RESET ALL')
    migrations.migrate("probe", database=database, log=lambda *_: None)
    for kind in ("app", "system"):
        url = config.role_url(config.admin_url(), roles[kind], database)
        with psycopg.connect(url) as conn:
            shown = {
                name: conn.execute(f"SHOW {name}").fetchone()[0]
                for name in migrations.QUIET_SERVER_LOG
            }
        assert shown == migrations.QUIET_SERVER_LOG, kind
    service_databases.drop_all()
