"""Creates each service's database and roles and applies its numbered SQL migrations.

The service's two login roles (app, system) get its password when one is given:
`<SERVICE>_DATABASE_PASSWORD` or the file named by `<SERVICE>_DATABASE_PASSWORD_FILE` (compose
and Kubernetes secrets), or the development one with `--local-passwords` (`make`). It is set on
every run, so changing the secret and migrating again rotates it; only its SCRAM verifier is
sent, never the password itself.
"""

import argparse
import base64
import hashlib
import hmac
import os
import pathlib
import sys

import psycopg
from psycopg import sql

from shared import config

PLATFORM_DIR = pathlib.Path(__file__).parent / "migrations"
SERVICES_DIR = pathlib.Path(__file__).parent.parent / "services"


def migration_files(service):
    """Platform migrations first, then the service's own, each in numeric order."""
    sources = [("platform", PLATFORM_DIR), (service, SERVICES_DIR / service / "migrations")]
    for source, folder in sources:
        for path in sorted(folder.glob("[0-9]*.sql")):
            yield source, path.stem, path


def render(text, roles):
    for kind, name in roles.items():
        text = text.replace("{{" + kind + "}}", name)
    return text


# PostgreSQL's own log writes an error's message, DETAIL, CONTEXT and statement, which echo
# what was submitted (a name in a bad uuid, a title in a failed insert). The services log their
# errors themselves without that text (shared/logs.py), so the server logs nothing of the
# sessions of the roles they connect as, below FATAL.
QUIET_SERVER_LOG = {
    "log_min_messages": "fatal",
    "log_min_error_statement": "panic",
    "log_error_verbosity": "terse",
}


def ensure_roles(admin, roles, log=print, password=None):
    for kind, name in roles.items():
        exists = admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone()
        if not exists:
            login = sql.SQL("NOLOGIN" if kind == "owner" else "LOGIN")
            admin.execute(
                sql.SQL("CREATE ROLE {} {} NOSUPERUSER NOBYPASSRLS").format(
                    sql.Identifier(name), login
                )
            )
        if kind != "owner":
            if password:
                admin.execute(
                    sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                        sql.Identifier(name), sql.Literal(scram_verifier(password))
                    )
                )
            quiet_server_log(admin, name, log)


def scram_verifier(password, salt=None, iterations=4096):
    """The SCRAM-SHA-256 verifier PostgreSQL stores for `password` (RFC 7677), made here so the
    password itself never reaches the server's statement log. Passwords are generated ASCII:
    SASLprep leaves them as they are."""

    def b64(raw):
        return base64.b64encode(raw).decode()

    salt = salt or os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def password_from_env(service, env=None):
    """The service's database password from the environment, None when not given."""
    return config.secret_value(
        os.environ if env is None else env, f"{service.upper()}_DATABASE_PASSWORD"
    )


def quiet_server_log(admin, role, log=print):
    """The server's log holds nothing a session of `role` sent (settings only a superuser may
    give; where the migrating user is none, the operator must set them: said, not fatal)."""
    try:
        with admin.transaction():
            for setting, value in QUIET_SERVER_LOG.items():
                admin.execute(
                    sql.SQL("ALTER ROLE {} SET {} = {}").format(
                        sql.Identifier(role), sql.Identifier(setting), sql.Literal(value)
                    )
                )
    except psycopg.errors.InsufficientPrivilege:
        log(
            f"{role}: set {', '.join(QUIET_SERVER_LOG)} for this role by hand: the migrating "
            "user may not, and the server's log would echo submitted text"
        )


def ensure_database(admin, database, owner, template=None):
    exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
    if exists:
        return False
    statement = sql.SQL("CREATE DATABASE {} OWNER {}").format(
        sql.Identifier(database), sql.Identifier(owner)
    )
    if template:
        statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
    admin.execute(statement)
    return True


def apply_migrations(conn, service, roles, log=print):
    """Apply what is not applied yet, each file in its own transaction, as the owner."""
    # an advisory lock: two processes migrating at once must not both apply a file
    conn.execute("SELECT pg_advisory_lock(hashtext('dzdesk.migrations'))")
    try:
        with conn.transaction():
            conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(roles["owner"])))
            conn.execute("""CREATE TABLE IF NOT EXISTS schema_migrations (
                source text NOT NULL, version text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (source, version))""")
        applied = set(conn.execute("SELECT source, version FROM schema_migrations").fetchall())
        for source, version, path in migration_files(service):
            if (source, version) in applied:
                continue
            with conn.transaction():
                conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(roles["owner"])))
                conn.execute(render(path.read_text(), roles))
                conn.execute(
                    "INSERT INTO schema_migrations (source, version) VALUES (%s, %s)",
                    (source, version),
                )
            log(f"{service}: applied {source}/{path.name}")
        with conn.transaction():
            conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(roles["owner"])))
            for kind in ("app", "system"):
                conn.execute(
                    sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(
                        sql.Identifier(roles[kind])
                    )
                )
                conn.execute(
                    sql.SQL("GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {}").format(
                        sql.Identifier(roles[kind])
                    )
                )
    finally:
        conn.execute("SELECT pg_advisory_unlock(hashtext('dzdesk.migrations'))")


def migrate(service, database=None, admin_url=None, template=None, log=print, password=None):
    """Create roles and database if missing, then apply pending migrations. Idempotent.
    `password`: the service's database password, set on its login roles."""
    database = database or config.database_name(service)
    admin_url = admin_url or config.admin_url()
    roles = config.role_names(service)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute("SELECT pg_advisory_lock(hashtext('dzdesk.roles'))")
        try:
            ensure_roles(admin, roles, log, password)
            created = ensure_database(admin, database, roles["owner"], template)
        finally:
            admin.execute("SELECT pg_advisory_unlock(hashtext('dzdesk.roles'))")
        for kind in ("app", "system"):
            admin.execute(
                sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                    sql.Identifier(database), sql.Identifier(roles[kind])
                )
            )
    if created:
        log(f"{service}: created database {database}")
    target = psycopg.conninfo.make_conninfo(admin_url, dbname=database)
    with psycopg.connect(target, autocommit=True) as conn:
        apply_migrations(conn, service, roles, log)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="dzdesk-migrate", description=__doc__)
    parser.add_argument("services", nargs="*", help="services to migrate (default: all)")
    parser.add_argument(
        "--local-passwords",
        action="store_true",
        help="the development passwords of ~/.config/dzdesk/ where the environment gives none",
    )
    args = parser.parse_args(argv)
    unknown = set(args.services) - set(config.SERVICES)
    if unknown:
        parser.error(f"unknown service(s): {', '.join(sorted(unknown))}")
    local = {}
    if args.local_passwords:
        from shared.local_secrets import database_passwords

        local = database_passwords()
    try:
        for service in args.services or config.SERVICES:
            migrate(service, password=password_from_env(service) or local.get(service))
    except psycopg.OperationalError as exc:
        print(f"dzdesk-migrate: cannot reach PostgreSQL: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
