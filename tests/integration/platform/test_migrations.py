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
    assert log == [f"probe: created database {database}",
                   *(f"probe: applied platform/{name}" for name in files)]
    admin = psycopg.conninfo.make_conninfo(config.admin_url(), dbname=database)
    with psycopg.connect(admin) as conn:
        applied = conn.execute("SELECT source, version FROM schema_migrations").fetchall()
        owner = conn.execute("SELECT pg_get_userbyid(datdba) FROM pg_database"
                             " WHERE datname = %s", (database,)).fetchone()[0]
        roles = {name for (name,) in conn.execute(
            "SELECT rolname FROM pg_roles WHERE rolname LIKE 'probe\\_%'")}
    assert applied == [("platform", name.removesuffix(".sql")) for name in files]
    assert owner == "probe_owner"
    assert {"probe_owner", "probe_app", "probe_system"} <= roles
    service_databases.drop_all()


def test_the_migrate_command_rejects_an_unknown_service(capsys):
    import pytest
    with pytest.raises(SystemExit):
        migrations.main(["nonsense"])
    assert "unknown service" in capsys.readouterr().err
