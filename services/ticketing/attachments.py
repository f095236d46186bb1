"""Files on tickets: read the request body in chunks, find its type from its bytes, refuse
what is refused, scan it, seal it under the uploader's subject key and stage it in Azure
Blob Storage as it comes; the event and the row follow. Downloads open the blob as it
streams. A file of any allowed size never sits whole in memory (nor on disk in clear).

Order of an upload: the caller's right to attach is checked first (the ticket's visibility,
the comment), the transaction is closed while the bytes flow, the blob is committed, and only
then `ticketing.attachment_added` is decided and appended (decide has the last word: a blob
whose event was refused is deleted again). A file whose event never got written is at worst
an orphan blob of ciphertext under a key only its uploader's erasure would shred.
"""

import base64
import uuid
from urllib.parse import quote

import structlog
from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import Data, Epilogue, File, MultipartDecoder, NeedData
from werkzeug.wrappers import Response

from services.ticketing import blobs as blob_names
from services.ticketing import exceptions, store
from services.ticketing.domain import AddAttachment, RemoveAttachment
from services.ticketing.scanning import (
    INFECTED,
    NOT_SCANNED,
    OCTET_STREAM,
    SNIFF_BYTES,
    content_type,
    is_risky,
)
from shared import errors
from shared.crypto import CipherError
from shared.stream_cipher import CHUNK_BYTES, open_stream, seal_stream

log = structlog.get_logger()
UPLOAD_READ = "dzdesk.attachment_body_read"
# what a multipart body may hold besides its file (boundaries, part headers, small fields);
# the gateway allows the same (deploy/nginx/render.py)
MULTIPART_SLACK = 64 * 1024


class AttachmentNotFound(exceptions.TicketingServiceError, errors.NotFound):
    """Also what a caller gets for a file they may not see (an internal comment's)."""


class FileTooLarge(exceptions.TicketingServiceError, errors.PayloadTooLarge):
    pass


class FileTypeRefused(exceptions.TicketingServiceError, errors.UnsupportedMediaType):
    pass


class FileInfected(exceptions.TicketingServiceError, errors.Forbidden):
    pass


def checked_attachment_id(attachment_id):
    try:
        return str(uuid.UUID(str(attachment_id)))
    except ValueError as exc:
        raise AttachmentNotFound("attachment not found") from exc


class MultipartFile:
    """The first file part of a multipart/form-data body, read as it streams (werkzeug's
    incremental decoder): `open()` reads up to the part's headers and gives its filename,
    `read(n)` its bytes; other fields before it are skipped, everything after it ignored."""

    READ = 64 * 1024

    def __init__(self, stream, boundary):
        self.stream = stream
        # what the decoder may hold unparsed at once (a read, and the tail it keeps while it
        # looks for a boundary); the data of parts is handed on, never accumulated
        self.decoder = MultipartDecoder(boundary.encode("latin-1"), 1024 * 1024, max_parts=16)
        self.buffer, self.done = bytearray(), False
        self.in_file, self.eof, self._pending = False, False, None

    def _events(self):
        while True:
            event = self.decoder.next_event()
            if not isinstance(event, NeedData):
                yield event
                continue
            if self.eof:
                raise ValueError("the multipart body ends before its closing boundary")
            chunk = self.stream.read(self.READ)
            self.eof = not chunk
            self.decoder.receive_data(chunk or None)

    def open(self):
        try:
            for event in self._iterate():
                if isinstance(event, File):
                    self.in_file = True
                    return event.filename
                if isinstance(event, Epilogue):
                    break
        except ValueError as exc:
            raise errors.BadRequest("the multipart body is malformed") from exc
        raise errors.BadRequest("the multipart body has no file part", field="file")

    def _iterate(self):
        if self._pending is None:
            self._pending = self._events()
        return self._pending

    def read(self, size):
        try:
            while len(self.buffer) < size and not self.done:
                event = next(self._iterate(), None)
                if event is None or isinstance(event, Epilogue):
                    self.done = True
                elif isinstance(event, Data) and self.in_file:
                    self.buffer += event.data
                    if not event.more_data:
                        self.done = True
        except ValueError as exc:
            raise errors.BadRequest("the multipart body is malformed") from exc
        piece = bytes(self.buffer[:size])
        del self.buffer[:size]
        return piece


def multipart_of(request):
    """A MultipartFile when the body is multipart/form-data, else None."""
    if request.mimetype != "multipart/form-data":
        return None
    boundary = request.mimetype_params.get("boundary")
    if not boundary:
        raise errors.BadRequest("a multipart body needs its boundary")
    return MultipartFile(body_stream(request), boundary)


