"""The power-cut runner: real yui applies on lazyfs, cut at a random operation, then checked.

Each *cut* puts a fresh copy of a scenario's repository on a lazyfs mount
(tests/durability/lazyfs.py), runs the scenario's yui command(s) in it, cuts the power
before a chosen changing operation (or right after the last one), remounts what a disk
would hold then, runs ``yui recover`` and checks:

- every task's files are all wholly old or all wholly new (a change set is all or nothing);
- a task yui reported completed before the cut is new (a reported result is durable);
- what ``yui recover`` said it did (rolled forward / back) is what is on disk;
- no temp file or journal is left, ``git fsck --strict`` is clean;
- ``yui undo`` of a landed task brings every file back.

Long mode: ``python tests/durability/powercut.py --cuts 1000`` (figures for
docs/durability.md). Replay one cut: ``--replay SCENARIO:SEED:OP[:reorder]``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from mount import mounted

YUI = [sys.executable, "-m", "yui_lsp.cli.main"]
TEMP_MARK = ".yui-"
Files = dict[str, bytes | None]


@dataclass
class Scenario:
    """A repository, the commands run on it, and each task's new content per path."""

    name: str
    files: dict[str, bytes]
    commands: Callable[[dict[str, str]], list[list[str]]]
    tasks: dict[str, Files] = field(default_factory=dict)
    setup: list[str] | None = None  # a command run (uncut) before the cut run
    expect_undone: str | None = None  # task whose undo the cut run performs


def _printf(path: str, content: bytes | None) -> str:
    if content is None:
        return f"rm -f {path}"
    folder = os.path.dirname(path)
    mk = f"mkdir -p {folder} && " if folder else ""
    return f"{mk}printf '%s' '{content.decode()}' > {path}"


def _plan(tasks: dict[str, Files]) -> bytes:
    lines = []
    for task_id, files in tasks.items():
        script = " && ".join(_printf(p, c) for p, c in files.items())
        claims = ", ".join(json.dumps(p) for p in files)
        lines += ["[[task]]", f'id = "{task_id}"', 'agent = "shell"',
                  f"command = [\"sh\", \"-c\", {json.dumps(script)}]", f"claims = [{claims}]", ""]
    return "\n".join(lines).encode()


#: The machine running the cuts is busy by design; yui's CPU gate would only slow them down.
CONFIG = {"pyproject.toml": b"[tool.yui]\nmax_cpu_percent = 100\n"}


def _base_files(count: int) -> dict[str, bytes]:
    return {**CONFIG, "docs/old.md": b"# to be removed\n",
            **{f"src/f{i}.txt": f"old {i}\n".encode() for i in range(count)}}


def single() -> Scenario:
    tasks: dict[str, Files] = {"edit": {
        "src/f0.txt": b"new 0\n", "src/f1.txt": b"new 1\nmore\n",
        "src/created/n.txt": b"created\n", "src/f2.txt": None,
        "docs/old.md": None,  # a removal alone in its folder
    }}
    files = {**_base_files(4), "plan.toml": _plan(tasks)}
    return Scenario("single", files, lambda ids: [[*YUI, "run", "--json", "plan.toml"]], tasks)


def parallel() -> Scenario:
    tasks: dict[str, Files] = {
        f"t{k}": {f"src/f{2 * k}.txt": f"task {k}\n".encode(),
                  f"src/f{2 * k + 1}.txt": None,
                  f"src/new{k}.txt": f"from {k}\n".encode()}
        for k in range(3)
    }
    files = {**_base_files(6), "plan.toml": _plan(tasks)}
    return Scenario("parallel", files, lambda ids: [[*YUI, "run", "--json", "plan.toml"]], tasks)


