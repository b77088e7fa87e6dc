"""Regular expressions from users, run where a runaway one can be stopped.

Python's ``re`` engine never checks for signals or releases the GIL while it matches, so a
pattern with catastrophic backtracking (``(a+)+$`` on a long line of ``a``) freezes the
whole process — Ctrl-C included — for minutes or forever. Every user regex therefore runs
in a child process with a time budget: past it the child is killed and a clear
:class:`~yui_lsp.errors.PlanError` names the pattern and the file it was stuck on. Ctrl-C
reaches the child too (same process group) and ends the wait at once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable

from yui_lsp.errors import PlanError

#: Seconds one batch of matching may take before the pattern is called runaway
#: (``YUI_REGEX_TIMEOUT_S`` overrides it).
BUDGET_ENV = "YUI_REGEX_TIMEOUT_S"


def default_budget_s() -> float:
    try:
        return max(float(os.environ.get(BUDGET_ENV, "60")), 0.1)
    except ValueError:
        return 60.0

# The child: reads one JSON header line (op, pattern, replacement) then one JSON line per
# text; answers one JSON line per text as soon as it is done (so the parent knows which
# text a runaway pattern was stuck on).
_CHILD = r"""
import json, re, sys
header = json.loads(sys.stdin.readline())
pattern = re.compile(header["pattern"], re.MULTILINE)
out = sys.stdout
for line in sys.stdin:
    item = json.loads(line)
    if header["op"] == "search":
        found = pattern.search(item["text"]) is not None
        out.write(json.dumps([item["name"], found]) + "\n")
    else:
        new, count = pattern.subn(header["replacement"], item["text"])
        out.write(json.dumps([item["name"], new if count else None, count]) + "\n")
    out.flush()
"""


def _run(op: str, pattern: str, replacement: str, texts: list[tuple[str, str]],
         budget_s: float) -> list[list[object]]:
    lines = [json.dumps({"op": op, "pattern": pattern, "replacement": replacement})]
    lines += [json.dumps({"name": name, "text": text}) for name, text in texts]
    child = subprocess.Popen(
        [sys.executable, "-I", "-S", "-c", _CHILD], stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8",
        errors="surrogatepass",
    )
    try:
        out, err = child.communicate("\n".join(lines) + "\n", timeout=budget_s)
    except subprocess.TimeoutExpired:
        child.kill()
        out, _ = child.communicate()
        done = len(out.splitlines())
        stuck = texts[done][0] if done < len(texts) else "the last file"
        raise PlanError(
            f"the regex {pattern!r} ran for more than {budget_s:g} s on {stuck} and was "
            "stopped; nothing was changed (it backtracks catastrophically: avoid nested "
            "repetition such as (a+)+ or (a|a)*, or anchor it)"
        ) from None
    finally:
        if child.poll() is None:  # Ctrl-C or cancellation while waiting
            child.kill()
            child.wait()
    if child.returncode != 0:
        last = err.strip().splitlines()[-1] if err.strip() else f"exit {child.returncode}"
        raise PlanError(f"the regex {pattern!r} could not be run: {last}")
    return [json.loads(line) for line in out.splitlines()]


def search_many(pattern: str, texts: Iterable[tuple[str, str]],
                budget_s: float | None = None) -> set[str]:
    """Names of the ``(name, text)`` pairs in which ``pattern`` (MULTILINE) matches."""
    batch = list(texts)
    if not batch:
        return set()
    answers = _run("search", pattern, "", batch, budget_s or default_budget_s())
    return {str(name) for name, found in answers if found}


def sub_many(pattern: str, replacement: str, texts: Iterable[tuple[str, str]],
             budget_s: float | None = None) -> dict[str, tuple[str, int]]:
    """``{name: (new text, replacements)}`` for the pairs ``pattern`` changed."""
    batch = list(texts)
    if not batch:
        return {}
    answers = _run("sub", pattern, replacement, batch, budget_s or default_budget_s())
    return {str(name): (str(new), int(str(count)))
            for name, new, count in answers if new is not None}
