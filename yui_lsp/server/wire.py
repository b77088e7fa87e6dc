"""Our JSON payloads on their way to the client, without pygls re-walking them.

pygls serialises every outgoing message with cattrs, which unstructures a plain ``dict``
result one value at a time (a 500-task ``yui.listTasks`` answer is ~100k calls, tens of
milliseconds per answer). The server's own results and notifications are already plain
JSON data (``model_dump(mode="json")``), so they travel as :class:`WireJson`, a ``dict``
that the converter passes through untouched and ``json.dumps`` encodes in C.

A big payload (the lease table of 5,000 leases is ~1.4 MB) is still one C call of
``json.dumps`` that holds the GIL for tens of milliseconds, wherever it runs. Such payloads
are encoded in a worker thread one record at a time (the GIL changes hands between records,
so the event loop keeps answering) into :class:`EncodedJson`, which :class:`YuiProtocol`
frames as it is.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import json
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import cattrs
from lsprotocol.types import EXIT, SHUTDOWN, TEXT_DOCUMENT_DID_CHANGE, DidChangeTextDocumentParams
from pygls.exceptions import JsonRpcException, JsonRpcInternalError
from pygls.protocol import LanguageServerProtocol, default_converter
from pygls.protocol.language_server import lsp_method

if TYPE_CHECKING:
    from pydantic import BaseModel

log = logging.getLogger(__name__)


class WireJson(dict[str, Any]):
    """A JSON object of plain JSON values only (no models, enums or datetimes inside)."""


def _as_is(payload: WireJson) -> WireJson:
    return payload


def converter() -> cattrs.Converter:
    """pygls' converter, plus: :class:`WireJson` payloads are sent as they are."""
    made: cattrs.Converter = default_converter()  # type: ignore[no-untyped-call]
    made.register_unstructure_hook(WireJson, _as_is)
    return made


def wire(model: BaseModel, *, by_alias: bool = False,
         exclude: dict[str, Any] | set[str] | None = None) -> WireJson:
    """``model`` as a JSON object ready to send (camelCase with ``by_alias``)."""
    return WireJson(model.model_dump(mode="json", by_alias=by_alias, exclude=exclude))


class EncodedJson(str):
    """A JSON value already encoded: sent as it is (see :class:`YuiProtocol`)."""


def encode_records(head: dict[str, Any], key: str, records: Iterable[Any]) -> EncodedJson:
    """``head`` plus ``key``: the list of ``records`` (models), encoded one record at a time.

    Call it in a worker thread: no single step holds the GIL for long.
    """
    parts = [json.dumps(record.model_dump(mode="json")) for record in records]
    opening = json.dumps(head)[:-1] + (", " if head else "")
    return EncodedJson(f"{opening}{json.dumps(key)}: [{', '.join(parts)}]}}")


_WRITES: set[asyncio.Future[Any]] = set()


class YuiProtocol(LanguageServerProtocol):
    """pygls' protocol, plus: a notification or result that is :class:`EncodedJson` is framed
    without encoding it again on the event loop."""

    _shutdown_answer: asyncio.Future[Any] | concurrent.futures.Future[Any] | None = None

    def handle_message(self, message: Any) -> None:
        """pygls' dispatch, plus: an ``exit`` sent right behind ``shutdown``, before its
        answer, waits for that answer (the shutdown stops the coordinators first)."""
        method = getattr(message, "method", None)
        pending = self._shutdown_answer
        if method == EXIT and pending is not None and not pending.done():
            pending.add_done_callback(lambda _: super(YuiProtocol, self).handle_message(message))
            return
        super().handle_message(message)
        if method == SHUTDOWN:
            # Its answer is sent by the first callback of this future: ours come after.
            self._shutdown_answer = self._request_futures.get(message.id)

    def _send_handler_result(self, future: Any, *, msg_id: Any) -> None:
        """pygls' answer to a request, minus the traceback it logs for every JSON-RPC error
        a handler raises: those (a bad argument, an unknown task) are the client's doing,
        answered in full, and logged in one line."""
        error = None if future.cancelled() else future.exception()
        if isinstance(error, JsonRpcException) and not isinstance(error, JsonRpcInternalError):
            self._request_futures.pop(msg_id, None)
            log.info("request %s refused: %s", msg_id, error)
            self._send_response(msg_id, error=error.to_response_error())
            return
        super()._send_handler_result(future, msg_id=msg_id)

    @lsp_method(TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: DidChangeTextDocumentParams) -> Any:
        """pygls' handler, minus its KeyError on a document never opened (shown to the user
        as an error in the server): a change of a document the server does not hold is
        logged and ignored."""
        uri = params.text_document.uri
        if unquote(uri) not in self.workspace.text_documents:  # pygls' key for it
            log.warning("ignored a change of %s: the client never opened it", uri)
            return
        yield from super().lsp_text_document__did_change(params)

    async def wind_down(self, timeout_s: float = 15.0) -> None:
        """Once the client has closed its end: let a shutdown in progress finish and send
        its answer (and an exit waiting behind it run), for at most ``timeout_s``."""
        pending = self._shutdown_answer
        if pending is not None and not pending.done():
            # Neither a timeout nor the shutdown's own failure raises here.
            await asyncio.wait([asyncio.wrap_future(pending)], timeout=timeout_s)

    def _send_data(self, data: Any) -> None:
        body = _framed(data)
        if body is None or self.writer is None:
            super()._send_data(data)
            return
        encoded = body.encode("utf-8")
        if self._include_headers:
            header = (f"Content-Length: {len(encoded)}\r\n"
                      f"Content-Type: {self.CONTENT_TYPE}; charset={self.CHARSET}\r\n\r\n")
            encoded = header.encode("ascii") + encoded
        written = self.writer.write(encoded)
        if inspect.isawaitable(written):
            pending = asyncio.ensure_future(written)
            _WRITES.add(pending)  # held until done: the loop keeps only weak references
            pending.add_done_callback(_WRITES.discard)


def _framed(data: Any) -> str | None:
    """The JSON-RPC text of a message carrying EncodedJson, else None."""
    params, result = getattr(data, "params", None), getattr(data, "result", None)
    if isinstance(params, EncodedJson) and getattr(data, "id", None) is None:
        return f'{{"jsonrpc": "2.0", "method": {json.dumps(data.method)}, "params": {params}}}'
    if isinstance(result, EncodedJson) and getattr(data, "error", None) is None:
        return f'{{"jsonrpc": "2.0", "id": {json.dumps(data.id)}, "result": {result}}}'
    return None
