"""Test-wide set-up: eventlet first, then a fresh database and vhost for every test."""

from shared.green import patch

patch()  # before anything imports psycopg or opens a socket

import base64  # noqa: E402
import hashlib  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import uuid  # noqa: E402

import eventlet  # noqa: E402
import psycopg  # noqa: E402
import pytest  # noqa: E402
from nameko.testing.utils import find_free_port  # noqa: E402
from psycopg import sql  # noqa: E402

from shared import config, migrations  # noqa: E402
from tests.support.amqp import as_user  # noqa: E402

RUN_ID = uuid.uuid4().hex[:8]
MASTER_KEY = base64.b64encode(os.urandom(32)).decode()
# each service's own secrets, as compose and Kubernetes give them (deploy/README.md)
IDENTITY_SECRET_KEY = base64.b64encode(os.urandom(32)).decode()
AUDIT_SECRET_KEY = base64.b64encode(os.urandom(32)).decode()
INTEGRATIONS_SECRET_KEY = base64.b64encode(os.urandom(32)).decode()
EXTRA_MIGRATIONS = {}


def pytest_addoption(parser):
    parser.addoption(
        "--keep-databases",
        action="store_true",
        help="do not drop the per-test databases (for debugging)",
    )
    parser.addoption(
        "--seed",
        type=int,
        default=None,
        help="the run's seed of random test data (default: DZDESK_TEST_SEED, else"
        " a new one, printed in the header)",
    )


def pytest_configure(config):
    """Use PostgreSQL and RabbitMQ on localhost; where they do not answer and a Docker engine
    does, start throwaway ones with testcontainers and point the whole run at them."""
    chosen = config.getoption("--seed")
    if chosen is None:
        chosen = os.environ.get("DZDESK_TEST_SEED") or random.SystemRandom().randrange(10**9)
    config._dzdesk_seed = int(chosen)
    from tests.support.infrastructure import containers_if_needed

    started = containers_if_needed()
    if started:
        config.option.RABBIT_AMQP_URI = started["amqp_uri"]
        config.option.RABBIT_API_URI = started["management_uri"]
        config._dzdesk_containers = started["containers"]


def pytest_report_header(config):
    seed = config._dzdesk_seed
    return f"random test data: seed {seed} (again with DZDESK_TEST_SEED={seed} or --seed {seed})"


@pytest.fixture
def rng(request):
    """A random.Random for the test's data, seeded from the run's seed and the test's name, so
    one test re-runs alone with the same data; a failure's report names the seed."""
    run_seed = request.config._dzdesk_seed
    digest = hashlib.sha256(f"{run_seed}:{request.node.nodeid}".encode()).digest()
    request.node._dzdesk_seed = run_seed
    return random.Random(int.from_bytes(digest[:8], "big"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    seed = getattr(item, "_dzdesk_seed", None)
    if seed is not None and report.failed:
        report.sections.append(
            (
                "random test data",
                f"run seed {seed}: re-run with DZDESK_TEST_SEED={seed} pytest '{item.nodeid}'",
            )
        )


def pytest_unconfigure(config):
    for container in getattr(config, "_dzdesk_containers", []):
        container.stop()


class ServiceDatabases:
    """Per-test databases cloned from a template migrated once per run and service."""

    def __init__(self, keep):
        self.keep = keep
        self.templates = {}
        self.created = []
        self.dropping = []
        self.passwords = {}

    def template(self, service):
        if service not in self.templates:
            from shared.local_secrets import database_passwords

            # the roles' passwords as `make`'s set-up gives them (the local server may trust)
            if service in config.SERVICES:
                self.passwords[service] = database_passwords()[service]
            name = f"dzdesk_{service}_tpl_{RUN_ID}"
            migrations.migrate(
                service, database=name, log=lambda *_: None, password=self.passwords.get(service)
            )
            self.templates[service] = name
        return self.templates[service]

    def create(self, service):
        template = self.template(service)
        name = f"dzdesk_{service}_t_{uuid.uuid4().hex[:10]}"
        roles = config.role_names(service)
        with psycopg.connect(config.admin_url(), autocommit=True) as admin:
            admin.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {} OWNER {}").format(
                    sql.Identifier(name), sql.Identifier(template), sql.Identifier(roles["owner"])
                )
            )
        self.created.append(name)
        admin_url = psycopg.conninfo.make_conninfo(config.admin_url(), dbname=name)
        password = self.passwords.get(service)

        def url(role):
            plain = config.role_url(config.admin_url(), roles[role], name)
            return config.with_password(plain, password) if password else plain

        return {"name": name, "app": url("app"), "system": url("system"), "admin": admin_url}

    def drop_all(self, include_templates=False):
        """Drop this test's databases in the background while the next test runs."""
        names = self.created + (list(self.templates.values()) if include_templates else [])
        self.created = []
        self.dropping.append(eventlet.spawn(self._drop, names))
        if include_templates:
            for dropping in self.dropping:
                dropping.wait()

    @staticmethod
    def _drop(names, attempts=5):
        # A socket left behind by a killed service's green thread can keep eventlet listening
        # on a file descriptor the OS then hands to this connection; eventlet refuses the second
        # reader. The stale listener goes when its thread ends: try again a little later.
        for attempt in range(attempts):
            try:
                with psycopg.connect(config.admin_url(), autocommit=True) as admin:
                    for name in names:
                        admin.execute(
                            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                                sql.Identifier(name)
                            )
                        )
                return
            except RuntimeError:
                if attempt == attempts - 1:
                    raise
                eventlet.sleep(0.5 * (attempt + 1))


