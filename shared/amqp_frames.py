"""AMQP 0-9-1 frames for Basic.Publish, built in bulk (the relay's batches).

One persistent JSON message is a method frame (Basic.Publish), a content header frame and
body frames of at most frame_max - 8 bytes each; every frame ends with 0xCE.
"""

import struct

METHOD, HEADER, BODY, FRAME_END = 1, 2, 3, b"\xce"
BASIC, PUBLISH = 60, 40
# property flags, high bit first: content-type, content-encoding, (headers), delivery-mode,
# (priority, correlation-id, reply-to, expiration, message-id, timestamp, type), user-id
_FLAGS = (1 << 15) | (1 << 14) | (1 << 12)
_USER_ID = 1 << 4


def _shortstr(value):
    raw = value.encode()
    if len(raw) > 255:
        raise ValueError(f"{value!r} is longer than an AMQP short string")
    return bytes([len(raw)]) + raw


_PROPERTIES = _shortstr("application/json") + _shortstr("utf-8") + bytes([2])  # persistent


class Publisher:
    """Frames for Basic.Publish on one channel to one exchange."""

    def __init__(self, channel_id, exchange, frame_max, user_id=None):
        self.channel_id = channel_id
        self.exchange = _shortstr(exchange)
        self.max_body = frame_max - 8  # frame header (7) and frame end (1)
        # user-id: the connection's user, which RabbitMQ checks; consumers trust it alone
        self.flags = _FLAGS | (_USER_ID if user_id else 0)
        self.properties = _PROPERTIES + (_shortstr(user_id) if user_id else b"")

    def _frame(self, kind, payload):
        return struct.pack(">BHI", kind, self.channel_id, len(payload)) + payload + FRAME_END

    def publish(self, routing_key, body):
        """The frames of one persistent application/json message (mandatory, immediate off)."""
        method = (
            struct.pack(">HHH", BASIC, PUBLISH, 0)
            + self.exchange
            + _shortstr(routing_key)
            + b"\x00"
        )
        header = struct.pack(">HHQH", BASIC, 0, len(body), self.flags) + self.properties
        frames = [self._frame(METHOD, method), self._frame(HEADER, header)]
        for start in range(0, len(body), self.max_body):
            frames.append(self._frame(BODY, body[start : start + self.max_body]))
        return b"".join(frames)
