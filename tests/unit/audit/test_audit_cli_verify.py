"""dzdesk-audit verify: offline verification of a replayed log and its exit codes."""

import json
import pathlib
import subprocess
import sys

import pytest

from services.audit.cli import main
from shared.jwk import public_jwk

REPO = pathlib.Path(__file__).resolve().parents[3]


@pytest.fixture
def files(tmp_path, build_log, stored_line, sign, signing_key, key_id):
    """A replayed log of 20 entries, a checkpoint at seq 15 and the trusted public key."""
    log = build_log(20)

    def write(entries, checkpoint_entry=log[14]):
        (tmp_path / "log.ndjson").write_bytes(b"".join(stored_line(e) + b"\n" for e in entries))
        (tmp_path / "checkpoint.json").write_text(json.dumps(sign(checkpoint_entry).to_dict()))
        (tmp_path / "key.json").write_text(json.dumps(public_jwk(signing_key.public_key(), key_id)))
        return [
            str(tmp_path / "log.ndjson"),
            "--checkpoint",
            str(tmp_path / "checkpoint.json"),
            "--public-key",
            str(tmp_path / "key.json"),
        ]

    write.log = log
    return write


def _verify(capsys, arguments):
    code = main(["verify", *arguments])
    captured = capsys.readouterr()
    return code, (json.loads(captured.out) if captured.out else None), captured.err


def test_an_intact_log_exits_0_and_prints_the_result(files, capsys):
    code, result, _ = _verify(capsys, files(files.log))

    assert code == 0
    assert result == {
        "ok": True,
        "entries": 20,
        "head": {"seq": 20, "hash": files.log[19].hash},
        "checkpoints_verified": 1,
        "first_bad_seq": None,
        "reason": None,
    }


def test_a_log_with_a_deleted_entry_exits_1_naming_the_missing_seq(files, capsys):
    code, result, _ = _verify(capsys, files(files.log[:6] + files.log[7:]))

    assert (code, result["ok"], result["first_bad_seq"]) == (1, False, 7)


def test_a_truncated_log_exits_1(files, capsys):
    code, result, _ = _verify(capsys, files(files.log[:12]))

    assert (code, result["first_bad_seq"]) == (1, 13)


def test_a_checkpoint_list_file_is_accepted(files, tmp_path, sign, capsys):
    arguments = files(files.log)
    (tmp_path / "checkpoint.json").write_text(
        json.dumps([sign(files.log[4]).to_dict(), sign(files.log[9]).to_dict()])
    )

    code, result, _ = _verify(capsys, arguments)

    assert (code, result["checkpoints_verified"]) == (0, 2)


def test_a_log_piped_to_the_command_through_stdin_verifies(files):
    arguments = files(files.log)
    with open(arguments[0], "rb") as log:
        completed = subprocess.run(
            [sys.executable, "-m", "services.audit.cli", "verify", "-", *arguments[1:]],
            cwd=REPO,
            stdin=log,
            capture_output=True,
            timeout=60,
        )

    assert completed.returncode == 0
    assert json.loads(completed.stdout)["entries"] == 20


def test_a_missing_log_file_exits_2_with_a_message(files, tmp_path, capsys):
    arguments = files(files.log)
    arguments[0] = str(tmp_path / "absent.ndjson")

    code, result, err = _verify(capsys, arguments)

    assert (code, result) == (2, None)
    assert "cannot read log" in err and "Traceback" not in err


def test_a_log_line_that_is_not_json_exits_2_naming_the_line(files, capsys):
    arguments = files(files.log)
    with open(arguments[0], "ab") as log:
        log.write(b"{not json\n")

    code, _, err = _verify(capsys, arguments)

    assert code == 2 and "line 21" in err


def test_a_checkpoint_file_that_is_not_a_checkpoint_exits_2(files, tmp_path, capsys):
    arguments = files(files.log)
    (tmp_path / "checkpoint.json").write_text('{"seq": 3}')

    code, _, err = _verify(capsys, arguments)

    assert code == 2 and "checkpoint lacks" in err


def test_verify_without_any_public_key_exits_2(files, capsys):
    code, _, err = _verify(capsys, files(files.log)[:3])

    assert code == 2 and "no public key" in err


def test_verify_without_a_checkpoint_is_a_usage_error(files, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["verify", files(files.log)[0]])

    assert exit_.value.code == 2


def test_verify_reports_progress_on_stderr_when_asked(files, capsys):
    _, _, err = _verify(capsys, [*files(files.log), "--progress"])

    assert "verified 20 entries" in err