@pytest.fixture(scope="session")
def service_databases(request):
    databases = ServiceDatabases(request.config.getoption("--keep-databases"))
    yield databases
    if not databases.keep:
        databases.drop_all(include_templates=True)


@pytest.fixture
def make_database(service_databases):
    """make_database(service) -> urls of a fresh, migrated database for this test."""
    yield service_databases.create
    if not service_databases.keep:
        service_databases.drop_all()


# broker users of the tests' own services (probe and echo share one), with every right on
# a test's vhost; the real services' users get exactly their production permissions
TEST_BROKER_USERS = ("probe",)


@pytest.fixture(scope="session")
def broker_passwords(request):
    """The service users (as `make`'s set-up creates them) and the tests' own, once a run."""
    from shared import broker

    passwords = broker.local_passwords(config.SERVICES + TEST_BROKER_USERS)
    broker.apply(
        request.config.getoption("RABBIT_API_URI"),
        {
            "users": [
                {"name": name, "password": password, "tags": ""}
                for name, password in passwords.items()
            ]
        },
    )
    return passwords


@pytest.fixture
def rabbit_config(rabbit_config, broker_passwords, request):
    """nameko's per-test vhost, with the service users' permissions and exchanges there."""
    from shared import broker

    vhost = rabbit_config["vhost"]
    document = broker.definitions(vhost)
    document["permissions"] += [
        {"user": name, "vhost": vhost, "configure": ".*", "write": ".*", "read": ".*"}
        for name in TEST_BROKER_USERS
    ]
    document["exchanges"] += [
        {**document["exchanges"][0], "name": f"{name}.events"} for name in TEST_BROKER_USERS
    ]
    broker.apply(request.config.getoption("RABBIT_API_URI"), document)
    return rabbit_config


