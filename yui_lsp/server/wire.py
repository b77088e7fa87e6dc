"""Our JSON payloads on their way to the client, without pygls re-walking them.

pygls serialises every outgoing message with cattrs, which unstructures a plain ``dict``
result one value at a time (a 500-task ``yui.listTasks`` answer is ~100k calls, tens of
milliseconds per answer). The server's own results and notifications are already plain
JSON data (``model_dump(mode="json")``), so they travel as :class:`WireJson`, a ``dict``
that the converter passes through untouched and ``json.dumps`` encodes in C.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import cattrs
from pygls.protocol import default_converter

if TYPE_CHECKING:
    from pydantic import BaseModel


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
