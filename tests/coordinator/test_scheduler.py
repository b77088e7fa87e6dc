"""The pure core: ready queue, slot and claim fit, dependency release, retry policy.

No event loop, no processes, no git: the scheduler is driven by calls and its decisions are
read back.
"""

from __future__ import annotations

from yui_lsp.config import AgentProfile
from yui_lsp.coordinator.records import TaskRecord
from yui_lsp.coordinator.scheduler import RetryPolicy, Scheduler
from yui_lsp.protocol import LockType, Task, TaskStatus
from yui_lsp.workspace import ClaimSet


def record(task_id: str, *, claims: list[str] | None = None, deps: list[str] | None = None,
           priority: int = 0, agent: str = "shell", shared: bool = False,
           max_concurrent: int | None = None) -> TaskRecord:
    task = Task(id=task_id, agent=agent, claims=claims or [], depends_on=deps or [],
                priority=priority, command=["true"],
                lock_type=LockType.SHARED if shared else LockType.EXCLUSIVE)
    return TaskRecord(task=task, profile=AgentProfile(kind="shell", max_concurrent=max_concurrent),
                      claim_set=ClaimSet(task.claims))


class Core:
    """A scheduler with its change and end reports collected."""

    def __init__(self, retention: int = 100) -> None:
        self.changes: list[tuple[str, TaskStatus]] = []
        self.ended: list[str] = []
        self.scheduler = Scheduler(
            retention,
            lambda rec: self.changes.append((rec.id, rec.status)),
            lambda rec: self.ended.append(rec.id),
        )

    def add(self, *records: TaskRecord) -> None:
        self.scheduler.add(list(records))

    def pick(self, workers: int = 4, shortage: str | None = None) -> list[str]:
        return [r.id for r in self.scheduler.pick(workers, lambda: shortage)]

    def end(self, task_id: str, status: TaskStatus = TaskStatus.COMPLETED) -> None:
        rec = self.scheduler.records[task_id]
        self.scheduler.finish(rec, status, status.value)
        self.scheduler.stopped(rec)


def test_ready_queue_orders_by_priority_then_submission_and_respects_workers() -> None:
    core = Core()
    core.add(record("a"), record("b", priority=5), record("c"), record("d", priority=5))
    assert core.pick(workers=3) == ["b", "d", "a"]
    assert core.pick(workers=3) == [], "every worker is busy"
    core.end("d")
    assert core.pick(workers=3) == ["c"]


def test_overlapping_exclusive_claims_wait_and_shared_ones_run_together() -> None:
    core = Core()
    core.add(record("a", claims=["src/**"]), record("b", claims=["src/x.py"]),
             record("c", claims=["docs/**"]),
             record("s1", claims=["lib/**"], shared=True),
             record("s2", claims=["lib/a.py"], shared=True))
    assert core.pick() == ["a", "c", "s1", "s2"]
    core.end("a")
    assert core.pick() == ["b"], "b starts once a's claims are free"


def test_agent_concurrency_limit_and_worker_slots_are_reused() -> None:
    core = Core()
    recs = [record(f"t{i}", max_concurrent=2) for i in range(4)]
    core.add(*recs)
    assert core.pick() == ["t0", "t1"]
    assert [r.agent_id for r in recs[:2]] == ["shell_worker_1", "shell_worker_2"]
    core.end("t0")
    assert core.pick() == ["t2"]
    assert recs[2].agent_id == "shell_worker_1", "the freed slot is taken again"


def test_dependencies_release_on_completion_and_fail_on_failure() -> None:
    core = Core()
    core.add(record("a"), record("b", deps=["a"]), record("c", deps=["b"]),
             record("x"), record("y", deps=["x"]))
    assert core.scheduler.records["b"].status == TaskStatus.BLOCKED
    assert core.pick() == ["a", "x"]
    core.end("a")
    assert core.pick() == ["b"]
    core.end("x", TaskStatus.FAILED)
    y = core.scheduler.records["y"]
    assert y.status == TaskStatus.FAILED
    assert y.error == "not started: dependency 'x' ended failed"
    assert y.done.is_set() and "y" in core.ended


def test_resource_shortage_holds_the_queue_in_order_but_never_the_first_task() -> None:
    core = Core()
    core.add(record("a"), record("b"), record("c"))
    assert core.pick(shortage="memory low") == ["a"], "with nothing running one task starts"
    assert core.pick(shortage="memory low") == []
    assert core.scheduler.waiting_reason == "memory low"
    assert core.scheduler.records["b"].message == "memory low"
    assert core.pick() == ["b", "c"]
    assert core.scheduler.waiting_reason is None


def test_cancelled_while_queued_is_skipped_and_retry_queues_again() -> None:
    core = Core()
    core.add(record("a"), record("b"))
    core.scheduler.cancel_queued(core.scheduler.records["a"])
    assert core.pick() == ["b"]
    rec = core.scheduler.records["a"]
    assert rec.status == TaskStatus.CANCELLED and rec.done.is_set()
    core.scheduler.reset(rec)
    assert rec.status == TaskStatus.QUEUED and not rec.done.is_set()
    assert core.pick() == ["a"]


def test_a_running_task_is_done_only_once_its_run_let_go() -> None:
    core = Core()
    core.add(record("a"))
    (rec,) = core.scheduler.pick(1, lambda: None)
    core.scheduler.finish(rec, TaskStatus.COMPLETED)
    assert rec.status == TaskStatus.COMPLETED and not rec.done.is_set()
    core.scheduler.stopped(rec)
    assert rec.done.is_set()


def test_old_results_are_forgotten_but_their_status_still_releases_dependents() -> None:
    core = Core(retention=2)
    core.add(*[record(f"t{i}") for i in range(4)])
    for task_id in core.pick():
        core.end(task_id)
    assert sorted(core.scheduler.records) == ["t2", "t3"]
    assert "t0" in core.scheduler.known
    core.add(record("after", deps=["t0"]))
    assert core.pick() == ["after"]


def test_retry_policy_backs_off_and_gives_up_as_configured() -> None:
    policy = RetryPolicy(max_retries=2, backoff_s=0.5, conflict_retries=1)
    assert [policy.retry_after_failure(n) for n in (1, 2, 3)] == [0.5, 1.0, None]
    assert policy.retry_after_failure(1, retryable=False) is None
    assert [policy.rerun_after_conflict(n) for n in (1, 2)] == [True, False]