def refactor(count: int = 1000) -> Scenario:
    files = {**CONFIG, **{f"pkg/m{i:04d}.py": f"value = old_name_{i}\n".encode()
                          for i in range(count)}}
    # Chunk membership is read from the calibration run's output (see _learn_tasks).
    new = {p: c.replace(b"old_name", b"new_name") for p, c in files.items() if p.startswith("pkg")}
    return Scenario("refactor", files, lambda ids: [[
        *YUI, "refactor", "--parallel", "--json", "--pattern", "old_name", "--replacement",
        "new_name", "--files", "pkg/*.py"]], {"*": dict(new)})


def undo() -> Scenario:
    base = single()
    return Scenario("undo", base.files, lambda ids: [[*YUI, "undo", ids["edit"]]], base.tasks,
                    setup="run", expect_undone="edit")


def recover() -> Scenario:
    base = single()
    return Scenario("recover", base.files, lambda ids: [[*YUI, "recover"]], base.tasks,
                    setup="cut-run")


SCENARIOS: dict[str, Callable[[], Scenario]] = {
    "single": single, "parallel": parallel, "refactor": refactor, "undo": undo,
    "recover": recover,
}


# --------------------------------------------------------------------------- running


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)


def make_repo(scenario: Scenario, folder: Path) -> Path:
    """The scenario's repository at ``folder``, committed."""
    folder.mkdir(parents=True)
    _git(folder, "init", "-q", "-b", "main")
    _git(folder, "config", "user.email", "t@example.com")
    _git(folder, "config", "user.name", "t")
    for rel, data in scenario.files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    _git(folder, "add", "-A")
    _git(folder, "commit", "-qm", "init")
    return folder


@dataclass
class Run:
    """What one command printed before it ended or the power went."""

    code: int | None
    stdout: str
    stderr: str

    def completed(self) -> dict[str, list[str]]:
        """Task id → files, for every task reported completed."""
        done: dict[str, list[str]] = {}
        for line in self.stdout.splitlines():
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if message.get("type") == "task_update" and message.get("status") == "completed":
                done[message["task_id"]] = list(message.get("files_modified") or [])
        return done


def run_command(command: list[str], cwd: Path, env: dict[str, str], image: Path,
                timeout: float = 120.0) -> Run:
    """Run ``command``; once the power is cut (``image`` appears) kill it like the cut would."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=err,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
        end = time.monotonic() + timeout
        while process.poll() is None:
            if image.exists() or time.monotonic() > end:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                break
            time.sleep(0.01)
        out.seek(0)
        err.seek(0)
        code = None if image.exists() else process.returncode
        return Run(code, out.read().decode(errors="replace"), err.read().decode(errors="replace"))


def _env(cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("YUI_")}
    env["XDG_CACHE_HOME"] = str(cache)
    env.pop("XDG_RUNTIME_DIR", None)
    repo_root = Path(__file__).resolve().parents[2]
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(repo_root), env.get("PYTHONPATH")]))
    return env


@dataclass
class CutResult:
    """The outcome of one cut: ``problems`` is empty when every check held."""

    scenario: str
    seed: int
    cut_at: int | None
    reorder: bool
    total_ops: int
    verdicts: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def replay(self) -> str:
        return f"{self.scenario}:{self.seed}:{self.cut_at}" + (":reorder" if self.reorder else "")


class Workdir:
    """Fresh folders for one cut."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.count = 0

    def next(self, name: str) -> Path:
        self.count += 1
        path = self.base / f"{self.count:02d}-{name}"
        return path


def _mount_run(backing: Path, work: Workdir, commands: list[list[str]], env: dict[str, str],
               cut_at: int | None, seed: int, reorder: bool) -> tuple[Path, list[Run], int]:
    """Mount ``backing``, run ``commands`` in it with a cut, return (image, runs, ops)."""
    mountpoint, image = work.next("mnt"), work.next("image")
    runs: list[Run] = []
    with mounted(backing, mountpoint, image, cut_at=cut_at, seed=seed,
                 reorder=reorder) as mount:
        for command in commands:
            runs.append(run_command(command, mountpoint, env, image))
            if image.exists():
                break
    return image, runs, int(mount.stats.get("ops", 0))


