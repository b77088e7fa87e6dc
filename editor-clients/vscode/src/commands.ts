// The interactive flows (palette and welcome view): each checks the server first, asks for
// what it needs, then calls one server command.
import * as vscode from "vscode";
import { componentAgents } from "./model";

/** What the commands need from the extension. */
export interface Host {
  run<T>(command: string, args?: Record<string, unknown>): Promise<T>;
  /** True when the server answers; otherwise the user has been told why not. */
  ensureRunning(): Promise<boolean>;
}

/** One agent profile as `yui.listAgents` describes it. */
export interface AgentInfo {
  name: string;
  description: string;
  takes: "prompt" | "command" | "refactor";
  available: boolean;
  reason?: string;
}

function currentRelativePath(): string {
  const doc = vscode.window.activeTextEditor?.document;
  return doc && doc.uri.scheme === "file" ? vscode.workspace.asRelativePath(doc.uri, false) : "";
}

function splitList(text: string): string[] {
  return text.split(/[\s,]+/).filter((s) => s !== "");
}

/** The agents the server knows (built-ins and configured profiles), the preferred first. */
async function pickAgent(host: Host): Promise<AgentInfo | undefined> {
  const listed = await host.run<{ agents?: AgentInfo[] }>("yui.listAgents");
  const preferred = vscode.workspace.getConfiguration("yui").get<string>("defaultAgent") ?? "kiro";
  const agents = (listed.agents ?? []).filter((a) => a.takes !== "refactor")
    .sort((a, b) => (a.name === preferred ? -1 : b.name === preferred ? 1 : 0));
  const items = agents.map((agent) => ({
    label: agent.name,
    description: agent.available ? agent.description : `unavailable: ${agent.reason ?? ""}`,
    detail: agent.takes === "command" ? "runs a command you type" : undefined,
    agent,
  }));
  const picked = await vscode.window.showQuickPick(items, {
    title: "Yui: agent", placeHolder: "Which agent runs it?", matchOnDescription: true,
  });
  return picked?.agent;
}

/** The argv a typed command line becomes (the server splits it with shell-word rules). */
async function parseCommand(host: Host, line: string): Promise<{ argv: string[]; display: string }> {
  return host.run<{ argv: string[]; display: string }>("yui.parseCommand", { commandLine: line });
}

function reason(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/^Request .* failed with message: /, "");
}

/** Ask for a command line; the input shows the argv it becomes before anything runs. */
async function askCommand(host: Host): Promise<string[] | undefined> {
  const line = await vscode.window.showInputBox({
    title: "Yui: command",
    prompt: "Command to run in the task's sandbox, split like a shell does but never run "
      + "through one, e.g. python3 tools/gen.py",
    validateInput: async (text) => {
      if (text.trim() === "") return undefined;
      try {
        const parsed = await parseCommand(host, text);
        return { message: `runs ${parsed.display}`, severity: vscode.InputBoxValidationSeverity.Info };
      } catch (err) {
        return reason(err);
      }
    },
  });
  if (!line || line.trim() === "") return undefined;
  return (await parseCommand(host, line)).argv;
}

export async function submitTask(host: Host): Promise<void> {
  if (!(await host.ensureRunning())) return;
  const title = await vscode.window.showInputBox({ title: "Yui: task title", prompt: "A short name" });
  if (!title) return;
  const prompt = await vscode.window.showInputBox({ title: "Yui: prompt", prompt: "What should the agent do?" });
  if (prompt === undefined) return;
  const agent = await pickAgent(host);
  if (!agent) return;
  const claims = await vscode.window.showInputBox({
    title: "Yui: claims",
    prompt: "Files or globs the task will change (comma separated)",
    value: currentRelativePath(),
  });
  if (claims === undefined) return;
  const spec: Record<string, unknown> = { title, prompt, agent: agent.name, claims: splitList(claims) };
  if (agent.takes === "command") {
    const argv = await askCommand(host);
    if (!argv) return;
    spec.command = argv;
  }
  const result = await host.run<{ taskId: string }>("yui.submitTask", spec);
  vscode.window.setStatusBarMessage(`yui: submitted ${result.taskId}`, 5000);
}

export async function develop(host: Host): Promise<void> {
  if (!(await host.ensureRunning())) return;
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
  if (!(await host.ensureRunning())) return;
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
  if (!(await host.ensureRunning())) return;
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
