"""Whatever a broken client puts on the wire, the real server (``python -m yui_lsp`` on stdio)
answers it with the JSON-RPC error it calls for, prints no traceback, and goes on serving."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.server.conftest import make_repo
from tests.server.raw_client import RawServer, frame, frame_bytes, serving

PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS = -32700, -32600, -32601, -32602
SERVER_NOT_INITIALIZED, INTERNAL_ERROR = -32002, -32603

LIST = {"command": "yui.listTasks", "arguments": [{}]}


def body(message: Any) -> bytes:
    return json.dumps(message).encode()


def request(request_id: Any, method: str, params: Any = None) -> dict[str, Any]:
    message = {"jsonrpc": "2.0", "id": request_id, "method": method}
    return message if params is None else {**message, "params": params}


#: (what is sent, the id of the error answer, its code); an id of ... means no answer.
CASES: dict[str, tuple[bytes, Any, int | None]] = {
    "no Content-Length": (b"Content-Type: x\r\n\r\n" + body(request(1, "x")), None,
                          PARSE_ERROR),
    "negative Content-Length": (b"Content-Length: -5\r\n\r\n" + body(request(1, "x")), None,
                                PARSE_ERROR),
    "non-numeric Content-Length": (b"Content-Length: abc\r\n\r\n{}", None, PARSE_ERROR),
    "huge Content-Length": (b"Content-Length: 99999999999\r\n\r\n{}", None, PARSE_ERROR),
    "a line that is no header": (b"hello world\r\n\r\n{}", None, PARSE_ERROR),
    "bytes before a message": (b"garbage" + frame({"jsonrpc": "2.0", "method": "x"}), None,
                               PARSE_ERROR),
    "empty body": (frame_bytes(b""), None, PARSE_ERROR),
    "not JSON": (frame_bytes(b"{not json"), None, PARSE_ERROR),
    "not UTF-8": (frame_bytes(b'{"jsonrpc": "2.0", "id": 5, "method": "\xff\xfe"}'), None,
                  PARSE_ERROR),
    "nested too deeply": (frame_bytes(b"[" * 100_000 + b"]" * 100_000), None, PARSE_ERROR),
    "a JSON number": (frame(5), None, INVALID_REQUEST),
    "JSON null": (frame(None), None, INVALID_REQUEST),
    "a batch": (frame([request(6, "workspace/executeCommand", LIST)]), None,
                INVALID_REQUEST),
    "an empty object": (frame({}), None, INVALID_REQUEST),
    "jsonrpc 1.0": (frame({**request(7, "workspace/executeCommand", LIST), "jsonrpc": "1.0"}),
                    7, INVALID_REQUEST),
    "no jsonrpc": (frame({"id": 8, "method": "shutdown"}), 8, INVALID_REQUEST),
    "id null": (frame(request(None, "workspace/executeCommand", LIST)), None, INVALID_REQUEST),
    "id float": (frame(request(1.5, "workspace/executeCommand", LIST)), None,
                 INVALID_REQUEST),
    "id object": (frame(request({"a": [1]}, "workspace/executeCommand", LIST)), None,
                  INVALID_REQUEST),
    "id true": (frame(request(True, "workspace/executeCommand", LIST)), None,
                INVALID_REQUEST),
    "method not a string": (frame({**request(10, "x"), "method": 5}), 10, INVALID_REQUEST),
    "params a string": (frame(request(11, "workspace/executeCommand", "x")), 11,
                        INVALID_PARAMS),
    "params missing": (frame(request(12, "workspace/executeCommand")), 12, INVALID_PARAMS),
    "params of the wrong shape": (frame(request(13, "textDocument/hover", {"x": 1})), 13,
                                  INVALID_PARAMS),
    "unknown command": (frame(request(14, "workspace/executeCommand", {"command": "nope"})),
                        14, INVALID_PARAMS),
    "a message inside an argument": (frame(request(15, "workspace/executeCommand", {
        "command": "yui.listTasks", "arguments": [{"jsonrpc": "2.0"}]})), 15, INVALID_PARAMS),
    "unknown request": (frame(request(16, "foo/bar")), 16, METHOD_NOT_FOUND),
    "unknown request with params": (frame(request("s", "foo/bar", [1])), "s",
                                    METHOD_NOT_FOUND),
    "a second initialize": (frame(request(17, "initialize", {"capabilities": {}})), 17,
                            INVALID_REQUEST),
    "unknown notification": (frame({"jsonrpc": "2.0", "method": "foo/bar"}), ..., None),
    "unknown $/ notification": (frame({"jsonrpc": "2.0", "method": "$/foo"}), ..., None),
    "cancel of an unknown id": (frame({"jsonrpc": "2.0", "method": "$/cancelRequest",
                                       "params": {"id": 12345}}), ..., None),
    "cancel without params": (frame({"jsonrpc": "2.0", "method": "$/cancelRequest"}), ...,
                              None),
    "cancel of an object id": (frame({"jsonrpc": "2.0", "method": "$/cancelRequest",
                                      "params": {"id": {"x": 1}}}), ..., None),
    "a notification of another version": (frame({"jsonrpc": "1.0", "method": "x"}), ...,
                                          None),
    "an answer to nothing": (frame({"jsonrpc": "2.0", "id": 77, "result": 1}), ..., None),
    "an error to nothing": (frame({"jsonrpc": "2.0", "id": 78,
                                   "error": {"code": 1, "message": "x"}}), ..., None),
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RawServer]:
    with serving(tmp_path_factory.mktemp("wire")) as running:
        yield running


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_message_is_answered_and_the_server_goes_on(server: RawServer,
                                                          case: str) -> None:
    data, answer_id, code = CASES[case]
    before = len(server.stderr())
    server.send(data)
    if answer_id is not ...:
        answer = server.answer(answer_id)
        assert answer["error"]["code"] == code, answer
        assert answer["error"]["message"], answer
    server.assert_serving(before)


@pytest.mark.parametrize("header", [b"content-length: %d\r\n\r\n",
                                    b"Content-Length:%d\n\n",
                                    b"Content-Length: %d\r\nContent-Type: application/"
                                    b"vscode-jsonrpc; charset=utf-8\r\n\r\n"])
def test_header_spellings_clients_use_are_read(server: RawServer, header: bytes) -> None:
    before = len(server.stderr())
    message = body(request(501, "workspace/executeCommand", LIST))
    server.send(header % len(message) + message)
    assert "result" in server.answer(501)
    server.assert_serving(before)


def test_requests_before_initialize_are_refused_until_it_comes(tmp_path: Path) -> None:
    server = RawServer(make_repo(tmp_path / "repo"), tmp_path / "cache")
    try:
        server.notify("initialized", {})  # too early: ignored
        early = server.command("yui.listTasks", {})
        assert early["error"]["code"] == SERVER_NOT_INITIALIZED, early
        unsound = server.request("initialize", {"capabilities": 5, "processId": None})
        assert unsound["error"]["code"] == INVALID_PARAMS, unsound  # may be sent again
        assert "result" in server.initialize()
        assert "result" in server.command("yui.listTasks", {})
        assert "Traceback" not in server.stderr()
    finally:
        server.close()


def test_requests_after_shutdown_are_refused_and_exit_still_ends_the_server(
        tmp_path: Path) -> None:
    server = RawServer(make_repo(tmp_path / "repo"), tmp_path / "cache")
    try:
        server.initialize()
        assert "result" in server.command("yui.listTasks", {})
        assert server.request("shutdown")["result"] is None
        late = server.command("yui.listTasks", {})
        assert late["error"]["code"] == INVALID_REQUEST, late
        again = server.request("shutdown")
        assert again["error"]["code"] == INVALID_REQUEST, again
        server.notify("exit")
        assert server.process.wait(timeout=30) == 0
        assert "Traceback" not in server.stderr()
    finally:
        server.close()


#: Bytes that are no header a reader could take for one (no Content-Length in them).
GARBAGE = st.binary(max_size=60).filter(lambda b: b"content-length" not in b.lower())
FRAMED = st.one_of(
    st.binary(max_size=60).map(frame_bytes),
    st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                 lambda inner: st.lists(inner, max_size=3)
                 | st.dictionaries(st.sampled_from(["jsonrpc", "id", "method", "params",
                                                    "result", "error", "x"]), inner,
                                   max_size=4), max_leaves=8)
    .filter(lambda m: not (isinstance(m, dict) and m.get("method") in ("exit", "shutdown")))
    .map(frame))


@settings(max_examples=40, deadline=None)
@given(chunks=st.lists(GARBAGE | FRAMED, min_size=1, max_size=6))
@example(chunks=[b"\x00\n"])  # the header of the next message was taken as this one's
def test_any_run_of_garbage_and_frames_leaves_the_next_message_answered(
        server: RawServer, chunks: list[bytes]) -> None:
    before = len(server.stderr())
    server.send(b"".join(chunks))
    listed = server.command("yui.listTasks", {})
    assert "result" in listed, listed
    internal = [m for m in server.notifications if m.get("error", {}).get("code") in (
        INTERNAL_ERROR, None) and "error" in m]
    server.notifications.clear()  # the answers to the garbage: errors the client caused
    assert not internal, internal
    written = server.stderr()[before:]
    assert "Traceback" not in written, written