def _learn_tasks(scenario: Scenario, run: Run) -> dict[str, Files]:
    """Per-task new contents; the refactor's chunks come from what its run reported."""
    if "*" not in scenario.tasks:
        return scenario.tasks
    new = scenario.tasks["*"]
    return {task: {p: new[p] for p in files} for task, files in run.completed().items()}


def calibrate(scenario: Scenario, base: Path) -> tuple[int, dict[str, Files], dict[str, str]]:
    """Ops of an uncut run, per-task contents, and the ids of setup tasks."""
    work = Workdir(base)
    repo = make_repo(scenario, work.next("repo"))
    env = _env(work.next("cache"))
    backing, ids = _setup(scenario, repo, work, env, seed=0)
    _image, runs, ops = _mount_run(backing, work, scenario.commands(ids), env, None, 0, False)
    tasks = _learn_tasks(scenario, runs[0]) if runs else scenario.tasks
    return ops, tasks, ids


def _setup(scenario: Scenario, repo: Path, work: Workdir, env: dict[str, str],
           seed: int) -> tuple[Path, dict[str, str]]:
    """Run the scenario's setup step; returns the folder the cut run starts from and ids."""
    if scenario.setup is None:
        return repo, {}
    plan = [[*YUI, "run", "--json", "plan.toml"]]
    if scenario.setup == "run":
        image, runs, _ = _mount_run(repo, work, plan, env, None, seed, False)
        ids = {t: t for t in runs[0].completed()} if runs else {}
        return image, _resolve_ids(ids, scenario)
    # "cut-run": a run cut while its apply is under way (its journal recorded, not yet
    # retired to the backups) leaves a journal for recover to finish.
    trace = _traced_run(make_repo(scenario, work.next("repo")), work, plan, env)
    start = next(i for i, (_, path) in enumerate(trace, 1) if "/.yui/journal/" in path)
    end = next(i for i, (op, path) in enumerate(trace, 1)
               if op == "rename" and "/.yui/backups/" in path)
    rng = random.Random(seed)
    image, _, _ = _mount_run(repo, work, plan, env, rng.randint(start + 1, end), seed, False)
    return image, {}


def _traced_run(backing: Path, work: Workdir, commands: list[list[str]],
                env: dict[str, str]) -> list[tuple[str, str]]:
    """The changing operations of an uncut run, in order."""
    mountpoint, image = work.next("mnt"), work.next("image")
    with mounted(backing, mountpoint, image) as mount:
        for command in commands:
            run_command(command, mountpoint, env, image)
    return [(op, path) for op, path in mount.stats.get("trace", [])]


def _resolve_ids(completed: dict[str, str], scenario: Scenario) -> dict[str, str]:
    """Plan id → the id yui gave the task (a repeated id may get a run suffix)."""
    ids = {}
    for plan_id in scenario.tasks:
        match = [t for t in completed if t == plan_id or t.startswith(f"{plan_id}-")]
        if match:
            ids[plan_id] = match[0]
    return ids


def one_cut(scenario_name: str, seed: int, cut_at: int | None, reorder: bool, base: Path,
            total_ops: int, tasks: dict[str, Files] | None = None) -> CutResult:
    """One cut of ``scenario_name`` before changing operation ``cut_at`` (None: after all)."""
    scenario = SCENARIOS[scenario_name]()
    result = CutResult(scenario_name, seed, cut_at, reorder, total_ops)
    work = Workdir(base)
    env = _env(work.next("cache"))
    repo = make_repo(scenario, work.next("repo"))
    backing, ids = _setup(scenario, repo, work, env, seed)
    if scenario.setup == "run" and scenario.expect_undone not in ids:
        result.problems.append("setup run did not complete its task")
        return result
    image, runs, _ = _mount_run(backing, work, scenario.commands(ids), env, cut_at, seed, reorder)
    if runs and runs[-1].code not in (None, 0):
        result.problems.append(f"command failed without a cut: {runs[-1].stderr.strip()[-300:]}")
    reported = {k: v for r in runs for k, v in r.completed().items()}
    if tasks is None:
        tasks = _learn_tasks(scenario, runs[0] if runs else Run(0, "", ""))
    _check_after_recovery(scenario, tasks, reported, image, work, env, result)
    return result


