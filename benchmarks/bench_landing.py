"""Landing many files: `yui refactor` against `sed -i` + `sync -f`, quiet and under load.

Every figure is a median of several runs over the same inputs, with its spread (min–max),
against a baseline measured in the same run on the same disk: ``sed -i`` over a copy of
the tree followed by ``sync -f`` of it (yui's apply is journaled and durable; plain sed is
neither). "Under load" adds a second process that writes and flushes on the same disk the
whole time. Output trees are compared with sed's: they must be identical.

    python benchmarks/bench_landing.py [--quick]      # prints the figures as JSON lines
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

Figure = dict[str, Any]
SOURCE_ROOT = Path(__file__).resolve().parents[1]


def _quick() -> bool:
    return os.environ.get("YUI_BENCH_QUICK") == "1"


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=bench", "-c", "user.email=bench@yui.invalid", *args],
                   cwd=root, check=True, capture_output=True)


def _write_tree(root: Path, count: int, every: int) -> None:
    """``count`` small Python files; one in ``every`` holds the pattern (1 = all)."""
    for i in range(count):
        body = "".join(f"line {n} of file {i}\n" for n in range(12))
        if i % every == 0:
            body += f"from old_module import old_name\nvalue = old_name({i})  # old_name\n"
        path = root / f"src/pkg{i % 50}/mod{i}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body)


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted((root / "src").rglob("*")) if p.is_file()}


@contextmanager
def _disk_writer(folder: Path) -> Iterator[None]:
    """A second process writing 1 MiB files and flushing them, on the same disk, meanwhile."""
    stop = multiprocessing.Event()
    worker = multiprocessing.Process(target=_write_and_flush, args=(str(folder), stop))
    worker.start()
    try:
        yield
    finally:
        stop.set()
        worker.join(30)


def _write_and_flush(folder: str, stop: Any) -> None:
    data = os.urandom(1 << 20)
    n = 0
    while not stop.is_set():
        path = os.path.join(folder, f"load-{n % 8}.bin")
        with open(path, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        n += 1


def _yui(root: Path, cache: Path, extra: list[str]) -> float:
    env = dict(os.environ, CI="true", XDG_CACHE_HOME=str(cache), PYTHONPATH=str(SOURCE_ROOT))
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "yui_lsp.cli.main", "refactor", "--pattern", "old_name",
         "--replacement", "new_name", "--files", "src/**/*.py", "--json", *extra],
        cwd=root, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"yui refactor failed: {done.stderr.strip()[-300:]}")
    return elapsed


def _sed_sync(tree: Path) -> float:
    paths = sorted(str(p) for p in (tree / "src").rglob("*.py"))
    started = time.perf_counter()
    subprocess.run(["sed", "-i", "s/old_name/new_name/g", *paths], check=True)
    subprocess.run(["sync", "-f", str(tree)], check=True)
    return time.perf_counter() - started


def _pair(work: Path, count: int, every: int, extra: list[str]) -> tuple[float, float]:
    """One run of each, on fresh copies of the same tree: (yui seconds, sed + sync seconds)."""
    if work.exists():
        shutil.rmtree(work)
    repo, copy = work / "repo", work / "copy"
    _write_tree(repo, count, every)
    shutil.copytree(repo / "src", copy / "src")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "bench")
    subprocess.run(["sync", "-f", str(work)], check=True)  # both start with a clean disk
    baseline = _sed_sync(copy)
    yui = _yui(repo, work / "cache", extra)
    if _snapshot(repo) != _snapshot(copy):
        raise RuntimeError("yui refactor and sed produced different trees")
    return yui, baseline


def _spread(values: list[float]) -> str:
    return f"{min(values):.2f}–{max(values):.2f} s"


def _measure(name: str, runs: int, count: int, every: int, *, loaded: bool,
             extra: list[str] | None = None) -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="yui-land-", dir=_bench_dir()) as tmp:
        work = Path(tmp) / "work"
        load_dir = Path(tmp) / "load"
        load_dir.mkdir()
        pairs = []
        with _disk_writer(load_dir) if loaded else _nothing():
            for _ in range(runs):
                pairs.append(_pair(work, count, every, extra or []))
    yui = [p[0] for p in pairs]
    base = [p[1] for p in pairs]
    ratios = [y / b for y, b in pairs]
    return [{
        "name": name, "value": statistics.median(yui), "unit": "s",
        "baseline": statistics.median(base),
        "ratio": statistics.median(yui) / statistics.median(base),
        "note": f"median of {runs} runs; yui {_spread(yui)}, sed+sync {_spread(base)}, "
                f"per-run ratio {min(ratios):.2f}–{max(ratios):.2f}; trees identical; "
                "start-up included (bytecode compiled, as installed); aim ratio ≤ 1.2" + (
                    "; a second process writes and fsyncs 1 MiB files on the same disk "
                    "throughout" if loaded else ""),
    }]


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def _bench_dir() -> str | None:
    """Where the trees go: YUI_BENCH_DIR, else the system's temporary folder."""
    return os.environ.get("YUI_BENCH_DIR") or None


