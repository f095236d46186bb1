"""Azurite, the Azure Storage emulator (npm package `azurite`, pinned in
deploy/local/azurite/package.json and its lock file), for `make run` and the tests: installed
into deploy/local/azurite/node_modules when missing, started as a blob service of its own.

`python -m dzdesk_dev.azurite --dir .run/azurite --port 10000` runs one in the foreground.
"""

import argparse
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import time

FOLDER = pathlib.Path(__file__).resolve().parents[1] / "deploy" / "local" / "azurite"
BINARY = FOLDER / "node_modules" / ".bin" / "azurite-blob"
DEFAULT_PORT = 10000
# Azurite's one built-in account: its name and key are published in Microsoft's documentation
# (they are the emulator's, no secret of anyone's)
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


def connection_string(port=DEFAULT_PORT, host="127.0.0.1"):
    return (
        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
        f"BlobEndpoint=http://{host}:{port}/{ACCOUNT};"
    )


def answers(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def install():
    """Install the pinned Azurite from the lock file when it is not there yet; True when it is."""
    if BINARY.exists():
        return True
    npm = shutil.which("npm")
    if npm is None:
        return False
    print("azurite: installing the pinned Azurite (npm ci)", flush=True)
    done = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=FOLDER,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    return done.returncode == 0 and BINARY.exists()


def command(folder, port):
    return [
        str(BINARY),
        "--blobHost",
        "127.0.0.1",
        "--blobPort",
        str(port),
        "--location",
        str(folder),
        "--silent",
        # the SDK may be newer than the emulator: the API version it asks for is accepted
        "--skipApiVersionCheck",
    ]


def start(folder, port=DEFAULT_PORT, log=None, detached=False, wait=30):
    """Start Azurite's blob service on 127.0.0.1:`port`, its data under `folder`; the process,
    once it listens. `detached`: in a session of its own, outliving the caller (make infra)."""
    if not install():
        raise RuntimeError(
            "Azurite is not installed and npm is missing (install Node.js and npm, then run "
            "`make infra`)"
        )
    pathlib.Path(folder).mkdir(parents=True, exist_ok=True)
    output = open(log, "ab") if log else subprocess.DEVNULL
    process = subprocess.Popen(
        command(folder, port),
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=detached,
    )
    deadline = time.monotonic() + wait
    while not answers(port):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"Azurite did not listen on port {port}")
        time.sleep(0.1)
    return process


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", default=".run/azurite")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    args = parser.parse_args(argv)
    if not install():
        print("azurite: not installed and npm is missing", file=sys.stderr)
        return 1
    os.execv(str(BINARY), command(args.dir, args.port))


if __name__ == "__main__":
    sys.exit(main())
