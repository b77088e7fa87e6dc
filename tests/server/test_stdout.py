"""The protocol's stdout (server/stdout.py) delivers every message whole and in order: a
message cut short would corrupt the stream for good."""

from __future__ import annotations

import os
import threading
import time

from yui_lsp.server.stdout import BackgroundStdout, _write_all


def _drain(fd: int, into: bytearray, slow: bool) -> None:
    while chunk := os.read(fd, 4096):
        into += chunk
        if slow:
            time.sleep(0.0005)


def test_a_non_blocking_pipe_read_slowly_gets_every_byte() -> None:
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)  # as if another holder of the pipe had set it
    received = bytearray()
    reader = threading.Thread(target=_drain, args=(read_end, received, True))
    reader.start()
    data = bytes(range(256)) * 4096  # 1 MiB: many times what a pipe holds
    _write_all(write_end, data)
    os.close(write_end)
    reader.join(30)
    os.close(read_end)
    assert bytes(received) == data


def test_messages_arrive_whole_and_in_order() -> None:
    read_end, write_end = os.pipe()
    received = bytearray()
    reader = threading.Thread(target=_drain, args=(read_end, received, False))
    reader.start()
    with os.fdopen(write_end, "wb") as raw:
        out = BackgroundStdout(raw)
        messages = [(b"%06d:" % n) * (30_000 if n % 5 == 0 else 3) for n in range(60)]
        for message in messages:
            out.write(message)
        out.close()
    reader.join(30)
    os.close(read_end)
    assert bytes(received) == b"".join(messages)


def test_a_message_the_pipe_has_room_for_is_written_before_write_returns() -> None:
    read_end, write_end = os.pipe()
    os.set_blocking(read_end, False)
    with os.fdopen(write_end, "wb") as raw:
        out = BackgroundStdout(raw)
        hold = threading.Event()
        out._writer.submit(hold.wait)  # the writer thread is busy: only a direct write lands
        try:
            out.write(b"answer")
            assert os.read(read_end, 100) == b"answer"
        finally:
            hold.set()
            out.close()
    os.close(read_end)


def test_messages_from_several_threads_arrive_whole_and_each_thread_in_order() -> None:
    read_end, write_end = os.pipe()
    received = bytearray()
    reader = threading.Thread(target=_drain, args=(read_end, received, True))
    reader.start()

    def send(out: BackgroundStdout, sender: int) -> None:
        for n in range(120):
            body = bytes([65 + sender]) * (70_000 if n % 7 == 0 else 50 + n)
            out.write(b"%d %d %d\n" % (sender, n, len(body)) + body)

    with os.fdopen(write_end, "wb") as raw:
        out = BackgroundStdout(raw)
        senders = [threading.Thread(target=send, args=(out, s)) for s in range(4)]
        for thread in senders:
            thread.start()
        for thread in senders:
            thread.join(60)
        out.close()
    reader.join(60)
    os.close(read_end)
    stream, seen = bytes(received), {s: -1 for s in range(4)}
    while stream:
        header, _, stream = stream.partition(b"\n")
        sender, n, size = map(int, header.split())
        body, stream = stream[:size], stream[size:]
        assert body == bytes([65 + sender]) * size, "a message was cut into by another"
        assert n == seen[sender] + 1, "a thread's messages arrive in the order written"
        seen[sender] = n
    assert seen == {s: 119 for s in range(4)}
