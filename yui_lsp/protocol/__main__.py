"""``python -m yui_lsp.protocol``: print the protocol's JSON schemas (docs generator)."""

from yui_lsp.protocol import _dump_schema_markdown

print(_dump_schema_markdown())