@pytest.fixture(scope="session")
def azurite(tmp_path_factory):
    """The connection string of a real Azurite (Azure Blob Storage's emulator): the one
    `make infra` started on 127.0.0.1:10000, else one of this run's own on a free port."""
    from dzdesk_dev import azurite as emulator

    if emulator.answers(emulator.DEFAULT_PORT):
        yield emulator.connection_string()
        return
    port = find_free_port()
    folder = tmp_path_factory.mktemp("azurite")
    process = emulator.start(folder, port, log=folder / "azurite.log")
    yield emulator.connection_string(port)
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def service_config(rabbit_config, make_database, token_issuer, request):
    """service_config(service) -> (nameko config, database urls) on this test's vhost."""

    def build(service, **overrides):
        urls = make_database(service)
        values = dict(config.nameko_config(service, env={}))
        values.update(rabbit_config)
        values["WEB_SERVER_ADDRESS"] = f"127.0.0.1:{find_free_port()}"
        values.update(
            {
                "DATABASE_URL": urls["app"],
                "SYSTEM_DATABASE_URL": urls["system"],
                "RELAY_POLL_INTERVAL": 0.02,
                "EVENT_RETRY_BACKOFF_MS": 20,
                "CURSOR_KEY": f"{service}-cursor-key-{RUN_ID}",
                **_own_secrets(service),
                **token_issuer.config,
                # the tests' own user calls RPCs as an operator's tool would
                "DZDESK_RPC_OPERATORS": "probe",
            }
        )
        if service == "ticketing":
            # attachments go to a real Azurite, started for the run when the first one needs it
            values["TICKETING_BLOB_CONNECTION_STRING"] = request.getfixturevalue("azurite")
        if service == "privacy":
            # most tests run privacy without audit; the suites with audit turn the check on
            values["PRIVACY_RECONCILE_SECONDS"] = 0
        values.update(overrides)
        # whichever vhost the URI names, the service logs in there as its own user
        values["AMQP_URI"] = as_user(values["AMQP_URI"], service)
        return values, urls

    return build


def _own_secrets(service):
    """The secrets `service` alone is given (the probe service, made of shared mechanisms only,
    none)."""
    return {
        "identity": {"IDENTITY_SECRET_KEY": IDENTITY_SECRET_KEY},
        "audit": {"AUDIT_SECRET_KEY": AUDIT_SECRET_KEY},
        "integrations": {"INTEGRATIONS_SECRET_KEY": INTEGRATIONS_SECRET_KEY},
        "privacy": {"DZDESK_MASTER_KEY": MASTER_KEY},
    }.get(service, {})


@pytest.fixture(scope="session")
def token_issuer():
    """Mints access tokens as identity would; its JWKS URL is in every service_config."""
    from tests.support.tokens import TokenIssuer

    issuer = TokenIssuer()
    yield issuer
    issuer.close()


@pytest.fixture
def container_factory(make_database):
    """nameko's container_factory, killing a test's containers at once rather than in turn
    (each waits up to a second for its consumer loop). It depends on make_database so that
    its containers are gone before their databases are dropped."""
    from nameko.containers import get_container_cls

    containers = []

    def make_container(service_cls, config):
        container = get_container_cls(config)(service_cls, config)
        containers.append(container)
        return container

    yield make_container
    pool = eventlet.GreenPool()
    for container in containers:
        pool.spawn(_kill_quietly, container)
    pool.waitall()


def _kill_quietly(container, timeout=30):
    # a container whose broker went away for good waits for ever for its consumer to
    # reconnect: give up on it rather than hang every later test (fault drills)
    with eventlet.Timeout(timeout, False):
        try:
            container.kill()
        except Exception:
            pass


@pytest.fixture
def own_broker():
    """A RabbitMQ node of this test's own, to stop and start: never the machine's broker."""
    from tests.support import rabbit_nodes

    if not rabbit_nodes.available():
        pytest.skip("needs rabbitmq-server installed on this machine")
    with rabbit_nodes.started(1) as nodes:
        yield nodes[0]


@pytest.fixture(scope="session")
def provider_keys():
    """RSA keys for the fake identity providers (google, microsoft, rogue): slow to generate."""
    from dzdesk_dev.keys import ProviderKey

    return tuple(ProviderKey.generate() for _ in range(3))


@pytest.fixture
def provider(provider_keys):
    """A local Google/Microsoft stand-in speaking their protocols over real HTTP(S)."""
    from tests.support.fake_oidc import FakeOidcProvider

    with FakeOidcProvider(keys=provider_keys) as fake:
        yield fake
