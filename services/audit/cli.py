"""The dzdesk-audit command: replay a tenant's audit log from the service and verify it offline."""

import argparse
import contextlib
import datetime
import json
import os
import sys
import time

from services.audit.checkpoints import Checkpoint, InvalidCheckpoint, public_keys_by_id
from services.audit.cli_client import (
    BadLogLine,
    ReplayError,
    fetch_latest_checkpoint,
    read_entries,
    stream_events,
)
from services.audit.verification import MalformedEntry, verify_chain

TOKEN_ENV = "DZDESK_AUDIT_TOKEN"
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad arguments or unreadable input: exit 2 with the message, never a traceback."""


class Progress:
    """Entries so far and their rate on stderr, throttled; silent unless a TTY or asked for."""

    def __init__(self, stream, enabled, verb):
        self.stream, self.verb, self.count = stream, verb, 0
        self.tty = stream.isatty()
        self.enabled = bool(enabled) or self.tty
        # A terminal line is redrawn in place; a log file gets a line now and then.
        self.interval = 0.5 if self.tty else 5.0
        self.started = self.shown = time.monotonic()

    def tick(self):
        self.count += 1
        if self.enabled and time.monotonic() - self.shown >= self.interval:
            self._show(final=False)

    def finish(self):
        if self.enabled:
            self._show(final=True)

    def _show(self, final):
        now = time.monotonic()
        rate = self.count / max(now - self.started, 1e-9)
        text = f"{self.verb} {self.count} entries ({rate:,.0f}/s)"
        if self.tty:
            text = "\r" + text + ("\n" if final else "")
        else:
            text += "\n"
        self.stream.write(text)
        self.stream.flush()
        self.shown = now


def _iso_time(text):
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time") from error
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.astimezone(datetime.UTC).isoformat()


def _token(args):
    token = args.token or os.environ.get(TOKEN_ENV)
    if not token:
        raise UsageError(f"an access token is needed: --token or ${TOKEN_ENV}")
    return token


@contextlib.contextmanager
def _sink(path):
    """stdout, or a file that only takes its name once complete (no half log under the name)."""
    if path is None or path == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    partial = f"{path}.part"
    with open(partial, "wb") as sink:
        try:
            yield sink
        except BaseException:
            sink.close()
            os.unlink(partial)
            raise
    os.replace(partial, path)


def replay(args):
    lines = stream_events(
        args.url,
        _token(args),
        after_seq=args.after_seq,
        from_time=args.from_time,
        to_time=args.to_time,
        retries=args.retries,
    )
    progress = Progress(sys.stderr, args.progress, "replayed")
    with _sink(args.output) as sink:
        for line in lines:
            sink.write(line + b"\n")
            progress.tick()
    progress.finish()
    return EXIT_OK


def fetch_checkpoint(args):
    body = fetch_latest_checkpoint(args.url, _token(args))
    with _sink(args.output) as sink:
        sink.write(json.dumps(body, indent=2).encode("utf-8") + b"\n")
    return EXIT_OK


def _read_json(path, what):
    try:
        with open(path, "rb") as source:
            return json.load(source)
    except OSError as error:
        raise UsageError(f"cannot read {what} {path}: {error.strerror}") from error
    except ValueError as error:
        raise UsageError(f"{what} {path} is not JSON: {error}") from error


def _load_checkpoints(paths):
    """Checkpoints and the public keys shipped beside them, from files of any accepted shape."""
    checkpoints, keys = [], {}
    for path in paths:
        document = _read_json(path, "checkpoint file")
        bodies = document if isinstance(document, list) else [document]
        for body in bodies:
            if isinstance(body, dict) and "checkpoint" in body:
                if body.get("public_key") is not None:
                    keys.update(public_keys_by_id(body["public_key"]))
                body = body["checkpoint"]
            checkpoints.append(Checkpoint.from_dict(body))
    return checkpoints, keys


def _load_keys(paths):
    keys = {}
    for path in paths:
        document = _read_json(path, "public key file")
        if isinstance(document, dict) and "public_key" in document:
            document = document["public_key"]
        keys.update(public_keys_by_id(document))
    return keys


def verify(args):
    try:
        checkpoints, embedded = _load_checkpoints(args.checkpoint)
        pinned = _load_keys(args.public_key or [])
    except InvalidCheckpoint as error:
        raise UsageError(str(error)) from error
    if not pinned and not embedded:
        raise UsageError("no public key: pass --public-key or a checkpoint file that holds one")
    if not pinned:
        print(
            "note: the public key came from the checkpoint file; it proves the log only if "
            "that key is one you trust (compare its kid)",
            file=sys.stderr,
        )
    progress = Progress(sys.stderr, args.progress, "verified")
    with _log_lines(args.file) as lines:
        entries = read_entries(lines)
        result = verify_chain(_ticking(entries, progress), checkpoints, {**embedded, **pinned})
    progress.finish()
    print(json.dumps(result.as_dict(), indent=2))
    return EXIT_OK if result.ok else EXIT_FAILED


def _ticking(entries, progress):
    for entry in entries:
        progress.tick()
        yield entry


@contextlib.contextmanager
def _log_lines(path):
    if path == "-":
        yield sys.stdin.buffer
        return
    try:
        source = open(path, "rb")
    except OSError as error:
        raise UsageError(f"cannot read log {path}: {error.strerror}") from error
    with source:
        yield source


def _parser():
    parser = argparse.ArgumentParser(
        prog="dzdesk-audit", description="Replay and verify a tenant's DZDesk audit log."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    def remote(name, help):
        command = commands.add_parser(name, help=help)
        command.add_argument(
            "--url", required=True, help="base URL of the gateway or audit service"
        )
        command.add_argument("--token", help=f"bearer access token (default: ${TOKEN_ENV})")
        command.add_argument("--output", "-o", help="write here instead of stdout")
        return command

    replay_command = remote("replay", "stream the tenant's log as NDJSON")
    start = replay_command.add_mutually_exclusive_group()
    start.add_argument("--after-seq", type=int, help="only entries with a greater seq")
    start.add_argument(
        "--from",
        dest="from_time",
        type=_iso_time,
        help="only entries recorded at or after this ISO 8601 time (UTC if naive)",
    )
    replay_command.add_argument(
        "--to",
        dest="to_time",
        type=_iso_time,
        help="only entries recorded before this ISO 8601 time",
    )
    replay_command.add_argument(
        "--retries", type=int, default=3, help="resume a broken stream this many times (default 3)"
    )
    replay_command.set_defaults(run=replay)

    remote("fetch-checkpoint", "save the latest signed checkpoint and its public key").set_defaults(
        run=fetch_checkpoint
    )

    verify_command = commands.add_parser("verify", help="verify an NDJSON log offline")
    verify_command.add_argument("file", help="NDJSON log written by replay ('-' for stdin)")
    verify_command.add_argument(
        "--checkpoint",
        action="append",
        required=True,
        help="checkpoint JSON: one, a list, or fetch-checkpoint's output (repeatable)",
    )
    verify_command.add_argument(
        "--public-key",
        action="append",
        help="trusted JWK or JWK set (repeatable); optional when the "
        "checkpoint file carries the key",
    )
    verify_command.set_defaults(run=verify)

    for command in (replay_command, verify_command):
        command.add_argument(
            "--progress",
            action="store_true",
            default=None,
            help="report progress on stderr even when it is not a terminal",
        )
    return parser


def main(argv=None):
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except (UsageError, BadLogLine, MalformedEntry, InvalidCheckpoint) as error:
        print(f"dzdesk-audit: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except ReplayError as error:
        print(f"dzdesk-audit: {error}", file=sys.stderr)
        return EXIT_FAILED
    except BrokenPipeError:
        # The reader (e.g. `head`) went away; point stdout at nothing so the interpreter's
        # final flush does not print a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
