"""Where the test servers come from: localhost when they answer, else testcontainers + Docker."""

import os
import pathlib
import sys

# the same probes `make test`'s set-up uses (deploy/local/infra.py is a script, not a package)
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "deploy" / "local"))
from infra import answers, docker_answers  # noqa: E402


def containers_if_needed():
    """None when localhost serves both; else start containers (only with Docker) and say where."""
    if answers(5432) and answers(5672):
        return None
    if not docker_answers():
        return None  # the tests fail with a clear connection error, as make test's set-up said
    from testcontainers.postgres import PostgresContainer
    from testcontainers.rabbitmq import RabbitMqContainer

    # trust auth: the per-service roles log in without passwords, as on a developer machine
    postgres = (
        PostgresContainer(
            "postgres:15", username="postgres", password="postgres", dbname="postgres"
        )
        .with_env("POSTGRES_HOST_AUTH_METHOD", "trust")
        .start()
    )
    rabbit = RabbitMqContainer("rabbitmq:3.13-management").with_exposed_ports(5672, 15672).start()
    pg_host, pg_port = postgres.get_container_host_ip(), postgres.get_exposed_port(5432)
    host, amqp_port = rabbit.get_container_host_ip(), rabbit.get_exposed_port(5672)
    os.environ["DZDESK_ADMIN_DATABASE_URL"] = (
        f"postgresql://postgres:postgres@{pg_host}:{pg_port}/postgres"
    )
    return {
        "containers": [postgres, rabbit],
        "amqp_uri": f"pyamqp://guest:guest@{host}:{amqp_port}/",
        "management_uri": f"http://guest:guest@{host}:{rabbit.get_exposed_port(15672)}",
    }
