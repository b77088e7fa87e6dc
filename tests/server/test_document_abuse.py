"""Text documents a client gets wrong (positions out of range, reversed ranges, documents
never opened or closed twice, URIs that are not files or lie outside the workspace, huge
texts): the real server keeps serving, with no error shown and no traceback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.server.raw_client import RawServer, serving


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RawServer]:
    with serving(tmp_path_factory.mktemp("documents")) as running:
        yield running


def span(a: int, b: int, c: int, d: int) -> dict[str, Any]:
    return {"start": {"line": a, "character": b}, "end": {"line": c, "character": d}}


def opened(uri: str, text: str = "x = 1\n", version: int = 1) -> tuple[str, dict[str, Any]]:
    return "textDocument/didOpen", {"textDocument": {
        "uri": uri, "languageId": "python", "version": version, "text": text}}


def changed(uri: str, version: int, *changes: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return "textDocument/didChange", {"textDocument": {"uri": uri, "version": version},
                                      "contentChanges": list(changes)}


def closed(uri: str) -> tuple[str, dict[str, Any]]:
    return "textDocument/didClose", {"textDocument": {"uri": uri}}


def sequences(root: Path) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """Named sequences of notifications for a workspace at ``root``."""
    a = (root / "src/a.py").as_uri()
    b = (root / "src/b.py").as_uri()
    spec = (root / ".kiro/specs/s/tasks.md").as_uri()
    climbing = (root / "src/../../../etc/x").as_uri()
    return {
        "a change of a document never opened": [changed(b, 2, {"text": "b = 2\n"})],
        "a range change of a document never opened": [
            changed(b, 2, {"range": span(0, 0, 0, 1), "text": "q"})],
        "positions past the end": [opened(a), changed(a, 2, {
            "range": span(100, 5, 200, 9), "text": "q"}), closed(a)],
        "a reversed range": [opened(a), changed(a, 2, {"range": span(1, 0, 0, 0),
                                                       "text": "r"}), closed(a)],
        "negative positions": [opened(a), changed(a, 2, {"range": span(-1, -5, 0, 0),
                                                         "text": "r"}), closed(a)],
        "a position past 2**32": [opened(a), changed(a, 2, {
            "range": span(0, 2**40, 0, 2**40), "text": "r"}), closed(a)],
        "a version that is not a number": [opened(a), changed(a, -1, {"text": "r"}), (
            "textDocument/didChange", {"textDocument": {"uri": a, "version": "x"},
                                       "contentChanges": [{"text": "r"}]}), closed(a)],
        "closed twice": [opened(a), closed(a), closed(a)],
        "closed never opened": [closed((root / "src/none.py").as_uri())],
        "opened twice": [opened(a), opened(a, "y = 2\n", 5), closed(a)],
        "a huge document": [opened(a, "x = 1\n" * 400_000), changed(a, 2, {
            "range": span(399_999, 0, 399_999, 5), "text": "y = 2"}), closed(a)],
        "not a file URI": [opened("untitled:Untitled-1"), changed(
            "untitled:Untitled-1", 2, {"text": "z"}), closed("untitled:Untitled-1")],
        "not a URI": [opened("::::%%%"), closed("::::%%%")],
        "a file outside the workspace": [opened("file:///etc/passwd"),
                                         closed("file:///etc/passwd")],
        "a path climbing out": [opened(climbing), closed(climbing)],
        "a spec edited past its end": [opened(spec, "- [ ] 1. do it\n"), changed(
            spec, 2, {"range": span(9, 0, 3, 0), "text": "- [ ] 2. more\n"}), closed(spec)],
    }


CASES = list(sequences(Path('/workspace')))


@pytest.mark.parametrize("case", CASES)
def test_a_document_sent_wrong_leaves_the_server_serving(server: RawServer,
                                                         case: str) -> None:
    before = len(server.stderr())
    assert server.root is not None
    for method, params in sequences(server.root)[case]:
        server.notify(method, params)
    uri = (server.root / "src/a.py").as_uri()
    for method in ("textDocument/codeLens", "textDocument/codeAction", "textDocument/hover"):
        params: dict[str, Any] = {"textDocument": {"uri": uri}}
        if method == "textDocument/hover":
            params["position"] = {"line": 10**6, "character": 10**6}
        if method == "textDocument/codeAction":
            params.update(range=span(5, 0, 0, 0), context={"diagnostics": []})
        answer = server.request(method, params)
        assert "result" in answer, answer
    server.assert_serving(before)
