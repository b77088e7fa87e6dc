"""Write reports/todo.md: every TODO note in the code, with where it is.

Usage: python3 tools/todo_report.py [--pace SECONDS]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

SOURCES = ("app", "web")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pace", type=float, default=0.0)
    pace = parser.parse_args().pace
    found: list[str] = []
    for folder in SOURCES:
        for path in sorted(Path(folder).rglob("*")):
            if not path.is_file() or path.suffix not in (".py", ".ts"):
                continue
            print(f"scanning {path}", flush=True)
            time.sleep(pace)
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if "TODO:" in line:
                    note = line.split("TODO:", 1)[1].strip()
                    found.append(f"- `{path.as_posix()}:{number}` {note}")
    Path("reports").mkdir(exist_ok=True)
    text = "# TODO notes\n\n" + ("\n".join(found) if found else "None.") + "\n"
    Path("reports/todo.md").write_text(text, encoding="utf-8")
    print(f"wrote reports/todo.md ({len(found)} notes)", flush=True)


if __name__ == "__main__":
    main()
