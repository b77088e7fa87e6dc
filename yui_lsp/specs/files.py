"""Paths a task names: in backticks, after an arrow, or bare ("in src/models/user.py").

They become the task's claims. Only things that look like workspace paths count: a folder
part or a known file extension, no URL, no absolute path, no ``..``, no template
placeholder such as ``[entity].py``.
"""

from __future__ import annotations

import re

_EXTENSIONS = frozenset({
    "py", "pyi", "ts", "tsx", "js", "jsx", "mjs", "cjs", "json", "jsonc", "toml", "yaml",
    "yml", "md", "mdx", "rst", "txt", "html", "htm", "css", "scss", "sass", "less", "vue",
    "svelte", "go", "rs", "java", "kt", "kts", "swift", "c", "h", "cc", "cpp", "hpp", "cs",
    "rb", "php", "sql", "sh", "bash", "zsh", "ps1", "lua", "ini", "cfg", "conf", "env", "lock",
    "xml", "gradle", "proto", "graphql", "gql", "tf", "dockerfile", "csv", "ipynb", "dart",
    "ex", "exs", "erl", "scala", "clj", "r", "jl", "zig", "nim", "ml", "mli", "hs", "elm",
})
_SPECIAL = frozenset({"Dockerfile", "Makefile", "Procfile", "Justfile", "Gemfile"})
_BACKTICK = re.compile(r"`([^`\n]+)`")
_ARROW = re.compile(r"(?:→|->)[ \t]*`?([^\s`,;)]+)")
_BARE = re.compile(r"(?<![\w/.`@:-])((?:[\w.-]+/)+[\w.*-]*|[\w-]+(?:\.[\w-]+)*\.[A-Za-z]\w{0,9})"
                   r"(?=$|[\s,;:)'\"]|\.(?:\s|$))")


def _looks_like_path(token: str) -> bool:
    token = token.strip()
    if not token or " " in token or "://" in token or token.startswith(("/", "~", "-", "$")):
        return False
    if any(c in token for c in "[]{}<>|=()\"'"):
        return False
    parts = token.rstrip("/").split("/")
    if ".." in parts or any(not p for p in parts):
        return False
    name = parts[-1]
    if token.endswith("/"):
        return True
    if name in _SPECIAL:
        return True
    if "." in name.lstrip("."):
        ext = name.rsplit(".", 1)[1].lower()
        return ext in _EXTENSIONS
    return len(parts) > 1 and not token.replace("/", "").isdigit()


def _claim(token: str) -> str:
    token = token.strip().rstrip(".,;:")
    if token.startswith("./"):
        token = token[2:]
    return token.rstrip("/") + "/**" if token.endswith("/") else token


def files_named(text: str) -> list[str]:
    """Workspace-relative paths (folders as ``dir/**``) named in ``text``, in order."""
    found: list[str] = []
    spans: list[tuple[int, int]] = []
    for pattern in (_BACKTICK, _ARROW):
        for match in pattern.finditer(text):
            spans.append(match.span())
            if _looks_like_path(match[1]):
                found.append(_claim(match[1]))
    for match in _BARE.finditer(text):
        if any(start <= match.start() < end for start, end in spans):
            continue
        token = match[1].rstrip(".,;:")
        named = token.endswith("/") or "." in token.rsplit("/", 1)[-1]
        if _looks_like_path(token) and named:
            found.append(_claim(token))
    unique: list[str] = []
    for item in found:
        if item not in unique:
            unique.append(item)
    return unique