def file_name_of(request, part_name=None):
    """The file's name: `?filename=`, else the multipart part's filename, else the
    Content-Disposition header's filename (filename* in RFC 5987 spelling too); 400 without
    one."""
    name = request.args.get("filename") or part_name
    if not name:
        disposition = request.headers.get("Content-Disposition", "")
        _, options = parse_options_header(disposition)
        name = options.get("filename")
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not name:
        raise errors.BadRequest(
            "name the file: ?filename=, or a Content-Disposition header with filename",
            field="filename",
        )
    return name


def body_stream(request):
    """The request body as a file to read from; a chunked one (no Content-Length) straight
    from the server's input, which decodes the chunks (werkzeug would see an empty body)."""
    chunked = "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    if request.content_length is None and chunked:
        return request.environ["wsgi.input"]
    return request.stream


def _read_head(stream):
    """The body's first SNIFF_BYTES (fewer when it is shorter)."""
    head = bytearray()
    while len(head) < SNIFF_BYTES:
        piece = stream.read(SNIFF_BYTES - len(head))
        if not piece:
            break
        head += piece
    return bytes(head)


class Upload:
    """One file's bytes on their way from the request body to a committed blob."""

    def __init__(self, request, limit, risky_allowed, scanner, body=None):
        self.request, self.limit, self.body = request, limit, body
        self.risky_allowed, self.scanner = risky_allowed, scanner
        self.size, self.content_type, self.scan = 0, None, None

    def check_length(self):
        declared = self.request.content_length
        # a multipart body carries its boundaries and part headers besides the file
        slack = MULTIPART_SLACK if self.body is not None else 0
        if declared is not None and declared > self.limit + slack:
            raise FileTooLarge(f"a file may be at most {self.limit} bytes")

    def _plaintext(self, stream, head, session):
        piece = head
        while piece:
            self.size += len(piece)
            if self.size > self.limit:
                raise FileTooLarge(f"a file may be at most {self.limit} bytes")
            session.feed(piece)
            yield piece
            piece = stream.read(CHUNK_BYTES)

    def store(self, blobs, key, tenant_id, uploader, name):
        """Stream the body into the blob `name`, sealed under `key`; 415 for a refused type
        before anything is stored, 413 past the limit (nothing committed)."""
        stream = self.body or body_stream(self.request)
        head = _read_head(stream)
        if not head:
            raise errors.BadRequest("send the file's bytes as the request body")
        self.content_type = content_type(head)
        if is_risky(self.content_type) and not self.risky_allowed:
            raise FileTypeRefused(
                f"files of type {self.content_type} (executables and archives) are not accepted"
            )
        session = self.scanner.start()
        context = (tenant_id, uploader, name)
        sealed = seal_stream(key, context, self._plaintext(stream, head, session))
        blobs.upload(tenant_id, name, sealed)
        self.scan = session.verdict()


def upload(service, desk, request, ticket_id, actor, comment_id):
    """Store the request body as a file of the ticket; returns its row."""
    settings, tenant_id = service.settings, desk.tenant_id
    row = desk.row(ticket_id, actor)  # 404 unless the caller may see the ticket
    ticket_id = str(row["ticket_id"])
    if request.environ.get(UPLOAD_READ):
        # the body is gone: a retry of the whole request cannot upload it again
        raise exceptions.TicketConflict("the upload met a concurrent change; send it again")
    request.environ[UPLOAD_READ] = True
    form = multipart_of(request)
    incoming = Upload(
        request,
        settings.ticketing_attachment_max_bytes,
        tenant_id in settings.ticketing_attachment_risky_tenants,
        service.scanner,
        form,
    )
    incoming.check_length()  # 413 before a byte is read, when the length says so
    name = file_name_of(request, form.open() if form is not None else None)
    attachment_id = str(uuid.uuid4())
    # refused now (a watcher, a closed ticket, an unknown comment, a bad name) rather than
    # after the bytes came: decided again, for good, once they are stored
    desk.check(ticket_id, actor, _command(actor, attachment_id, name, comment_id))
    blob = blob_names.blob_name(ticket_id, attachment_id)
    key = desk.cipher.subject_key(tenant_id, actor.user_id, create=True)
    if key is None:
        raise exceptions.ActionForbidden("an erased person's files are not stored")
    service.db.finish(commit=False)  # no transaction held while the bytes flow
    incoming.store(service.blobs, key, tenant_id, actor.user_id, blob)
    command = _command(
        actor, attachment_id, name, comment_id, incoming.size, incoming.content_type, incoming.scan
    )
    try:
        return service.record_attachment(tenant_id, ticket_id, actor, command)
    except BaseException:
        service.blobs.delete(tenant_id, blob)
        raise


def _command(actor, attachment_id, name, comment_id, size=0, media_type=None, scan=NOT_SCANNED):
    return AddAttachment(
        actor=actor,
        attachment_id=attachment_id,
        file_name=name,
        size=size,
        content_type=media_type or OCTET_STREAM,
        scan=scan,
        comment_id=comment_id,
    )


