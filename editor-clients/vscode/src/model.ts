// The extension's own logic, free of the `vscode` module so it is unit-testable in plain Node:
// the task table fed by `yui/taskUpdate`, the lease table fed by `yui/locksChanged`, and the
// texts the UI shows for them.
import { covers } from "./claims";

export type TaskStatus =
  | "pending" | "blocked" | "queued" | "acquiring" | "running" | "integrating" | "review"
  | "completed" | "failed" | "cancelled" | "conflict";

export interface TaskView {
  id: string;
  title: string;
  agent: string;
  status: TaskStatus;
  /** 0..1 */
  progress: number;
  message: string;
  files: string[];
  error?: string;
  /** Id of the coordinator running it (another window, a `yui` run in a terminal). */
  coordinatorId: string;
  /** "no_changes" when the task ended without changing anything (see noChanges). */
  outcome?: string;
  /** The agent's own failure lines, shown with a "no changes" outcome. */
  agentErrors: string[];
  /** A conflict the user settled (resolved in the editor, kept theirs or took the task's):
   * still `conflict` on the server, no longer a failure to count. */
  settled?: boolean;
}

export interface LeaseView {
  /** Workspace-relative path or glob. */
  path: string;
  taskId: string;
  taskTitle: string;
  agent: string;
  acquiredAt: string;
  expiresAt: string;
}

export const ACTIVE: ReadonlySet<string> = new Set(["acquiring", "running", "integrating"]);
export const WAITING: ReadonlySet<string> = new Set(["pending", "blocked", "queued"]);
export const TERMINAL: ReadonlySet<string> = new Set([
  "completed", "failed", "cancelled", "conflict",
]);

type Wire = Record<string, unknown>;

/** A field by its snake_case name, else its camelCase spelling (notifications use the
 * former, command results the latter). */
export function field<T>(obj: Wire, snake: string): T | undefined {
  if (obj[snake] !== undefined && obj[snake] !== null) {
    return obj[snake] as T;
  }
  const camel = snake.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
  const value = obj[camel];
  return value === null ? undefined : (value as T | undefined);
}

function taskView(id: string | undefined, title: string | undefined, agent: string | undefined,
  state: Wire): TaskView {
  return {
    id: id ?? "",
    title: title ?? "",
    agent: agent ?? "",
    status: (field<string>(state, "status") ?? "pending") as TaskStatus,
    progress: Number(field<number>(state, "progress") ?? 0),
    message: field<string>(state, "message") ?? "",
    files: field<string[]>(state, "files_modified") ?? [],
    error: field<string>(state, "error"),
    coordinatorId: field<string>(state, "coordinator_id") ?? "",
    outcome: field<string>(state, "outcome"),
    agentErrors: field<string[]>(state, "agent_errors") ?? [],
  };
}

/** A task from a `yui/taskUpdate` notification (snake_case). */
export function taskFromUpdate(msg: Wire): TaskView {
  return taskView(field(msg, "task_id"), field(msg, "title"), field(msg, "agent"), msg);
}

/** A task from one `yui.listTasks` entry ({task, status, progress, ...}, camelCase). */
export function taskFromInfo(info: Wire): TaskView {
  const task = field<Wire>(info, "task") ?? {};
  return taskView(field(task, "id"), field(task, "title"), field(task, "agent"), info);
}

export function leaseFromWire(raw: Wire): LeaseView {
  return {
    path: field<string>(raw, "file_path") ?? "",
    taskId: field<string>(raw, "locked_by") ?? "",
    taskTitle: field<string>(raw, "task_title") ?? "",
    agent: field<string>(raw, "agent") ?? "",
    acquiredAt: field<string>(raw, "acquired_at") ?? "",
    expiresAt: field<string>(raw, "expires_at") ?? "",
  };
}

export function displayName(task: { title: string; id: string }): string {
  return task.title !== "" ? task.title : task.id;
}

export interface Counts {
  running: number;
  queued: number;
  /** Results waiting for the user's decision (review mode). */
  review: number;
  failed: number;
  completed: number;
}

/** Every task the editor has heard of, in the order first seen. */
export class TaskTable {
  private readonly tasks = new Map<string, TaskView>();

  /** Record one update; returns true when it is the task's first terminal update. */
  update(task: TaskView): boolean {
    const previous = this.tasks.get(task.id);
    // Some updates (progress ticks) may leave the descriptive fields empty.
    if (previous) {
      task.title = task.title || previous.title;
      task.agent = task.agent || previous.agent;
      if (task.files.length === 0) task.files = previous.files;
    }
    this.tasks.set(task.id, task);
    const wasTerminal = previous !== undefined && TERMINAL.has(previous.status);
    return TERMINAL.has(task.status) && !wasTerminal;
  }

  /** Merge the server's list (`yui.listTasks`) in. Tasks heard of since are kept: the list
   * may be older than the latest notifications, and an ended task does not come back. */
  merge(tasks: TaskView[]): void {
    for (const task of tasks) {
      const known = this.tasks.get(task.id);
      if (!(known && TERMINAL.has(known.status) && !TERMINAL.has(task.status))) {
        if (known?.settled && known.status === task.status) task.settled = true;
        this.tasks.set(task.id, task);
      }
    }
  }

  get(id: string): TaskView | undefined {
    return this.tasks.get(id);
  }

  all(): TaskView[] {
    return [...this.tasks.values()];
  }

  counts(): Counts {
    const c: Counts = { running: 0, queued: 0, review: 0, failed: 0, completed: 0 };
    for (const t of this.tasks.values()) {
      if (t.status === "review") c.review++;
      else if (ACTIVE.has(t.status)) c.running++;
      else if (WAITING.has(t.status)) c.queued++;
      else if (t.status === "failed" || (t.status === "conflict" && !t.settled)) c.failed++;
      else if (t.status === "completed") c.completed++;
    }
    return c;
  }