def _state(root: Path, files: Files) -> dict[str, bytes | None]:
    out: dict[str, bytes | None] = {}
    for rel in files:
        path = root / rel
        out[rel] = path.read_bytes() if path.is_file() else None
    return out


def _check_after_recovery(scenario: Scenario, tasks: dict[str, Files],
                          reported: dict[str, list[str]], image: Path, work: Workdir,
                          env: dict[str, str], result: CutResult) -> None:
    mountpoint, final = work.next("mnt"), work.next("final")
    with mounted(image, mountpoint, final):
        recovered = run_command([*YUI, "recover"], mountpoint, env, final)
        if recovered.code != 0:
            result.problems.append(f"yui recover failed: {recovered.stderr.strip()[-300:]}")
            return
        said = {line.rsplit(" ", 1)[-1]: line.split(" ")[0]
                for line in recovered.stdout.splitlines() if " apply of " in line}
        for task_id, files in tasks.items():
            old = {p: scenario.files.get(p) for p in files}
            now = _state(mountpoint, files)
            verdict = "new" if now == files else "old" if now == old else "torn"
            if scenario.expect_undone == task_id:
                verdict = {"new": "not undone", "old": "undone"}.get(verdict, verdict)
            result.verdicts[task_id] = verdict
            if verdict == "torn":
                bad = sorted(p for p in files if now[p] not in (files[p], old[p]))
                mixed = sorted(p for p in files if now[p] == files[p])
                result.problems.append(
                    f"task {task_id}: files neither all old nor all new (garbled: {bad[:3]}, "
                    f"new: {mixed[:3]} of {len(files)})")
            landed = reported.get(task_id) is not None or any(
                t.startswith(f"{task_id}-") for t in reported)
            if landed and verdict != "new":
                result.problems.append(f"task {task_id} was reported completed but is {verdict}")
            verb = said.get(task_id)
            if verb == "rolled" and verdict == "torn":
                result.problems.append(f"recover rolled {task_id} but it is torn")
        _check_debris(mountpoint, result)
        fsck = _git(mountpoint, "fsck", "--strict", "--no-progress")
        if fsck.returncode != 0:
            result.problems.append(f"git fsck: {(fsck.stdout + fsck.stderr).strip()[:300]}")
        _check_undo(scenario, tasks, result, mountpoint, env, final)


def _check_debris(root: Path, result: CutResult) -> None:
    debris = [str(p.relative_to(root)) for p in root.rglob(f"*{TEMP_MARK}*")
              if ".git" not in p.relative_to(root).parts]
    journal = root / ".yui" / "journal"
    if journal.is_dir():
        debris += [f".yui/journal/{p.name}" for p in journal.iterdir()]
    if debris:
        result.problems.append(f"left behind: {sorted(debris)[:5]}")


def _check_undo(scenario: Scenario, tasks: dict[str, Files], result: CutResult, root: Path,
                env: dict[str, str], image: Path) -> None:
    if scenario.name != "single" or result.verdicts.get("edit") != "new":
        return
    done = run_command([*YUI, "undo", "edit"], root, env, image)
    ids = [line for line in done.stdout.splitlines()]
    now = _state(root, tasks["edit"])
    old = {p: scenario.files.get(p) for p in tasks["edit"]}
    if now != old:
        result.problems.append(f"undo after recovery did not restore the files: {ids[:3]}")


# --------------------------------------------------------------------------- driver


