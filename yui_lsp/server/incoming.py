"""Messages from the client: framed, decoded and checked, with an answer for what is not one.

pygls' message loop (``pygls.io_.run_async``) knows one header spelling only,
``Content-Length: N\\r\\n``: a header it cannot read is skipped and the body behind it is
then read as headers, swallowing the next message too; a length larger than what follows
waits forever. A body that is not JSON, not an object, or that its types refuse is logged
with a traceback and answered with nothing, so a request waits forever. Here every such
message is answered as JSON-RPC says (ParseError or InvalidRequest with id null when no id
can be read, InvalidParams with the request's id), logged in one line, and the loop goes on
with the next message. The lifecycle is checked too: before ``initialize`` a request is
answered ServerNotInitialized, a second ``initialize`` and any request after ``shutdown``
InvalidRequest.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import cattrs
from lsprotocol import types as lsp
from pygls.protocol import JsonRPCNotification, JsonRPCRequestMessage

if TYPE_CHECKING:
    from pygls.io_ import AsyncReader
    from pygls.protocol import JsonRPCProtocol

log = logging.getLogger(__name__)

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
INVALID_PARAMS = -32602
SERVER_NOT_INITIALIZED = -32002

#: Largest message body read; a larger Content-Length is taken for a broken header.
MAX_MESSAGE = 256 << 20

#: A Content-Length header that ends its line: where reading resumes after a broken frame
#: (inside a JSON body a line never ends in one: strings cannot hold a raw line break).
_RESUME = re.compile(rb"content-length:[ \t]*\d+\r?\n\Z", re.IGNORECASE)


@dataclass(frozen=True)
class Refusal:
    """The error answer to something that is not a message the server can take."""

    code: int
    message: str
    request_id: int | str | None = None


class Framer:
    """Reads message bodies; a frame it cannot read becomes a :class:`Refusal`."""

    def __init__(self, reader: AsyncReader) -> None:
        self._reader = reader
        self._resuming = False  # after a broken frame: skip to the next header
        self._pending = b""  # a header line found behind the garbage of a broken frame

    async def _line(self) -> bytes:
        line, self._pending = self._pending, b""
        return line or await self._reader.readline()

    async def next(self) -> bytes | Refusal | None:
        """The next body, a refusal of a broken frame, or None at the end of input."""
        length: int | None = None
        problem = ""
        seen_header = False
        while True:
            line = await self._line()
            if not line:
                return None
            if self._resuming:
                found = _RESUME.search(line)
                if found is None:
                    continue
                self._resuming = False
                line = line[found.start():]
            elif not seen_header and (found := _RESUME.search(line)) and found.start() > 0:
                # Bytes outside any message, then a header on the same line.
                self._pending = line[found.start():]
                return Refusal(PARSE_ERROR, f"bytes outside any message: {line[:40]!r}")
            if not line.strip():
                if seen_header:
                    break
                continue  # a blank line between messages
            seen_header = True
            name, colon, value = line.partition(b":")
            if not colon:  # not a header: what follows may be one, so look from here on
                shown = line.strip()[:40].decode("ascii", "replace")
                self._resuming = True
                return Refusal(PARSE_ERROR, f"cannot read the message: {shown!r} is not a "
                               "header")
            if name.strip().lower() == b"content-length":
                count = value.strip()
                if count.isdigit() and count.isascii():
                    length = int(count)
                else:
                    shown = count[:40].decode("ascii", "replace")
                    problem = problem or f"Content-Length {shown!r} is not a byte count"
        if not problem and length is None:
            problem = "no Content-Length header"
        if not problem and length is not None and length > MAX_MESSAGE:
            problem = f"Content-Length {length} is over the limit of {MAX_MESSAGE} bytes"
        if problem or length is None:
            self._resuming = True
            return Refusal(PARSE_ERROR, f"cannot read the message: {problem}")
        body = await self._reader.readexactly(length) if length else b""
        if length and not body:
            return None  # the client went away in the middle of the message
        return body


def _valid_id(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


class Gate:
    """The lifecycle of one connection: initialize once, then until shutdown."""

    def __init__(self) -> None:
        self.initialized = False
        self.shut_down = False

    def refusal(self, method: str, request_id: int | str) -> Refusal | None:
        """Why request ``method`` cannot be taken now, if it cannot."""
        if self.shut_down:
            return Refusal(INVALID_REQUEST, f"{method}: the server is shutting down (after "
                           "shutdown only exit is taken)", request_id)
        if method == lsp.INITIALIZE:
            if self.initialized:
                return Refusal(INVALID_REQUEST, "the server is initialized already: "
                               "initialize is sent once per connection", request_id)
        elif not self.initialized:
            return Refusal(SERVER_NOT_INITIALIZED, f"{method}: the server is not initialized "
                           "yet (send initialize first)", request_id)
        return None

    def taken(self, method: str) -> None:
        """Request ``method`` was taken (its params were sound)."""
        if method == lsp.INITIALIZE:
            self.initialized = True
        elif method == lsp.SHUTDOWN:
            self.shut_down = True

    def takes_notification(self, method: str) -> bool:
        return method == lsp.EXIT or (self.initialized and not self.shut_down)


def _described(exc: Exception) -> str:
    if isinstance(exc, cattrs.BaseValidationError):
        return "; ".join(cattrs.transform_error(exc)[:3])
    return str(exc) or type(exc).__name__


class Decoder:
    """Turns a body into a message for pygls, or a refusal, or nothing (a notification that
    cannot be taken: notifications are never answered)."""

    def __init__(self, protocol: JsonRPCProtocol) -> None:
        self._protocol = protocol
        self.gate = Gate()

    def decode(self, body: bytes) -> Any:
        try:
            data = json.loads(body.decode("utf-8"))
        except UnicodeDecodeError as exc:
            return Refusal(PARSE_ERROR, f"the message is not UTF-8 ({exc.reason} at byte "
                           f"{exc.start})")
        except ValueError as exc:
            return Refusal(PARSE_ERROR, f"the message is not JSON: {exc}")
        except RecursionError:
            return Refusal(PARSE_ERROR, "the message nests arrays or objects too deeply")
        if isinstance(data, list):
            return Refusal(INVALID_REQUEST, "batches (JSON arrays) are not part of LSP: "
                           "send each message on its own")
        if not isinstance(data, dict):
            return Refusal(INVALID_REQUEST, f"a message is a JSON object, not "
                           f"{type(data).__name__}")
        if "method" not in data:
            return self._response(data)
        has_id = "id" in data
        if has_id and not _valid_id(data["id"]):
            return Refusal(INVALID_REQUEST, f"a request id is an integer or a string, not "
                           f"{json.dumps(data['id'])[:40]}")
        request_id: int | str | None = data["id"] if has_id else None
        method = data["method"]
        problem = ""
        if data.get("jsonrpc") != "2.0":
            problem = f"jsonrpc must be \"2.0\", not {json.dumps(data.get('jsonrpc'))[:20]}"
        elif not isinstance(method, str):
            problem = "method must be a string"
        if problem:
            return Refusal(INVALID_REQUEST, problem, request_id) if has_id else \
                self._dropped(problem)
        if request_id is not None:
            refused = self.gate.refusal(method, request_id)
            if refused is not None:
                return refused
        elif not self.gate.takes_notification(method):
            return self._dropped(f"{method}: not taken before initialize or after shutdown")
        params = data.setdefault("params", None)
        if params is not None and not isinstance(params, dict | list):
            problem = "params must be an object or an array"
        elif method == lsp.CANCEL_REQUEST and not (isinstance(params, dict)
                                                   and _valid_id(params.get("id"))):
            problem = "params.id must be the id of a request (an integer or a string)"
        if not problem:
            kind = self._protocol.get_message_type(method) or (
                JsonRPCRequestMessage if has_id else JsonRPCNotification)
            try:
                message = self._protocol._converter.structure(data, kind)
            except Exception as exc:  # the types' refusal, whatever cattrs raises for it
                problem = f"invalid params: {_described(exc)}"
            else:
                if request_id is not None:
                    self.gate.taken(method)
                return message
        if has_id:
            return Refusal(INVALID_PARAMS, f"{method}: {problem}", request_id)
        return self._dropped(f"{method}: {problem}")

    def _response(self, data: dict[str, Any]) -> Any:
        """The client's answer to one of our requests."""
        if "id" not in data:
            return Refusal(INVALID_REQUEST, "neither a request, a notification nor a "
                           "response: a message has a method or an id")
        if not _valid_id(data.get("id")) or data.get("jsonrpc") != "2.0":
            return self._dropped(f"not a message the server can read: {str(data)[:80]}")
        try:
            return self._protocol.structure_message(data)
        except Exception as exc:  # cattrs refused the answer: the request fails with it
            waiting = self._protocol._request_futures.pop(data["id"], None)
            if waiting is not None and not waiting.done():
                waiting.set_exception(ValueError(f"the client's answer is malformed: {exc}"))
            return self._dropped(f"the client's answer to {data['id']} is malformed")

    @staticmethod
    def _dropped(why: str) -> None:
        log.warning("ignored a message from the client: %s", why)
        return None


def refuse(protocol: JsonRPCProtocol, refusal: Refusal) -> None:
    """Answer ``refusal`` as a JSON-RPC error (``"id": null`` when it has no request id)."""
    log.warning("refused a message from the client: %s", refusal.message)
    protocol._send_data({"jsonrpc": "2.0", "id": refusal.request_id,
                         "error": {"code": refusal.code, "message": refusal.message}})


async def serve_messages(stop: threading.Event, reader: AsyncReader,
                         protocol: JsonRPCProtocol) -> None:
    """pygls' ``run_async`` loop with :class:`Framer` and :class:`Decoder` in front."""
    framer = Framer(reader)
    decoder = Decoder(protocol)
    while not stop.is_set():
        body = await framer.next()
        if body is None:
            break
        message = body if isinstance(body, Refusal) else decoder.decode(body)
        if isinstance(message, Refusal):
            refuse(protocol, message)
        elif message is not None:
            try:
                protocol.handle_message(message)
            except Exception:
                log.exception("a message from the client could not be handled")