  /** Forget every ended task; returns their ids. */
  clearFinished(): string[] {
    const ended: string[] = [];
    for (const [id, t] of this.tasks) {
      if (TERMINAL.has(t.status)) {
        this.tasks.delete(id);
        ended.push(id);
      }
    }
    return ended;
  }
}

/** Status-bar text with codicons: "$(sync~spin) yui 2 running · 1 queued · 1 failed". */
export function statusText(c: Counts): string {
  const parts: string[] = [];
  if (c.running > 0) parts.push(`${c.running} running`);
  if (c.queued > 0) parts.push(`${c.queued} queued`);
  if (c.review > 0) parts.push(`${c.review} to review`);
  if (c.failed > 0) parts.push(`${c.failed} failed`);
  if (parts.length === 0) return "$(check) yui";
  const icon = c.running > 0 ? "$(sync~spin)" : c.failed > 0 ? "$(error)"
    : c.review > 0 ? "$(diff)" : "$(clock)";
  return `${icon} yui ${parts.join(" · ")}`;
}

/** "running · kiro · 40%" — the tree item's description. */
export function taskDescription(task: TaskView): string {
  // A result waiting for review is not "90%" of anything.
  const pct = task.status === "review" ? "" : `${Math.round(task.progress * 100)}%`;
  return [task.status, task.agent, pct].filter((s) => s !== "").join(" · ");
}

/** Local "HH:MM" of an ISO 8601 timestamp; "?" when unparsable. */
export function clock(iso: string): string {
  const when = new Date(iso);
  if (Number.isNaN(when.getTime())) return "?";
  const pad = (n: number): string => String(n).padStart(2, "0");
  return `${pad(when.getHours())}:${pad(when.getMinutes())}`;
}

/** Tooltip of a leased file: "Leased by task 'Fix parser' (kiro) since 10:29, until 10:34". */
export function leaseTooltip(lease: LeaseView): string {
  const name = lease.taskTitle !== "" ? lease.taskTitle : lease.taskId;
  const agent = lease.agent !== "" ? ` (${lease.agent})` : "";
  return `Leased by task '${name}'${agent} since ${clock(lease.acquiredAt)}, ` +
    `until ${clock(lease.expiresAt)}`;
}

/** Leases by workspace folder (URI string): each folder is its own coordination domain.
 * Within a folder, by task: `yui/locksChanged` sends the whole table once, then only the
 * leases of the tasks that changed. */
export class LeaseTable {
  private readonly byFolder = new Map<string, Map<string, LeaseView[]>>();

  /** A whole table (`tasks` undefined) replaces the folder's; otherwise every lease of
   * `tasks` is replaced by theirs in `leases` (none: the task holds none any more). */
  apply(folder: string, leases: readonly LeaseView[], tasks?: readonly string[]): void {
    const table = tasks === undefined ? new Map<string, LeaseView[]>()
      : (this.byFolder.get(folder) ?? new Map<string, LeaseView[]>());
    for (const task of tasks ?? []) table.delete(task);
    for (const lease of leases) {
      const held = table.get(lease.taskId);
      if (held) held.push(lease);
      else table.set(lease.taskId, [lease]);
    }
    this.byFolder.set(folder, table);
  }

  all(): LeaseView[] {
    return [...this.byFolder.values()].flatMap((table) => [...table.values()].flat());
  }

  /** The lease covering `rel` (relative to `folder`), if any. */
  find(folder: string, rel: string): LeaseView | undefined {
    for (const leases of this.byFolder.get(folder)?.values() ?? []) {
      const found = leases.find((l) => covers(l.path, rel));
      if (found) return found;
    }
    return undefined;
  }
}

/** How to start the server: the configured command, else `yui-lsp` on PATH, else
 * `python3 -m yui_lsp`. `onPath(name)` tells whether an executable exists. */
export function serverCommand(
  configured: readonly string[] | undefined,
  onPath: (name: string) => boolean,
): { command: string; args: string[] } {
  if (configured && configured.length > 0) {
    return { command: configured[0], args: configured.slice(1) };
  }
  if (onPath("yui-lsp")) return { command: "yui-lsp", args: [] };
  const python = onPath("python3") ? "python3" : "python";
  return { command: python, args: ["-m", "yui_lsp"] };
}

/** "frontend=kiro, backend=claude" -> { frontend: "kiro", backend: "claude" } */
export function componentAgents(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const word of text.split(/[\s,]+/)) {
    const m = /^([\w.-]+)=([\w.-]+)$/.exec(word);
    if (m) out[m[1]] = m[2];
  }
  return out;
}

/** True when a task completed without changing any file. */
export function noChanges(task: TaskView): boolean {
  return task.status === "completed" && task.outcome === "no_changes";
}

/** What the end-of-task notification says: "completed", "completed with no changes: ...". */
export function endSummary(task: TaskView): string {
  if (noChanges(task)) {
    const why = task.agentErrors.length > 0 ? `: ${task.agentErrors.join(" | ")}` : "";
    return `completed with no changes${why}`;
  }
  if (task.status === "completed") return "completed";
  const detail = task.error ?? task.message;
  return detail && detail !== task.status ? `${task.status}: ${detail}` : task.status;
}

/** One line of the output channel's task log. */
export function logLine(task: TaskView, at: Date = new Date()): string {
  const time = at.toTimeString().slice(0, 8);
  const detail = task.error ?? task.message;
  return `[${time}] ${displayName(task)} (${task.agent}): ${task.status} ` +
    `${Math.round(task.progress * 100)}%${detail ? ` — ${detail}` : ""}`;
}
