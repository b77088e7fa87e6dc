"""Secret redaction: the quick pre-checks never change what is redacted."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from yui_lsp.redact import RULES, redact

_PIECES = st.sampled_from([
    "API_KEY=", "token: ", "Password = ", "Authorization: Bearer ", "basic ", "sk-",
    "sk-ant-", "ghp_", "AKIA", "AIza", "xoxb-", "eyJ", ".", "abcdefgh1234567890XYZ", " ",
    "\n", '"', "'", "src/app.py", "KEY", "Secret", "=", ":", "--password", "-p", "mysql ",
    "postgres://u:", "@", "x-api-key: ", "curl -u ", "--token=", '", "',
])


def _reference(text: str) -> str:
    for pattern, replacement, _ in RULES:
        text = pattern.sub(replacement, text)
    return text


@given(st.lists(_PIECES, max_size=30).map("".join))
def test_prechecks_change_nothing(text: str) -> None:
    assert redact(text) == _reference(text)


def test_typical_secrets_are_redacted() -> None:
    line = 'export ANTHROPIC_API_KEY=sk-ant-abcdefghijklmnop1234 and "token": "abcd1234efgh"'
    out = redact(line)
    assert "sk-ant-abcdefghijklmnop1234" not in out and "abcd1234efgh" not in out
    assert redact("src/a.py changed") == "src/a.py changed"