async def _land(root: Path, cache: Path, groups: list[list[str]]) -> float:
    """Seconds from submitting one refactor task per group of files to the last landing."""
    from yui_lsp.config import Settings
    from yui_lsp.coordinator import ParallelTaskManager
    from yui_lsp.protocol import RefactorSpec, Task, TaskStatus

    settings = Settings(sandbox_dir=str(cache / "sandboxes"), max_workers=len(groups))
    async with ParallelTaskManager(root, settings=settings) as manager:
        started = time.perf_counter()
        for n, files in enumerate(groups):
            spec = RefactorSpec(pattern="old_name", replacement="new_name", files=files)
            await manager.submit_task(Task(id=f"land-{n}", agent="yui", claims=files,
                                           refactor=spec))
        await manager.wait_for_completion()
        elapsed = time.perf_counter() - started
        statuses = {r.status for r in manager.get_results()}
    if statuses != {TaskStatus.COMPLETED}:
        raise RuntimeError(f"refactor tasks ended {statuses}")
    return elapsed


def _two_against_one(runs: int, total: int) -> list[Figure]:
    """Two tasks of total/2 files landing at once against one task of ``total`` files."""
    import anyio

    half = total // 2
    one, two = [], []
    with tempfile.TemporaryDirectory(prefix="yui-land-", dir=_bench_dir()) as tmp:
        for n in range(runs):
            for parts, into in ((1, one), (2, two)):
                work = Path(tmp) / f"{parts}-{n}"
                repo = work / "repo"
                _write_tree(repo, total, 1)
                _git(repo, "init", "-q", "-b", "main")
                _git(repo, "add", "-A")
                _git(repo, "commit", "-qm", "bench")
                subprocess.run(["sync", "-f", str(repo)], check=True)
                files = sorted(p.relative_to(repo).as_posix() for p in repo.rglob("*.py"))
                size = -(-len(files) // parts)
                groups = [files[i : i + size] for i in range(0, len(files), size)]
                into.append(anyio.run(_land, repo, work / "cache", groups))
                shutil.rmtree(work)
    return [{
        "name": f"two {half:,}-file tasks landing at once (group commit)",
        "value": statistics.median(two), "unit": "s", "baseline": statistics.median(one),
        "ratio": statistics.median(two) / statistics.median(one),
        "note": f"baseline = one task of {total:,} files, same coordinator; median of {runs} "
                f"runs; two {_spread(two)}, one {_spread(one)}; every file matches; submit to "
                "last landing",
    }]


def _compile_sources() -> None:
    """Compile yui's modules to bytecode first, as installing it does: run from a checkout
    where bytecode is not written (PYTHONDONTWRITEBYTECODE), every run would compile them
    again (about 0.08 s here) and the figure would measure that."""
    import compileall

    compileall.compile_dir(str(SOURCE_ROOT / "yui_lsp"), quiet=1)


def run(quick: bool | None = None) -> list[Figure]:
    """The landing figures (small sizes with ``quick``)."""
    quick = _quick() if quick is None else quick
    _compile_sources()
    runs = 2 if quick else 3
    sizes = [(300, 1)] if quick else [(3_000, 1), (10_000, 2)]
    figures: list[Figure] = []
    benches: list[Callable[[], list[Figure]]] = []
    for count, every in sizes:
        what = "all match" if every == 1 else "half match"
        for loaded in (False, True):
            label = f"yui refactor over {count:,} files ({what})" + (
                ", disk busy" if loaded else ", quiet")
            benches.append(lambda label=label, count=count, every=every, loaded=loaded:
                           _measure(label, runs, count, every, loaded=loaded))
    benches.append(lambda: _two_against_one(runs, 1_000 if quick else 10_000))
    for bench in benches:
        try:
            figures += bench()
        except Exception as exc:  # one failed figure must not hide the others
            figures.append({"name": "landing", "value": float("nan"), "unit": "",
                            "baseline": None, "ratio": None,
                            "note": f"FAILED: {type(exc).__name__}: {str(exc)[:160]}"})
    return figures


if __name__ == "__main__":
    for figure in run("--quick" in sys.argv):
        print(json.dumps(figure))
