"""Keep secrets out of logs: redaction of credential-looking values in free text.

Agent output lines, the audit log, task tables and error messages pass through
:func:`redact` before they are written anywhere a user (or a bug report) might see them.
"""

from __future__ import annotations

import re
from collections.abc import Callable

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
# Keys that name nothing but a secret: their value goes however short it is.
_SECRET_KEYED = re.compile(
    r"""(?P<key>(?:passw(?:or)?d|secret|api[_-]?key|apikey)[A-Za-z0-9_.-]*["']?)"""
    r"""(?P<sep>\s*[:=]\s*)(?P<quote>["']?)(?P<value>[^\s"',;]+)""",
    re.IGNORECASE,
)
# --password x, --password=x, -pass x, --token x ... (a flag whose value is the secret).
_FLAG = re.compile(
    r"""(?P<flag>(?<![\w-])--?(?:password|passwd|pass|token|auth[_-]?token|api[_-]?key|"""
    r"""secret|client[_-]?secret|access[_-]?key))(?P<sep>=|\s+|"\s*,\s*")(?P<value>[^\s"']+|"[^"]*"|'[^']*')""",
    re.IGNORECASE,
)
# scheme://user:password@host
_URL_CREDENTIALS = re.compile(
    r"""(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@"'<>]*:)(?P<value>[^\s/@"'<>]+)@"""
)
# Flags that are a password only for the program they follow: mysql -pSECRET,
# sshpass -p SECRET, curl -u user:SECRET.
_PROGRAM_FLAG = re.compile(
    r"""(?P<head>\b(?:(?:mysql|mysqldump|mysqladmin|mariadb|mariadb-dump)\b[^\n]*?\s-p"""
    r"""|sshpass\s+-p\s*|(?:curl|wget)\b[^\n]*?\s(?:-u|--user)\s*[^\s:]+:))(?P<value>[^\s-]\S*)""",
    re.IGNORECASE,
)
# HTTP headers that carry a credential: x-api-key: k, Authorization: Bearer t.
_HEADER = re.compile(
    r"""(?P<head>\b(?:x-api-key|x-auth-token|x-goog-api-key|api-key|authorization)\s*:\s*"""
    r"""(?:(?:bearer|basic|token|digest)\s+)?)(?P<value>[^\s"',;]+)""",
    re.IGNORECASE,
)
# Bare tokens with well-known shapes (no key name next to them).
_SHAPED = re.compile(
    r"\b(?:sk-[A-Za-z0-9_-]{16,}|sk-ant-[A-Za-z0-9_-]{16,}|gh[pousr]_[A-Za-z0-9]{20,}"
    r"|github_pat_[A-Za-z0-9_]{20,}|(?:AKIA|ASIA)[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{30,}"
    r"|xox[abprs]-[A-Za-z0-9-]{10,}|eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,})"
)
_BEARER = re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE)


def _keyed(m: re.Match[str]) -> str:
    return f"{m['key']}{m['sep']}{m['quote']}{REDACTED}"


def _after_head(m: re.Match[str]) -> str:
    return f"{m['head']}{REDACTED}"


#: (pattern, replacement, substrings in lower case without which it cannot match). Checking
#: the substrings first costs a fraction of running the regex, and most text (paths, lease
#: tables) has none of them. Applied in this order.
RULES: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str], tuple[str, ...]]] = [
    (_URL_CREDENTIALS, lambda m: f"{m['head']}{REDACTED}@", ("://",)),
    (_PROGRAM_FLAG, _after_head, ("mysql", "mariadb", "sshpass", "curl", "wget")),
    (_HEADER, _after_head, ("api-key", "auth-token", "authorization")),
    (_FLAG, lambda m: f"{m['flag']}{m['sep']}{REDACTED}", ("-pass", "-token", "-api", "-auth",
                                                            "-secret", "-client", "-access")),
    (_KEYED, _keyed, ("key", "token", "secret", "passw", "credential", "auth")),
    (_SECRET_KEYED, _keyed, ("passw", "secret", "key")),
    (_BEARER, lambda m: f"{m[1]} {REDACTED}", ("bearer", "basic")),
    (_SHAPED, lambda m: REDACTED, ("sk-", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_",
                                   "akia", "asia", "aiza", "xox", "eyj")),
]


def redact(text: str) -> str:
    """``text`` with credentials (values of credential-like keys, flags, URL passwords,
    headers and well-known token shapes) replaced by :data:`REDACTED`."""
    if not text:
        return text
    lower = text.lower()
    out = text
    for pattern, replacement, hints in RULES:
        if any(hint in lower for hint in hints):
            out = pattern.sub(replacement, out)
    return out

