"""RabbitMQ nodes of a test's own, beside the machine's broker: to stop, restart and cluster.

Each node has its own name, config file (the machine's pins port 5672), AMQP and distribution
ports, data and log directories (owned by the `rabbitmq` user when the tests run as root) and
an Erlang cookie of its own, so it can never join or disturb the machine's node.
"""

import contextlib
import json
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

from kombu import Connection
from nameko.testing.utils import find_free_port

SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"
CTL = "/usr/lib/rabbitmq/bin/rabbitmqctl"


def service_definitions(vhost, user, password):
    """What `make`'s set-up gives the machine's broker, for a node of the tests' own: every
    service's user with its production permissions (shared.broker), the tests' own user
    `probe` with every right, the drill's user and guest (the tests' tooling), and the
    exchanges consumers bind passively."""
    from shared import broker, config

    names = (*config.SERVICES, "probe")
    document = broker.definitions(vhost, broker.local_passwords(names))
    document["users"] += [
        {"name": "probe", "password": broker.local_passwords(names)["probe"], "tags": ""},
        {"name": user, "password": password, "tags": "administrator"},
        {"name": "guest", "password": "guest", "tags": "administrator"},
    ]
    document["permissions"] += [
        {"user": name, "vhost": vhost, "configure": ".*", "write": ".*", "read": ".*"}
        for name in ("probe", user, "guest")
    ]
    document["exchanges"] += [{**document["exchanges"][0], "name": "probe.events"}]
    document["vhosts"] = [{"name": vhost}]  # imported at boot, before the default one exists
    return document


class NodeError(Exception):
    """A node did not start, stop or join in time."""


def available():
    """True when this machine can run RabbitMQ nodes of a test's own."""
    if not (os.path.exists(SERVER) and os.path.exists(CTL)):
        return False
    return os.geteuid() != 0 or _rabbitmq_user() is not None


def _rabbitmq_user():
    try:
        return pwd.getpwnam("rabbitmq")
    except KeyError:
        return None