def record(desk, ticket_id, actor, command):
    """Decide and append the file's event, then write its row (in the same transaction)."""
    state, envelopes = desk.run(ticket_id, actor, [command])
    (envelope,) = envelopes
    row = {
        "ticket_id": state.ticket_id,
        "attachment_id": command.attachment_id,
        "comment_id": envelope.data["comment_id"],
        "internal": envelope.data["internal"],
        "uploaded_by": actor.user_id,
        "file_name": command.file_name,
        "size": command.size,
        "content_type": command.content_type,
        "scan": command.scan,
        "created_at": envelope.occurred_at,
    }
    store.insert_attachments(desk.conn, desk.tenant_id, [row])
    return row


def visible(desk, ticket_id, attachment_id, actor):
    """The file's row, if the actor may see it (its ticket, and staff's for internal ones)."""
    row = desk.row(ticket_id, actor)
    found = store.get_attachment(desk.conn, row["ticket_id"], checked_attachment_id(attachment_id))
    if found is None or (found["internal"] and not actor.is_privileged):
        raise AttachmentNotFound("attachment not found")
    return found


def listed(desk, ticket_id, actor):
    row = desk.row(ticket_id, actor)
    return store.attachments_of(desk.conn, row["ticket_id"], actor.is_privileged)


def remove(service, desk, ticket_id, attachment_id, actor):
    """The file's event and row gone, then its blob (the event decides who may)."""
    found = visible(desk, ticket_id, attachment_id, actor)
    command = RemoveAttachment(
        actor=actor,
        attachment_id=str(found["attachment_id"]),
        uploaded_by=found["uploaded_by"],
        file_name=found["file_name"],
    )
    desk.run(str(found["ticket_id"]), actor, [command])
    store.delete_attachment(desk.conn, command.attachment_id)
    # the blob goes once its event is committed: a failed commit leaves the file whole
    service.db.finish(commit=True)
    service.blobs.delete(
        desk.tenant_id, blob_names.blob_name(found["ticket_id"], found["attachment_id"])
    )
    return found


def _context(tenant_id, row):
    name = blob_names.blob_name(row["ticket_id"], row["attachment_id"])
    return name, (str(tenant_id), row["uploaded_by"], name)


def plaintext(cipher, blobs, tenant_id, row):
    """An iterator of the file's plaintext (None when its uploader's key is shredded)."""
    key = cipher.subject_key(tenant_id, row["uploaded_by"])
    if key is None:
        return None
    name, context = _context(tenant_id, row)
    try:
        return open_stream(key, context, blobs.download(tenant_id, name))
    except blob_names.BlobMissing:
        return None


def _guarded(pieces, attachment_id):
    try:
        yield from pieces
    except CipherError:
        # headers are out: the connection is cut, so the client sees an incomplete body
        log.error("attachment failed authentication", attachment_id=attachment_id)
        raise


def download_response(cipher, blobs, tenant_id, row):
    if row["scan"] == INFECTED:
        raise FileInfected("the file was found infected and cannot be downloaded")
    pieces = plaintext(cipher, blobs, tenant_id, row)
    if pieces is None:
        raise AttachmentNotFound("attachment not found")
    name = row["file_name"]
    ascii_name = name.encode("ascii", "replace").decode().replace('"', "_").replace("?", "_")
    return Response(
        _guarded(pieces, str(row["attachment_id"])),
        status=200,
        headers={
            "Content-Disposition": (
                f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
            ),
            "Content-Length": str(row["size"]),
            "X-Content-Type-Options": "nosniff",
        },
        content_type=row["content_type"],
        direct_passthrough=True,
    )


# the privacy participant's share (subjects.py)


def export_files(cipher, blobs, tenant_id, rows, budget):
    """The subject's files: content inline (base64) while the bundle's budget lasts, the
    others listed with `content: null` and why."""
    files = []
    for row in rows:
        entry = {k: row[k] for k in ("ticket_id", "attachment_id", "comment_id", "file_name")}
        entry.update(
            size=row["size"], content_type=row["content_type"], created_at=row["created_at"]
        )
        pieces = plaintext(cipher, blobs, tenant_id, row) if row["size"] <= budget else None
        if pieces is None:
            entry.update(content=None, omitted="larger than the bundle carries inline")
        else:
            entry["content"] = base64.b64encode(b"".join(pieces)).decode()
            budget -= row["size"]
        files.append(entry)
    return files


def purge_files(blobs, tenant_id, conn, subject_id):
    """Delete the subject's blobs, then their rows; the count of files."""
    rows = store.attachments_by(conn, subject_id)
    for row in rows:
        blobs.delete(tenant_id, blob_names.blob_name(row["ticket_id"], row["attachment_id"]))
    store.delete_attachments_by(conn, subject_id)
    return len(rows)
