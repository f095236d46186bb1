"""Development secrets of this user on this machine, generated once into ~/.config/dzdesk/.

They live beside the user's other settings rather than in a clone, because the local databases
outlive any one clone and hold what was sealed, hashed or granted with them; production sets its
own (deploy/README.md). `make run` and `make test` read them from here:

* dev-master.key: privacy's master key (DZDESK_MASTER_KEY), which wraps every subject key;
* service-secrets.json: IDENTITY_SECRET_KEY, AUDIT_SECRET_KEY, INTEGRATIONS_SECRET_KEY and each
  service's CURSOR_KEY;
* database-passwords.json: each service's database password (both its roles);
* broker-users.json: each broker user's password (shared.broker.local_passwords).
"""

import base64
import json
import os
import pathlib
import secrets

from shared.config import SERVICES

# Until these secrets existed identity and audit derived their keys from the master key: a
# local database from then holds keys sealed under it, so a machine that has a master key
# already starts them with its value (each service still derives under its own labels).
SEEDED_FROM_MASTER_KEY = ("IDENTITY_SECRET_KEY", "AUDIT_SECRET_KEY", "INTEGRATIONS_SECRET_KEY")
# the services with a secret key of their own (`<SERVICE>_SECRET_KEY`)
OWN_SECRET_KEY = {"identity", "audit", "integrations"}


def folder():
    return pathlib.Path(os.environ.get("XDG_CONFIG_HOME") or "~/.config").expanduser() / "dzdesk"


def random_key():
    """The base64 of 32 random bytes, the form of every DZDesk key."""
    return base64.b64encode(os.urandom(32)).decode()


def stored(filename, names, generate=lambda name: secrets.token_urlsafe(24)):
    """{name: secret} for `names` from `filename`, generating (and keeping) the missing ones."""
    import fcntl

    path = folder() / filename
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # concurrent set-ups agree on one secret each
        found = json.loads(path.read_text()) if path.exists() else {}
        missing = [name for name in names if name not in found]
        if missing:
            found.update({name: generate(name) for name in missing})
            fresh = path.with_name(f".{path.name}.{os.getpid()}")
            fresh.touch(mode=0o600)
            fresh.write_text(json.dumps(found))
            os.replace(fresh, path)
    return {name: found[name] for name in names}


def master_key_path():
    return folder() / "dev-master.key"


def master_key():
    """Privacy's development master key."""
    path = master_key_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fresh = path.with_name(f".{path.name}.{os.getpid()}")
        fresh.touch(mode=0o600)
        fresh.write_text(random_key())
        os.replace(fresh, path)
    return path.read_text().strip()


def cursor_key_name(service):
    return f"{service.upper()}_CURSOR_KEY"


def service_secrets():
    """Each `<SERVICE>_SECRET_KEY` (OWN_SECRET_KEY) and `<SERVICE>_CURSOR_KEY` of every service."""
    legacy = master_key_path().read_text().strip() if master_key_path().exists() else None

    def generate(name):
        return legacy if legacy and name in SEEDED_FROM_MASTER_KEY else random_key()

    names = (*SEEDED_FROM_MASTER_KEY, *(cursor_key_name(service) for service in SERVICES))
    # generated before the master key, so a new machine's are independent of it
    found = stored("service-secrets.json", names, generate)
    master_key()
    return found


def database_passwords(names=SERVICES):
    """Each service's development database password."""
    return stored("database-passwords.json", names)


def service_environment(service, env=None):
    """What a local process of `service` is given: its own secrets only (the master key to
    privacy alone), unless the environment already sets them."""
    env = dict(os.environ if env is None else env)
    own = service_secrets()
    given = {
        "CURSOR_KEY": own[cursor_key_name(service)],
        "DATABASE_PASSWORD": database_passwords()[service],
    }
    if service in OWN_SECRET_KEY:
        given[f"{service.upper()}_SECRET_KEY"] = own[f"{service.upper()}_SECRET_KEY"]
    if service == "privacy":
        given["DZDESK_MASTER_KEY"] = master_key()
    else:
        env.pop("DZDESK_MASTER_KEY", None)
        env.pop("DZDESK_MASTER_KEYS", None)
    for key, value in given.items():
        if not env.get(key) and not env.get(f"{key}_FILE"):
            env[key] = value
    return env
