"""Payloads encoded off the event loop (server/wire.py) are the JSON the models give, and
the protocol frames them as it frames any other message."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from yui_lsp.protocol import LockRecord
from yui_lsp.server.params import LockListResult, LocksChangedNotification
from yui_lsp.server.server import create_server
from yui_lsp.server.wire import EncodedJson, encode_records, wire


def _locks(count: int) -> list[LockRecord]:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return [LockRecord(file_path=f"src/ünï {i}\"q\".py", locked_by=f"t{i}", acquired_at=now,
                       expires_at=now + timedelta(minutes=5), owner_pid=1, host="h")
            for i in range(count)]


def test_encoded_records_are_the_models_json() -> None:
    for count in (0, 1, 3):
        locks = _locks(count)
        encoded = encode_records({"folder": "file:///r"}, "locks", locks)
        assert isinstance(encoded, EncodedJson)
        whole = wire(LocksChangedNotification(folder="file:///r", locks=locks),
                     exclude={"tasks"})
        assert json.loads(encoded) == whole
        change = encode_records({"folder": "file:///r", "tasks": ["t0"]}, "locks", locks)
        assert json.loads(change) == wire(LocksChangedNotification(
            folder="file:///r", tasks=["t0"], locks=locks))
        assert LocksChangedNotification.model_validate_json(encoded).locks == locks
    assert json.loads(encode_records({}, "locks", _locks(2))) == {
        "locks": [r.model_dump(mode="json") for r in _locks(2)]}
    # yui.listLocks answers this way too: it is the documented LockListResult.
    listed = encode_records({}, "locks", _locks(2))
    assert json.loads(listed) == wire(LockListResult(locks=_locks(2)), by_alias=True)


class _Sink:
    def __init__(self) -> None:
        self.data = b""

    def write(self, data: bytes) -> None:
        self.data += data

    def close(self) -> None:
        pass


def _messages(data: bytes) -> list[dict[str, object]]:
    found = []
    while data:
        head, _, rest = data.partition(b"\r\n\r\n")
        length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
        found.append(json.loads(rest[:length]))
        data = rest[length:]
    return found


def test_encoded_notifications_and_results_are_framed_like_any_other() -> None:
    protocol = create_server().protocol
    sink = _Sink()
    protocol.set_writer(sink)
    payload = encode_records({"folder": "file:///r"}, "locks", _locks(2))
    protocol.notify("yui/locksChanged", payload)
    protocol.notify("yui/taskUpdate", {"plain": "ü"})
    protocol._send_response(7, EncodedJson('{"tasks": []}'))
    assert _messages(sink.data) == [
        {"jsonrpc": "2.0", "method": "yui/locksChanged", "params": json.loads(payload)},
        {"jsonrpc": "2.0", "method": "yui/taskUpdate", "params": {"plain": "ü"}},
        {"jsonrpc": "2.0", "id": 7, "result": {"tasks": []}},
    ]
