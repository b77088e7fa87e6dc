"""Keep secrets out of logs: redaction of credential-looking values in free text.

Agent output lines, the audit log and error messages pass through :func:`redact` before
they are written anywhere a user (or a bug report) might see them.
"""

from __future__ import annotations

import re

#: Replaces every redacted value.
REDACTED = "[redacted]"

# NAME=value / NAME: value / "NAME": "value" where NAME looks like a credential.
_KEYED = re.compile(
    # Anchored on the keyword itself (not on a name prefix) so that long lines without a
    # keyword are rejected in linear time.
    r"""(?P<key>(?:api[_-]?key|apikey|token|secret|passw(?:or)?d|"""
    r"""credential|auth(?:orization)?|private[_-]?key|access[_-]?key)[A-Za-z0-9_.-]*["']?)"""
    r"""(?P<sep>\s*[:=]\s*)(?P<quote>["']?)(?P<value>(?:Bearer\s+|Basic\s+)?[^\s"',;]{8,})""",
    re.IGNORECASE,
)
# Bare tokens with well-known shapes (no key name next to them).
_SHAPED = re.compile(
    r"\b(?:sk-[A-Za-z0-9_-]{16,}|sk-ant-[A-Za-z0-9_-]{16,}|gh[pousr]_[A-Za-z0-9]{20,}"
    r"|github_pat_[A-Za-z0-9_]{20,}|AKIA[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{30,}"
    r"|xox[abprs]-[A-Za-z0-9-]{10,}|eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,})"
)
_BEARER = re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE)


# Substrings (lower case) without which a pattern cannot match: checking them first costs a
# fraction of running the regex, and most text (paths, lease tables) has none of them.
_KEYED_HINTS = ("key", "token", "secret", "passw", "credential", "auth")
_BEARER_HINTS = ("bearer", "basic")
_SHAPED_HINTS = ("sk-", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "akia", "aiza",
                 "xox", "eyj")


def redact(text: str) -> str:
    """``text`` with values of credential-like keys and well-known token shapes replaced."""
    if not text:
        return text
    lower = text.lower()
    out = text
    if any(hint in lower for hint in _KEYED_HINTS):
        out = _KEYED.sub(lambda m: f"{m['key']}{m['sep']}{m['quote']}{REDACTED}", out)
    if any(hint in lower for hint in _BEARER_HINTS):
        out = _BEARER.sub(lambda m: f"{m[1]} {REDACTED}", out)
    if any(hint in lower for hint in _SHAPED_HINTS):
        out = _SHAPED.sub(REDACTED, out)
    return out


def redact_env(env: dict[str, str]) -> dict[str, str]:
    """A copy of ``env`` safe to show: every value replaced, names kept (names are not secret)."""
    return {name: REDACTED for name in env}
