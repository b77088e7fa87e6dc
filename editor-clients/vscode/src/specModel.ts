// Spec task lists as the server lists them (yui.listSpecs), and which task id runs which key.
import { TaskView, ACTIVE, WAITING } from "./model";

export interface SpecTaskWire {
  key: string;
  title: string;
  line: number;
  done: boolean;
  optional?: boolean;
  parent?: string | null;
}

export interface SpecWire {
  name: string;
  format: string;
  path: string;
  uri: string;
  folder: string;
  done: number;
  total: number;
  tasks: SpecTaskWire[];
}

/** The task ids of the latest run of each spec task, from yui.runSpec's answers. */
export class SpecRuns {
  private readonly ids = new Map<string, string>();

  record(spec: string, taskIds: string[], keys: string[]): void {
    keys.forEach((key, i) => this.ids.set(`${spec}\u0000${key}`, taskIds[i]));
  }

  taskId(spec: string, key: string): string | undefined {
    return this.ids.get(`${spec}\u0000${key}`);
  }
}

/** The newest task running spec task `key` among `tasks`: ids are `<spec>-<key>[-rN]`, so
 * runs started from a code lens or another window are found too. */
export function runOf(tasks: TaskView[], spec: string, key: string, recorded?: string): TaskView | undefined {
  if (recorded) {
    const found = tasks.find((t) => t.id === recorded);
    if (found) return found;
  }
  const prefix = `${spec}-${key}`;
  const matching = tasks.filter((t) => t.id === prefix || new RegExp(`^${escapeRe(prefix)}-r\\d+$`).test(t.id));
  const run = (t: TaskView): number => Number(/-r(\d+)$/.exec(t.id)?.[1] ?? 1);
  return matching.sort((a, b) => run(a) - run(b)).pop();
}

function escapeRe(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** "done", "todo", or the state of the task running it (running, queued, failed ...). */
export function specTaskState(task: SpecTaskWire, run: TaskView | undefined): string {
  if (task.done) return "done";
  if (!run) return "todo";
  if (run.status === "completed") return "done";
  return run.status;
}

/** Whether a spec task can be started from the tree (unticked and not already on its way). */
export function canRun(state: string): boolean {
  return !(state === "done" || ACTIVE.has(state) || WAITING.has(state));
}

/** The top-level tasks of a spec, or the sub-tasks of `parent`. */
export function childrenOf(spec: SpecWire, parent?: string): SpecTaskWire[] {
  return spec.tasks.filter((t) => (t.parent ?? undefined) === parent);
}

export function specDescription(spec: SpecWire): string {
  return `${spec.format} · ${spec.done}/${spec.total} done`;
}
