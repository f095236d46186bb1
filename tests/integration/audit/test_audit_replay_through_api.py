"""dzdesk-audit against the running service: the replayed log equals the stored one and verifies."""

import json
import os
import subprocess
import sys

import pytest

from tests.integration.audit.conftest import envelope, rows


def cli(*args, token):
    return subprocess.run(
        [sys.executable, "-m", "services.audit.cli", *args],
        capture_output=True,
        timeout=60,
        check=False,
        env={**os.environ, "DZDESK_AUDIT_TOKEN": token},
    )


@pytest.fixture
def replayed(audit, tenant_id, tmp_path):
    audit.publish([envelope(tenant_id, n) for n in range(1, 41)])
    audit.wait_for(40, tenant_id)
    audit.post("/v1/audit/checkpoints", tenant_id)
    audit.wait_for(41, tenant_id)
    token = audit.issuer.token(tenant_id=tenant_id, roles=("compliance_officer",))
    log, checkpoint = tmp_path / "log.ndjson", tmp_path / "checkpoint.json"
    for command, output in (("replay", log), ("fetch-checkpoint", checkpoint)):
        done = cli(command, "--url", audit.base, "-o", str(output), token=token)
        assert done.returncode == 0, done.stderr
    return log, checkpoint, token


def test_the_replayed_log_equals_the_stored_log(audit, tenant_id, replayed):
    log, _, _ = replayed
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    stored = rows(audit.urls, tenant_id, "seq, event_id::text, envelope, prev_hash, hash")
    assert [
        (line["seq"], line["event_id"], line["envelope"], line["prev_hash"], line["hash"])
        for line in lines
    ] == [
        (seq, event_id, json.loads(text), bytes(prev).hex(), bytes(hash).hex())
        for seq, event_id, text, prev, hash in stored
    ]


def test_the_replayed_log_verifies_offline_against_the_signed_checkpoint(audit, replayed):
    log, checkpoint, token = replayed
    done = cli("verify", str(log), "--checkpoint", str(checkpoint), token=token)
    result = json.loads(done.stdout)
    assert done.returncode == 0, done.stderr
    assert (result["ok"], result["entries"], result["checkpoints_verified"]) == (True, 41, 1)


def test_an_offline_verification_of_an_edited_replay_fails_at_the_edited_seq(replayed):
    log, checkpoint, token = replayed
    lines = log.read_text().splitlines()
    entry = json.loads(lines[9])
    entry["envelope"]["data"]["priority"] = "p1"
    lines[9] = json.dumps(entry)
    log.write_text("\n".join(lines) + "\n")

    done = cli("verify", str(log), "--checkpoint", str(checkpoint), token=token)
    assert done.returncode == 1
    assert json.loads(done.stdout)["first_bad_seq"] == 10