class Node:
    """One RabbitMQ node under `base` (its data, logs, config and cookie)."""

    def __init__(self, base, name, cookie, user, password):
        self.name = f"{name}@localhost"
        self.dir = os.path.join(base, name)
        self.amqp_port = find_free_port()
        self.dist_port = find_free_port()
        self.cookie, self.user, self.password = cookie, user, password
        self.process = None
        os.makedirs(os.path.join(self.dir, "log"))
        definitions = os.path.join(self.dir, "definitions.json")
        with open(definitions, "w") as handle:
            json.dump(service_definitions("/", user, password), handle)
        with open(os.path.join(self.dir, "rabbitmq.conf"), "w") as conf:
            conf.write(
                f"listeners.tcp.default = 127.0.0.1:{self.amqp_port}\n"
                f"default_user = {user}\ndefault_pass = {password}\n"
                "loopback_users = none\n"
                "definitions.import_backend = local_filesystem\n"
                f"definitions.local.path = {definitions}\n"
                "log.console = false\nlog.file.level = warning\n"
            )
        with open(os.path.join(self.dir, "enabled_plugins"), "w") as plugins:
            plugins.write("[].\n")
        open(os.path.join(self.dir, "rabbitmq-env.conf"), "w").close()
        cookie_file = os.path.join(self.dir, ".erlang.cookie")
        with open(cookie_file, "w") as handle:
            handle.write(cookie)
        os.chmod(cookie_file, 0o400)

    def url(self, vhost="/"):
        from urllib.parse import quote

        return (
            f"amqp://{self.user}:{self.password}@127.0.0.1:{self.amqp_port}/{quote(vhost, safe='')}"
        )

    def env(self):
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": self.dir,
            "LANG": "C.UTF-8",
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_CONF_ENV_FILE": os.path.join(self.dir, "rabbitmq-env.conf"),
            "RABBITMQ_CONFIG_FILE": os.path.join(self.dir, "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": os.path.join(self.dir, "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": os.path.join(self.dir, "mnesia"),
            "RABBITMQ_LOG_BASE": os.path.join(self.dir, "log"),
            "RABBITMQ_PID_FILE": os.path.join(self.dir, "pid"),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        }

    def _command(self, argv):
        if os.geteuid() == 0:  # the node runs as `rabbitmq`, as the packaged one does
            return ["runuser", "-u", "rabbitmq", "--", *argv]
        return argv

    def start(self):
        """Start the node's process; `wait_started` waits for its AMQP port."""
        self.process = subprocess.Popen(
            self._command([SERVER]),
            env=self.env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def wait_started(self, timeout=60):
        deadline = time.monotonic() + timeout
        while not self.accepts_amqp():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise NodeError(
                    f"{self.name} did not start (exit code {self.process.poll()}); "
                    f"logs in {self.dir}/log"
                )
            time.sleep(0.1)

    def accepts_amqp(self):
        """True when an AMQP client can open a connection to this node now."""
        try:
            with Connection(self.url(), connect_timeout=1) as connection:
                connection.ensure_connection(max_retries=1)
            return True
        except Exception:
            return False

    def port_closed(self):
        """True when nothing listens on the node's AMQP port (the node is down)."""
        with socket.socket() as probe:
            probe.settimeout(1)
            return probe.connect_ex(("127.0.0.1", self.amqp_port)) != 0

    def ctl(self, *args, timeout=60):
        """rabbitmqctl against this node; its stdout."""
        done = subprocess.run(
            self._command([CTL, "-n", self.name, *args]),
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise NodeError(
                f"rabbitmqctl {' '.join(args)} on {self.name}: "
                f"{done.stderr.strip() or done.stdout.strip()}"
            )
        return done.stdout

    def queue_messages(self, vhost="/"):
        """{queue: messages ready or unacknowledged} as this node sees them."""
        import json

        rows = json.loads(
            self.ctl("list_queues", "-p", vhost, "name", "messages", "--formatter", "json") or "[]"
        )
        return {row["name"]: row["messages"] for row in rows}

    def stop(self, timeout=60):
        """Stop the whole node (its Erlang VM), waiting until its process has exited."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()  # rabbitmq-server shuts the node down cleanly on SIGTERM
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise NodeError(f"{self.name} did not stop within {timeout} s") from None

    def kill(self):
        """Kill the node's whole process group, whatever state it is in."""
        if self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, 9)
            except ProcessLookupError:
                pass
            self.process.wait()


class Nodes:
    """`count` nodes started in parallel, clustered with each other when more than one; a
    context manager that stops and deletes them all, also when start-up fails half-way."""

    def __init__(self, count=1, prefix="dzdesk-drill"):
        self.base = tempfile.mkdtemp(prefix="dzdesk-rabbit-")
        os.chmod(self.base, 0o755)
        tag = secrets.token_hex(3)
        cookie, user, password = secrets.token_hex(16), "drill", secrets.token_urlsafe(18)
        self.nodes = [
            Node(self.base, f"{prefix}-{tag}-{n}", cookie, user, password)
            for n in range(1, count + 1)
        ]
        owner = _rabbitmq_user() if os.geteuid() == 0 else None
        if owner is not None:
            for root, dirs, files in os.walk(self.base):
                for name in [*dirs, *files]:
                    os.chown(os.path.join(root, name), owner.pw_uid, owner.pw_gid)
            os.chown(self.base, owner.pw_uid, owner.pw_gid)

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()

    def __getitem__(self, index):
        return self.nodes[index]

    def start(self):
        for node in self.nodes:
            node.start()
        _parallel([node.wait_started for node in self.nodes])
        first, others = self.nodes[0], self.nodes[1:]
        # joining needs the joiner's app stopped; each join waits for the first node's lock
        _parallel([lambda node=node: self._join(node, first) for node in others])

    @staticmethod
    def _join(node, first):
        node.ctl("stop_app")
        node.ctl("join_cluster", first.name)
        node.ctl("start_app")
        node.wait_started()

    def urls(self, vhost="/"):
        """kombu's failover form: every node, `;`-separated."""
        return ";".join(node.url(vhost) for node in self.nodes)

    def add_vhost(self, vhost):
        """A vhost with the same users, permissions and exchanges as "/" (one import)."""
        first = self.nodes[0]
        path = os.path.join(first.dir, f"definitions-{secrets.token_hex(4)}.json")
        with open(path, "w") as handle:
            json.dump(service_definitions(vhost, first.user, first.password), handle)
        os.chmod(path, 0o644)
        first.ctl("import_definitions", path)

    def close(self):
        _parallel([node.kill for node in self.nodes], reraise=False)
        shutil.rmtree(self.base, ignore_errors=True)


def _parallel(calls, reraise=True):
    with ThreadPoolExecutor(max_workers=max(len(calls), 1)) as pool:
        futures = [pool.submit(call) for call in calls]
    errors = [f.exception() for f in futures if f.exception() is not None]
    if errors and reraise:
        raise errors[0]


@contextlib.contextmanager
def started(count=1, prefix="dzdesk-drill", attempts=2):
    """Nodes(count) started and yielded; a start-up that fails (a port taken meanwhile, a
    join that timed out) is thrown away whole and tried once more with fresh nodes, so a
    drill is judged on what it does to a running cluster, not on how its set-up went."""
    for attempt in range(1, attempts + 1):
        nodes = Nodes(count, prefix)
        try:
            nodes.start()
        except Exception as exc:
            nodes.close()
            if attempt == attempts:
                raise
            warnings.warn(
                f"RabbitMQ nodes did not start ({type(exc).__name__}: {exc}); starting fresh ones",
                stacklevel=2,
            )
            continue
        try:
            yield nodes
        finally:
            nodes.close()
        return
