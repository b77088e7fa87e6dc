// Command palette entries: each asks for what it needs, then calls one server command.
import * as vscode from "vscode";
import {
  ACTIVE, WAITING, TaskTable, TaskView, componentAgents, displayName, splitArgv, taskDescription,
} from "./model";

export const BUILTIN_AGENTS = ["kiro", "claude", "codex", "gemini", "aider", "yui"];

/** What the commands need from the extension. */
export interface Host {
  tasks: TaskTable;
  run<T>(command: string, args?: Record<string, unknown>): Promise<T>;
}

function agentNames(): string[] {
  const profiles = vscode.workspace.getConfiguration("yui").get<Record<string, unknown>>("agents") ?? {};
  return [...new Set([...BUILTIN_AGENTS, ...Object.keys(profiles)])];
}

function currentRelativePath(): string {
  const doc = vscode.window.activeTextEditor?.document;
  return doc && doc.uri.scheme === "file" ? vscode.workspace.asRelativePath(doc.uri, false) : "";
}

function splitList(text: string): string[] {
  return text.split(/[\s,]+/).filter((s) => s !== "");
}

async function pickAgent(): Promise<string | undefined> {
  const preferred = vscode.workspace.getConfiguration("yui").get<string>("defaultAgent") ?? "kiro";
  const names = agentNames().sort((a, b) => (a === preferred ? -1 : b === preferred ? 1 : 0));
  return vscode.window.showQuickPick(names, { title: "Yui: agent", placeHolder: "Which agent runs it?" });
}

export async function submitTask(host: Host): Promise<void> {
  const title = await vscode.window.showInputBox({ title: "Yui: task title", prompt: "A short name" });
  if (!title) return;
  const prompt = await vscode.window.showInputBox({ title: "Yui: prompt", prompt: "What should the agent do?" });
  if (prompt === undefined) return;
  const agent = await pickAgent();
  if (!agent) return;
  const claims = await vscode.window.showInputBox({
    title: "Yui: claims",
    prompt: "Files or globs the task will change (comma separated)",
    value: currentRelativePath(),
  });
  if (claims === undefined) return;
  const spec: Record<string, unknown> = { title, prompt, agent, claims: splitList(claims) };
  if (agent === "yui") {
    const line = await vscode.window.showInputBox({
      title: "Yui: command",
      prompt: "Command to run in the task's sandbox (never through a shell), e.g. python3 tools/gen.py; "
        + "empty: Yui's model works on the prompt",
    });
    if (line === undefined) return;
    if (line.trim()) spec.command = splitArgv(line);
  }
  const result = await host.run<{ taskId: string }>("yui.submitTask", spec);
  vscode.window.setStatusBarMessage(`yui: submitted ${result.taskId}`, 5000);
}

export async function develop(host: Host): Promise<void> {
  const prompt = await vscode.window.showInputBox({ title: "Yui: develop", prompt: "What to build" });
  if (!prompt) return;
  const assignment = await vscode.window.showInputBox({
    title: "Yui: components → agents",
    prompt: "Which agent builds each part (frontend, backend, database, tests, docs), "
      + "e.g. frontend=kiro backend=claude; empty: [tool.yui.components]",
  });
  if (assignment === undefined) return;
  const result = await host.run<{ taskIds?: string[] }>("yui.develop", {
    prompt, ...componentAgents(assignment),
  });
  vscode.window.setStatusBarMessage(`yui: started ${(result.taskIds ?? []).length} task(s)`, 5000);
}

interface PlanAnswer { plan: { tasks: unknown[]; maxWorkers?: number } }

/** Yui's planner: the plan opens as JSON for review (and editing), then runs if asked. */
export async function plan(host: Host): Promise<void> {
  const prompt = await vscode.window.showInputBox({
    title: "Yui: plan", prompt: "What to build (Yui's model splits it into tasks)",
  });
  if (!prompt) return;
  const agents = await vscode.window.showInputBox({
    title: "Yui: plan — agents",
    prompt: "Agents the plan may use (comma separated); empty: yui and your configured agents",
  });
  if (agents === undefined) return;
  const args: Record<string, unknown> = { prompt };
  if (agents.trim()) args.agents = splitList(agents);
  const answer = await host.run<PlanAnswer>("yui.plan", args);
  const doc = await vscode.workspace.openTextDocument({
    // Unset fields (null) only clutter the review; the server fills in their defaults.
    content: JSON.stringify(answer.plan, (_key, value: unknown) => (value === null ? undefined : value), 2),
    language: "json",
  });
  await vscode.window.showTextDocument(doc, { preview: false });
  const choice = await vscode.window.showInformationMessage(
    `Yui planned ${answer.plan.tasks.length} task(s): review (or edit) the plan, then run it.`, "Run", "Cancel",
  );
  if (choice !== "Run") return;
  let reviewed: Record<string, unknown>;
  try {
    reviewed = JSON.parse(doc.getText()) as Record<string, unknown>;
  } catch {
    throw new Error("the edited plan is not valid JSON; fix it and run Yui: Plan with Yui again");
  }
  const result = await host.run<{ taskIds?: string[] }>("yui.submitPlan", reviewed);
  vscode.window.setStatusBarMessage(`yui: started ${(result.taskIds ?? []).length} task(s)`, 5000);
}

export async function refactor(host: Host): Promise<void> {
  const pattern = await vscode.window.showInputBox({ title: "Yui: refactor — find", prompt: "Text to find" });
  if (!pattern) return;
  const replacement = await vscode.window.showInputBox({ title: "Yui: refactor — replace with" });
  if (replacement === undefined) return;
  const glob = await vscode.window.showInputBox({
    title: "Yui: refactor — in files", prompt: "Globs, comma separated", value: "**/*",
  });
  if (!glob) return;
  const result = await host.run<{ taskIds?: string[] }>("yui.refactor", {
    pattern, replacement, files: splitList(glob),
  });
  vscode.window.setStatusBarMessage(`yui: refactor in ${(result.taskIds ?? []).length} task(s)`, 5000);
}

type TaskArg = string | { task?: TaskView } | undefined;

/** The task an action applies to: the tree item it was invoked on, or one picked. */
async function chooseTask(host: Host, arg: TaskArg, filter: (t: TaskView) => boolean,
  verb: string): Promise<string | undefined> {
  if (typeof arg === "string") return arg;
  if (arg?.task) return arg.task.id;
  const items = host.tasks.all().filter(filter).map((t) => ({
    label: displayName(t), description: taskDescription(t), id: t.id,
  }));
  if (items.length === 0) {
    void vscode.window.showInformationMessage(`Yui: no task to ${verb}.`);
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(items, { title: `Yui: task to ${verb}` });
  return picked?.id;
}

const isOpen = (t: TaskView): boolean => ACTIVE.has(t.status) || WAITING.has(t.status);
const isRetryable = (t: TaskView): boolean => ["failed", "conflict", "cancelled"].includes(t.status);
const isCompleted = (t: TaskView): boolean => t.status === "completed";

export function taskAction(host: Host, serverCommand: string, verb: string): (arg?: TaskArg) => Promise<void> {
  const filter = serverCommand === "yui.cancelTask" ? isOpen
    : serverCommand === "yui.retryTask" ? isRetryable : isCompleted;
  return async (arg?: TaskArg) => {
    const id = await chooseTask(host, arg, filter, verb);
    if (id) await host.run(serverCommand, { taskId: id });
  };
}
