"""dzdesk-audit replay and fetch-checkpoint against a real HTTP server on 127.0.0.1."""

import http.server
import json
import pathlib
import subprocess
import sys
import threading
import urllib.parse
import uuid

import pytest

from services.audit.cli import main
from shared.jwk import public_jwk

REPO = pathlib.Path(__file__).resolve().parents[3]


class FakeAudit:
    """Serves NDJSON entries and the latest checkpoint the way the audit service does."""

    def __init__(self, token):
        self.token, self.lines, self.latest = token, [], None
        self.requests = []
        self.cut_first_response_after = None

    def handler(self):
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                url = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                fake.requests.append((url.path, query, dict(self.headers)))
                if self.headers.get("Authorization") != f"Bearer {fake.token}":
                    return self._send(
                        401,
                        "application/problem+json",
                        b'{"title": "Unauthorized", "detail": "bad token"}',
                    )
                if url.path == "/v1/audit/events":
                    return self._events(int(query.get("after_seq", 0)))
                if url.path == "/v1/audit/checkpoints/latest" and fake.latest:
                    return self._send(200, "application/json", json.dumps(fake.latest).encode())
                self._send(404, "application/problem+json", b'{"title": "Not Found"}')

            def _send(self, status, content_type, body):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _events(self, after_seq):
                # HTTP/1.0 without a length: the body ends when the connection closes, as a
                # streamed response cut by a dying server would.
                self.send_response(200)
                self.send_header("Content-Type", "application/x-ndjson")
                self.end_headers()
                served = [line for line in fake.lines if json.loads(line)["seq"] > after_seq]
                cut, fake.cut_first_response_after = fake.cut_first_response_after, None
                for number, line in enumerate(served):
                    if cut is not None and number == cut:
                        self.wfile.write(line[: len(line) // 2])
                        return
                    self.wfile.write(line + b"\n")

        return Handler


@pytest.fixture
def token():
    return uuid.uuid4().hex


@pytest.fixture
def audit(token):
    fake = FakeAudit(token)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), fake.handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture
def served(audit, build_log, stored_line):
    audit.lines = [stored_line(entry) for entry in build_log(25)]
    return b"".join(line + b"\n" for line in audit.lines)


def test_replay_writes_exactly_the_entries_the_server_served(audit, served, token, tmp_path):
    output = tmp_path / "log.ndjson"

    code = main(["replay", "--url", audit.url, "--token", token, "--output", str(output)])

    assert code == 0 and output.read_bytes() == served


def test_replay_asks_for_ndjson_with_the_bearer_token(audit, served, token, tmp_path):
    main(["replay", "--url", audit.url, "--token", token, "-o", str(tmp_path / "log.ndjson")])

    path, _, headers = audit.requests[0]
    assert path == "/v1/audit/events"
    assert (headers["Accept"], headers["Authorization"]) == (
        "application/x-ndjson",
        f"Bearer {token}",
    )


def test_replay_after_a_seq_writes_only_the_later_entries(audit, served, token, tmp_path):
    output = tmp_path / "tail.ndjson"

    main(["replay", "--url", audit.url, "--token", token, "--after-seq", "20", "-o", str(output)])

    assert [json.loads(line)["seq"] for line in output.read_bytes().splitlines()] == [
        21,
        22,
        23,
        24,
        25,
    ]


def test_replay_sends_the_time_range_as_utc_iso_times(audit, served, token, tmp_path):
    main(
        [
            "replay",
            "--url",
            audit.url,
            "--token",
            token,
            "--from",
            "2025-03-01T10:00:00+02:00",
            "--to",
            "2025-03-02T00:00:00",
            "-o",
            str(tmp_path / "range.ndjson"),
        ]
    )

    _, query, _ = audit.requests[0]
    assert (query["from"], query["to"]) == (
        "2025-03-01T08:00:00+00:00",
        "2025-03-02T00:00:00+00:00",
    )


def test_replay_resumes_after_the_last_complete_entry_when_the_stream_breaks(
    audit, served, token, tmp_path
):
    audit.cut_first_response_after = 10
    output = tmp_path / "log.ndjson"

    code = main(["replay", "--url", audit.url, "--token", token, "-o", str(output)])

    assert code == 0 and output.read_bytes() == served
    assert audit.requests[1][1]["after_seq"] == "10"


def test_replay_with_a_refused_token_exits_1_with_the_servers_reason(
    audit, served, tmp_path, capsys
):
    output = tmp_path / "log.ndjson"

    code = main(["replay", "--url", audit.url, "--token", "wrong", "-o", str(output)])

    assert code == 1 and "401" in capsys.readouterr().err
    assert not output.exists()


def test_replay_reports_progress_on_stderr_when_asked(audit, served, token, tmp_path, capsys):
    main(
        [
            "replay",
            "--url",
            audit.url,
            "--token",
            token,
            "--progress",
            "-o",
            str(tmp_path / "log.ndjson"),
        ]
    )

    assert "replayed 25 entries" in capsys.readouterr().err


def test_replay_as_a_subprocess_streams_the_log_to_stdout(audit, served, token):
    completed = subprocess.run(
        [sys.executable, "-m", "services.audit.cli", "replay", "--url", audit.url],
        cwd=REPO,
        env={"DZDESK_AUDIT_TOKEN": token, "PATH": ""},
        capture_output=True,
        timeout=60,
    )

    assert (completed.returncode, completed.stdout, completed.stderr) == (0, served, b"")


def test_a_fetched_checkpoint_verifies_the_replayed_log(
    audit, build_log, stored_line, sign, signing_key, key_id, token, tmp_path, capsys
):
    log = build_log(12)
    audit.lines = [stored_line(entry) for entry in log]
    audit.latest = {
        "checkpoint": sign(log[9]).to_dict(),
        "public_key": public_jwk(signing_key.public_key(), key_id),
    }
    log_file, checkpoint_file = tmp_path / "log.ndjson", tmp_path / "checkpoint.json"
    main(["replay", "--url", audit.url, "--token", token, "-o", str(log_file)])
    main(["fetch-checkpoint", "--url", audit.url, "--token", token, "-o", str(checkpoint_file)])
    capsys.readouterr()

    code = main(["verify", str(log_file), "--checkpoint", str(checkpoint_file)])

    result = json.loads(capsys.readouterr().out)
    assert (code, result["ok"], result["checkpoints_verified"]) == (0, True, 1)