def run_cuts(scenarios: list[str], cuts: int, seed: int, base: Path,
             report: Callable[[CutResult], None] | None = None,
             reorder_share: float = 0.5) -> list[CutResult]:
    """``cuts`` seeded cuts spread over ``scenarios``; each cut's op drawn uniformly."""
    rng = random.Random(seed)
    calibrated = {}
    for name in scenarios:
        folder = base / f"calibrate-{name}"
        calibrated[name] = calibrate(SCENARIOS[name](), folder)
        shutil.rmtree(folder, ignore_errors=True)
    results = []
    for index in range(cuts):
        name = scenarios[index % len(scenarios)]
        ops, tasks, _ = calibrated[name]
        cut_seed = rng.randrange(1 << 30)
        cut_at = rng.randint(1, ops + 1)
        reorder = rng.random() < reorder_share
        folder = base / f"cut-{index:05d}"
        result = one_cut(name, cut_seed, None if cut_at > ops else cut_at, reorder, folder, ops,
                         tasks)
        if not result.problems:
            shutil.rmtree(folder, ignore_errors=True)
        results.append(result)
        if report is not None:
            report(result)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="power-cut runner for yui's journaled apply")
    parser.add_argument("--cuts", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scenario", action="append", choices=sorted(SCENARIOS))
    parser.add_argument("--replay", help="SCENARIO:SEED:OP[:reorder]")
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--json", type=Path, help="write a summary here")
    parser.add_argument("--markdown", type=Path,
                        help="write the results table into this file's powercut:results block")
    args = parser.parse_args(argv)
    base = args.workdir or Path(tempfile.mkdtemp(prefix="yui-powercut-"))
    started = time.monotonic()
    if args.replay:
        name, seed, op, *rest = args.replay.split(":")
        result = one_cut(name, int(seed), None if op == "None" else int(op), bool(rest), base, 0)
        print(json.dumps(result.__dict__, indent=1))
        return 1 if result.problems else 0

    def show(result: CutResult) -> None:
        mark = "ok " if not result.problems else "BAD"
        print(f"{mark} {result.replay:<28} of {result.total_ops:>5} ops  {result.verdicts}"
              + (f"\n    {result.problems}" if result.problems else ""), flush=True)

    scenarios = args.scenario or sorted(SCENARIOS)
    results = run_cuts(scenarios, args.cuts, args.seed, base, show)
    bad = [r for r in results if r.problems]
    seconds = round(time.monotonic() - started)
    summary = {"cuts": len(results), "failed": len(bad), "seconds": seconds,
               "by_scenario": {
                   name: {"cuts": sum(r.scenario == name for r in results),
                          "verdicts": _count([v for r in results if r.scenario == name
                                              for v in r.verdicts.values()])}
                   for name in scenarios},
               "failures": [{"replay": r.replay, "problems": r.problems} for r in bad]}
    print(json.dumps(summary, indent=1))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1))
    if args.markdown:
        _write_markdown(args.markdown, summary, args.seed)
    return 1 if bad else 0


def _write_markdown(path: Path, summary: dict[str, object], seed: int) -> None:
    """Replace the results block of ``path`` with a table of ``summary``."""
    by = summary["by_scenario"]
    assert isinstance(by, dict)
    rows = ["| scenario | cuts | tasks all new | tasks all old | other verdicts |",
            "| --- | ---: | ---: | ---: | --- |"]
    for name, data in by.items():
        verdicts = dict(data["verdicts"])
        new, old = verdicts.pop("new", 0), verdicts.pop("old", 0)
        for done, kept in (("undone", "not undone"),):
            new, old = new + verdicts.pop(kept, 0), old + verdicts.pop(done, 0)
        rows.append(f"| {name} | {data['cuts']} | {new} | {old} | {verdicts or '—'} |")
    text = (f"{summary['cuts']} cuts (seed {seed}, half of them reordering), "
            f"{summary['failed']} failed, {summary['seconds']} s on {os.cpu_count()} cores.\n\n"
            + "\n".join(rows) + "\n")
    doc = path.read_text()
    start, end = "<!-- powercut:results -->\n", "<!-- /powercut:results -->"
    head, _, rest = doc.partition(start)
    _, _, tail = rest.partition(end)
    path.write_text(head + start + text + end + tail)


def _count(values: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return counts


if __name__ == "__main__":
    sys.exit(main())
