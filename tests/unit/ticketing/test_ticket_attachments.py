"""Files on tickets in the pure domain (who may attach and remove, the event's fields), their
read-model rows from events, and a file's type from its bytes."""

from __future__ import annotations

import dataclasses
import io
import os

import pytest

from services.ticketing import projections
from services.ticketing.attachments import MultipartFile
from services.ticketing.domain import (
    ERASED,
    AddAttachment,
    AddComment,
    NotPermitted,
    RemoveAttachment,
    Transition,
    ValidationFailed,
)
from services.ticketing.scanning import (
    EICAR,
    INFECTED,
    EicarScanner,
    content_type,
    is_risky,
    load_scanner,
)


def attach(actor, new_id, **fields):
    values = {
        "attachment_id": new_id(),
        "file_name": "screen.png",
        "size": 10,
        "content_type": "image/png",
        "scan": "not_scanned",
        **fields,
    }
    return AddAttachment(actor=actor, **values)


def test_a_file_name_is_personal_data_of_its_uploader(open_ticket, requester, new_id):
    stream = open_ticket(requester)
    command = attach(requester, new_id)
    [event] = stream.when(command)
    assert event.type == "attachment_added"
    assert event.pii == {"file_name": {"subject_id": requester.user_id, "value": "screen.png"}}
    assert event.data == {
        "attachment_id": command.attachment_id,
        "comment_id": None,
        "internal": False,
        "size": 10,
        "content_type": "image/png",
        "scan": "not_scanned",
    }


def test_a_file_on_an_internal_comment_is_internal_and_staff_only(
    open_ticket, requester, agent, new_id
):
    stream = open_ticket(requester)
    note = new_id()
    stream.when(AddComment(actor=agent, comment_id=note, body="logs", internal=True))
    [event] = stream.when(attach(agent, new_id, comment_id=note))
    assert event.data["internal"] is True
    with pytest.raises(ValidationFailed):
        stream.when(attach(requester, new_id, comment_id=note))  # no such comment, for them
    with pytest.raises(ValidationFailed):
        stream.when(attach(agent, new_id, comment_id=new_id()))


def test_a_watcher_or_stranger_may_not_attach_and_a_closed_ticket_takes_no_file(
    open_ticket, requester, agent, stranger, new_id
):
    stream = open_ticket(requester)
    with pytest.raises(NotPermitted):
        stream.when(attach(stranger, new_id))
    stream.when(Transition(actor=agent, to="cancelled"))
    with pytest.raises(Exception, match="cancelled"):
        stream.when(attach(agent, new_id))


@pytest.mark.parametrize("name", ["", "a\nb", "x" * 256])
def test_a_file_name_must_be_a_short_line(open_ticket, requester, new_id, name):
    with pytest.raises(ValidationFailed):
        open_ticket(requester).when(attach(requester, new_id, file_name=name))


def test_the_uploader_and_staff_may_remove_a_file_nobody_else(
    open_ticket, requester, agent, actor_with, new_id
):
    stream = open_ticket(requester)
    attachment = new_id()
    remove = RemoveAttachment(
        actor=actor_with("requester"), attachment_id=attachment, uploaded_by=requester.user_id
    )
    with pytest.raises(NotPermitted):
        stream.when(remove)
    for who in (requester, agent):
        [event] = stream.when(
            RemoveAttachment(
                actor=who,
                attachment_id=attachment,
                uploaded_by=requester.user_id,
                file_name="screen.png",
            )
        )
        # the name stays the uploader's personal data, whoever removes the file
        assert (event.type, event.data, event.pii) == (
            "attachment_removed",
            {"attachment_id": attachment},
            {"file_name": {"subject_id": requester.user_id, "value": "screen.png"}},
        )


def test_rows_from_events_keep_the_files_still_there_and_none_of_an_erased_uploader(
    open_ticket, requester, agent, new_id
):
    stream = open_ticket(requester)
    kept, removed, erased = (attach(requester, new_id) for _ in range(3))
    for command in (kept, removed, erased):
        stream.when(command)
    stream.when(RemoveAttachment(actor=agent, attachment_id=removed.attachment_id, uploaded_by="x"))
    # the third uploader's key is shredded: their file's name opens as erased
    recorded = [
        dataclasses.replace(e, pii={"file_name": ERASED})
        if e.data.get("attachment_id") == erased.attachment_id
        else e
        for e in stream.events
    ]
    rows = projections.attachment_rows("t-1", recorded)
    assert [(r["attachment_id"], r["file_name"], r["uploaded_by"]) for r in rows] == [
        (kept.attachment_id, "screen.png", requester.user_id)
    ]


@pytest.mark.parametrize(
    "head, expected, risky",
    [
        (b"%PDF-1.7\n...", "application/pdf", False),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 30, "image/png", False),
        (b"MZ" + b"\0" * 100, "application/x-msdownload", True),
        (b"\x7fELF" + b"\0" * 100, "application/x-executable", True),
        (b"\xcf\xfa\xed\xfe" + b"\0" * 100, "application/x-mach-binary", True),
        (b"#!/bin/sh\nrm -rf /\n", "text/x-shellscript", True),
        (b"PK\x03\x04" + b"\0" * 100, "application/zip", True),
        (b"\x1f\x8b\x08" + b"\0" * 100, "application/gzip", True),
        ("Grüße, bitte prüfen\n".encode(), "text/plain", False),
        (b"\xff\xfe\x00\x01\x02" * 20, "application/octet-stream", False),
    ],
)
def test_the_type_comes_from_the_bytes(head, expected, risky):
    assert content_type(head) == expected
    assert is_risky(expected) is risky


def test_the_eicar_scanner_finds_the_signature_across_chunks_and_nothing_else():
    scanner = load_scanner("services.ticketing.scanning:EicarScanner")
    assert isinstance(scanner, EicarScanner)
    session = scanner.start()
    for piece in (b"x" * 100 + EICAR[:20], EICAR[20:] + b"y"):
        session.feed(piece)
    assert session.verdict() == INFECTED
    clean = scanner.start()
    clean.feed(b"nothing to see")
    assert clean.verdict() == "clean"
    assert load_scanner("services.ticketing.scanning:NotScanned").start().verdict() == (
        "not_scanned"
    )
    with pytest.raises(ValueError):
        load_scanner("services.ticketing.scanning:Nope")


def test_a_multipart_file_part_streams_whole_whatever_its_size_and_the_fields_before_it():
    content = os.urandom(3 * 1024 * 1024 + 17)
    body = (
        b'--xyz\r\nContent-Disposition: form-data; name="note"\r\n\r\n'
        + b"n" * 200_000
        + b'\r\n--xyz\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n'
        + b"Content-Type: application/octet-stream\r\n\r\n"
        + content
        + b"\r\n--xyz--\r\n"
    )
    part = MultipartFile(io.BytesIO(body), "xyz")
    assert part.open() == "big.bin"
    received = bytearray()
    while piece := part.read(65536):
        assert len(piece) <= 65536
        received += piece
    assert bytes(received) == content
