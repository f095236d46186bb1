"""The dzdesk-audit CLI's client: a tenant's log streamed from the service, NDJSON files read."""

import json

import requests

from services.audit.schemas import NDJSON

_CHUNK = 64 * 1024


class ReplayError(Exception):
    """The audit service could not be read: unreachable, refused, or answered nonsense."""


class BadLogLine(ValueError):
    """A line of an NDJSON log that is not a JSON object with an integer seq."""


class _Cut(Exception):
    """The stream ended inside a line."""


def parse_line(line, number):
    try:
        entry = json.loads(line)
    except ValueError as error:
        raise BadLogLine(f"line {number}: not JSON ({error})") from error
    if not isinstance(entry, dict) or type(entry.get("seq")) is not int:
        raise BadLogLine(f"line {number}: not an audit entry (a JSON object with an integer seq)")
    return entry


def read_entries(lines):
    """Entries (dicts) from NDJSON lines (bytes or text), lazily; blank lines are skipped."""
    for number, line in enumerate(lines, start=1):
        if line.strip():
            yield parse_line(line, number)


def _refusal(response):
    detail = ""
    try:
        body = response.json()
        detail = body.get("detail") or body.get("title") or ""
    except ValueError:
        pass
    return ReplayError(
        f"{response.request.method} {response.url} answered "
        f"{response.status_code} {response.reason}" + (f": {detail}" if detail else "")
    )


def _get(session, url, token, accept, params, timeout):
    headers = {"Authorization": f"Bearer {token}", "Accept": accept}
    try:
        response = session.get(url, headers=headers, params=params, stream=True, timeout=timeout)
    except requests.RequestException as error:
        raise ReplayError(f"cannot reach {url}: {error}") from error
    if response.status_code != 200:
        with response:
            raise _refusal(response)
    return response


def stream_events(
    base_url, token, *, after_seq=None, from_time=None, to_time=None, retries=3, timeout=30.0
):
    """Yield the raw NDJSON lines (bytes, no newline) of GET /v1/audit/events, in seq order.

    Nothing is held beyond one chunk. When the connection breaks mid-stream the request is
    resumed up to `retries` times with `after_seq` = the last complete entry's seq, so the
    lines yielded are each entry exactly once; a cut inside a line drops the partial line.
    """
    url = base_url.rstrip("/") + "/v1/audit/events"
    with requests.Session() as session:
        yield from _resuming(session, url, token, from_time, to_time, retries, timeout, after_seq)


def _resuming(session, url, token, from_time, to_time, retries, timeout, last_seq):
    attempts, number = 0, 0
    while True:
        params = {"after_seq": last_seq, "from": from_time, "to": to_time}
        response = _get(session, url, token, NDJSON, params, timeout)
        try:
            with response:
                for line in response.iter_lines(chunk_size=_CHUNK):
                    if not line.strip():
                        continue
                    number += 1
                    try:
                        entry = parse_line(line, number)
                    except BadLogLine:
                        raise _Cut() from None
                    if last_seq is not None and entry["seq"] <= last_seq:
                        continue  # already yielded before a resume
                    last_seq = entry["seq"]
                    yield line
            return
        except (_Cut, requests.RequestException) as error:
            attempts += 1
            if attempts > retries:
                raise ReplayError(
                    f"the stream from {url} broke after seq {last_seq} "
                    f"{attempts} times: {error or 'incomplete line'}"
                ) from error


def fetch_latest_checkpoint(base_url, token, *, timeout=30.0):
    """GET /v1/audit/checkpoints/latest: `{"checkpoint": {...}, "public_key": {jwk}}`."""
    url = base_url.rstrip("/") + "/v1/audit/checkpoints/latest"
    with (
        requests.Session() as session,
        _get(session, url, token, "application/json", None, timeout) as response,
    ):
        try:
            body = response.json()
        except ValueError as error:
            raise ReplayError(f"{url} did not answer JSON") from error
    if not isinstance(body, dict) or not isinstance(body.get("checkpoint"), dict):
        raise ReplayError(f"{url} did not answer a checkpoint document")
    return body
