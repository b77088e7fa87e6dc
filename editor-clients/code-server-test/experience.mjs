// The editor experience in one VS Code session, step by step as a user works: a task from
// the welcome view, results saved (or not) after they land, a failing command's log, review
// with diffs, a conflict resolved with VS Code's own merge actions, byte-exact results, and a
// task started from a terminal. `cfg` comes from tests/editors/test_vscode.py.
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  activeEditor, clearNotifications, clickRowAction, clickToastButton, diffSides,
  explorerBadge, log, oneLine, openFile, quickInputTitle, runCommand, taskRow, toast,
  typeIntoQuickInput, waitFor, waitForEditorText, waitForStatus, waitForTaskState,
} from "./workbench.mjs";

export async function experience(page, cfg) {
  const timeout = cfg.timeoutMs;
  const ws = cfg.workspace;
  const disk = (name) => readFileSync(join(ws, name), "utf8");
  const release = (name) => writeFileSync(join(cfg.barriers, name), "go\n");
  const command = (...args) => [cfg.python, ...args].map((a) => (/[\s"']/.test(a) ? `"${a}"` : a)).join(" ");

  /** The palette's Submit Task flow from its first question on. */
  async function answerSubmit({ title, claims, argv }) {
    await quickInputTitle(page, "Yui: task title");
    await typeIntoQuickInput(page, title);
    await quickInputTitle(page, "Yui: prompt");
    await typeIntoQuickInput(page, `${title} (a sandboxed command)`);
    await quickInputTitle(page, "Yui: agent");
    await typeIntoQuickInput(page, "shell");
    await quickInputTitle(page, "Yui: claims");
    if (claims !== undefined) await page.locator(".quick-input-widget input.input").fill(claims);
    await page.keyboard.press("Enter");
    await quickInputTitle(page, "Yui: command");
    const input = page.locator(".quick-input-widget input.input");
    await input.fill(argv);
    // The argv the command becomes is shown before anything runs.
    const shown = page.locator(".quick-input-widget .quick-input-message", { hasText: "runs " });
    await shown.waitFor({ state: "visible" });
    const said = oneLine(await shown.innerText());
    await page.keyboard.press("Enter");
    return said;
  }

  async function submit(spec) {
    await runCommand(page, "Yui: Submit Task");
    return answerSubmit(spec);
  }

  async function settings(values) {
    writeFileSync(join(ws, ".vscode", "settings.json"), JSON.stringify({ ...cfg.settings, ...values }, null, 2));
  }

  /** Switch yui.applyMode and wait for the server to say it took effect. */
  async function applyMode(mode) {
    await settings({ "yui.applyMode": mode });
    await runCommand(page, "Yui: Show Server Log");
    const panel = page.locator(".part.panel .view-lines", { hasText: `results applied ${mode}` }).first();
    await panel.waitFor({ state: "visible" });
    await runCommand(page, "View: Close Panel");
    log(`apply mode is now ${mode}`);
  }

  /** A task appends "task line" to `file` while the user types "my line" at its end (both
   * at the end of the file: a conflict); then `choice` on the conflict notice. */
  async function overlap(title, file, choice) {
    await openFile(page, file);
    await submit({ title, claims: file,
      argv: command("tools/wait_append.py", join(cfg.barriers, file), "task line", file) });
    await waitForTaskState(page, title, "running", timeout);
    await activeEditor(page).click();
    await page.keyboard.press("Control+End");
    await page.keyboard.type("my line\n");
    release(file);
    await clickToastButton(page, `'${title}' conflict`, choice);
  }

  // ------------------------------------------------------------ the welcome view, auto mode
  await page.locator(".statusbar-item", { hasText: /^\s*yui\s*$/ }).first().waitFor({ state: "visible" });
  await runCommand(page, "View: Hide Secondary Side Bar");
  await page.keyboard.press("Escape");
  await openFile(page, "notes.txt");
  await runCommand(page, "Yui: Show Tasks");
  await page.locator(".part.sidebar .welcome-view-content .monaco-button", { hasText: "Submit Task" }).click();
  log("welcome view: Submit Task clicked");
  await quickInputTitle(page, "Yui: task title");
  const argvShown = await answerSubmit({
    title: "Append a note", argv: command("tools/wait_append.py", join(cfg.barriers, "note"),
      "written by the sandboxed task", "notes.txt"),
  });
  log(`command input: ${argvShown}`);
  log(`status item while running: ${await waitForStatus(page, /yui 1 running/)}`);

  await page.keyboard.press("Control+Shift+E");
  let badge = { badges: [] };
  await waitFor(page, async () => {
    badge = await explorerBadge(page, "notes.txt");
    return badge.badges.some((b) => b.includes("L"));
  }, "the lease badge on notes.txt", timeout);
  const label = page.locator(".explorer-folders-view .monaco-list-row", { hasText: "notes.txt" }).first()
    .locator(".label-name");
  const hover = page.locator(".monaco-hover, .workbench-hover", { hasText: "Leased by task" }).first();
  for (let attempt = 0; attempt < 5 && !(await hover.isVisible()); attempt++) {
    await page.mouse.move(700, 500);
    await label.hover();
    await hover.waitFor({ state: "visible", timeout: 2000 }).catch(() => undefined);
  }
  const tip = oneLine(await hover.innerText());
  if (!tip.includes("Leased by task 'Append a note' (shell) since")) throw new Error(`badge tooltip: ${tip}`);
  log(`badge tooltip: ${tip}`);
  await page.waitForTimeout(400); // let the hover finish fading in
  await page.screenshot({ path: join(cfg.shots, "vscode-running.png") });
  // The task's own output, live: what it printed so far, then what it prints next.
  await runCommand(page, "Yui: Show Task Log");
  await quickInputTitle(page, "Yui: task to show the log of");
  await typeIntoQuickInput(page, "Append a note");
  await waitForEditorText(page, (t) => t.includes("waiting for"), "the running task's output", timeout);
  release("note");
  const live = await waitForEditorText(page, (t) => t.includes("appended to notes.txt"),
    "the task's next line in the open log", timeout);
  log(`live log: ${oneLine(live)}`);
  await openFile(page, "notes.txt");
  await waitForEditorText(page, (t) => t.includes("written by the sandboxed task"), "the task's line", timeout);
  log("result landed in the editor");
  await waitFor(page, async () => disk("notes.txt").includes("written by the sandboxed task"),
    "notes.txt saved to disk (it was clean)", timeout);
  log("notes.txt saved after the apply (it had no unsaved changes)");
  await runCommand(page, "Yui: Show Tasks");
  log(`tasks view: ${await waitForTaskState(page, "Append a note", "completed", timeout)}`);
  await page.screenshot({ path: join(cfg.shots, "vscode-done.png") });

  // ------------------------------------------- a closed clean file and a dirty document
  await openFile(page, "dirty.txt");
  await page.keyboard.press("Control+Home");
  await page.keyboard.type("my unsaved line\n");
  await submit({ title: "Append to two files", claims: "closed.txt, dirty.txt",
    argv: command("tools/append.py", "appended by yui", "closed.txt", "dirty.txt") });
  await waitForTaskState(page, "Append to two files", "completed", timeout);
  await waitFor(page, async () => disk("closed.txt").includes("appended by yui"),
    "closed.txt saved to disk", timeout);
  await waitForEditorText(page, (t) => t.includes("my unsaved line") && t.includes("appended by yui"),
    "both the typed and the task's line in dirty.txt", timeout);
  if (disk("dirty.txt").includes("my unsaved line") || disk("dirty.txt").includes("appended by yui")) {
    throw new Error(`dirty.txt was saved: ${JSON.stringify(disk("dirty.txt"))}`);
  }
  await page.locator(".tabs-container .tab.dirty", { hasText: "dirty.txt" }).waitFor({ state: "visible" });
  log("closed clean file saved; the dirty document kept unsaved with the result merged in");

  // ------------------------------------------------------- a failing command, its log
  await submit({ title: "Failing command", claims: "notes.txt", argv: command("tools/fail.py") });
  const failure = await clickToastButton(page, "Yui: task 'Failing command' failed", "Show Log");
  log(`failure notice: ${failure}`);
  const logText = await waitForEditorText(page, (t) => t.includes(cfg.stderrLine), "the command's stderr", timeout);
  const tab = oneLine(await page.locator(".tabs-container .tab.active").innerText());
  if (!tab.includes("Failing command")) throw new Error(`the log tab is named '${tab}'`);
  log(`log view '${tab}': ${oneLine(logText)}`);

  // ------------------------------------------------------- a task that changed nothing
  await submit({ title: "Nothing to change", claims: "notes.txt",
    argv: command("-c", "print('looked, changed nothing')") });
  const quiet = toast(page, "'Nothing to change' completed with no changes");
  await quiet.waitFor({ state: "visible" });
  log(`no changes: ${oneLine(await quiet.innerText())}`);
  log(`no changes in the tree: ${await waitForTaskState(page, "Nothing to change", "no changes", timeout)}`);

  // --------------------------------------------------------------- review mode and diffs
  await clearNotifications(page);
  await applyMode("review");
  await submit({ title: "Reviewed change", claims: "review.txt",
    argv: command("tools/append.py", "reviewed line", "review.txt") });
  await toast(page, "ready for review").waitFor({ state: "visible" });
  await clearNotifications(page);
  log(`status item with a result waiting: ${await waitForStatus(page, /1 to review/)}`);
  await runCommand(page, "Yui: Show Tasks");
  const reviewRow = await waitForTaskState(page, "Reviewed change", "review", timeout);
  log(`tasks view: ${reviewRow}`);
  const fileRow = page.locator(".part.sidebar .monaco-list-row", { hasText: "review.txt" }).first();
  await fileRow.waitFor({ state: "visible" });
  await taskRow(page, "Reviewed change").hover(); // shows its Show Diff / Apply / Discard
  await page.screenshot({ path: join(cfg.shots, "vscode-review.png") });
  await fileRow.click();
  const sides = await diffSides(page, "review.txt", (d) => d.modified.includes("reviewed line")
    && !d.original.includes("reviewed line") && d.original.includes("review base"), timeout);
  log(`diff: workspace ${JSON.stringify(sides.original)} | result ${JSON.stringify(sides.modified)}`);
  await page.screenshot({ path: join(cfg.shots, "vscode-diff.png") });
  await clickRowAction(page, taskRow(page, "Reviewed change"), "Apply Task Result");
  await waitFor(page, async () => disk("review.txt").includes("reviewed line"),
    "the reviewed result on disk", timeout);
  log(`applied from the tree: ${await waitForTaskState(page, "Reviewed change", "completed", timeout)}`);

  await submit({ title: "Second review", claims: "second.txt",
    argv: command("tools/append.py", "second line", "second.txt") });
  await clickToastButton(page, "ready for review", "Show Diff");
  await diffSides(page, "second.txt", (d) => d.modified.includes("second line")
    && d.original.includes("second base") && !d.original.includes("second line"), timeout);
  log("Show Diff from the notification opened the diff editor");
  await clearNotifications(page);
  await runCommand(page, "Yui: Discard Task Result");
  await quickInputTitle(page, "Yui: task to discard");
  const offered = await page.locator(".quick-input-list .monaco-list-row").allInnerTexts();
  if (offered.length !== 1 || !offered[0].includes("Second review")) {
    throw new Error(`Discard offered ${JSON.stringify(offered)}`);
  }
  await page.keyboard.press("Enter");
  const discarded = toast(page, "'Second review'");
  await discarded.waitFor({ state: "visible" });
  log(`discard said: ${oneLine(await discarded.innerText())}`);
  if (disk("second.txt").includes("second line")) throw new Error("the discarded result reached the disk");
  await clearNotifications(page);

  // One file applied and one discarded, from the diff editors' title bars.
  await submit({ title: "Two files to review", claims: "pair-a.txt, pair-b.txt",
    argv: command("tools/append.py", "pair line", "pair-a.txt", "pair-b.txt") });
  await toast(page, "'Two files to review' is ready for review").waitFor({ state: "visible" });
  await clearNotifications(page);
  await runCommand(page, "Yui: Show Diff");
  await quickInputTitle(page, "Yui: task to show the diff of");
  await typeIntoQuickInput(page, "Two files to review");
  const titleAction = (name) => page.locator(
    `.editor-group-container.active .editor-actions [aria-label^="${name}"]`).first();
  await page.locator(".tabs-container .tab.active", { hasText: "pair-b.txt" }).waitFor({ state: "visible" });
  await titleAction("Apply This File").click();
  await page.locator(".tabs-container .tab.active", { hasText: "pair-a.txt" }).waitFor({ state: "visible" });
  await titleAction("Discard This File").click();
  await waitFor(page, async () => disk("pair-b.txt").includes("pair line"), "pair-b.txt applied", timeout);
  log(`per file: ${await waitForTaskState(page, "Two files to review", "completed", timeout)}`);
  if (disk("pair-a.txt").includes("pair line")) throw new Error("the discarded file reached the disk");
  await clearNotifications(page);
  await applyMode("auto");

  // ---------------------------------------------- a conflict, resolved in the editor
  await overlap("Conflicting append", "conflict.txt", "Resolve in Editor");
  await waitForEditorText(page, (t) => t.includes("<<<<<<<") && t.includes(">>>>>>>"), "conflict markers", timeout);
  const both = page.locator(".editor-group-container.active .codelens-decoration a", { hasText: "Accept Both Changes" }).first();
  await both.waitFor({ state: "visible" });
  await page.screenshot({ path: join(cfg.shots, "vscode-conflict.png") });
  await both.click();
  const merged = await waitForEditorText(page, (t) => !t.includes("<<<<<<<"), "the markers gone", timeout);
  if (!merged.includes("my line") || !merged.includes("task line")) throw new Error(`after Accept Both: ${merged}`);
  log(`Accept Both Changes: ${JSON.stringify(merged)}`);
  await runCommand(page, "Yui: Show Tasks");
  log(`settled: ${await waitForTaskState(page, "Conflicting append", "conflict settled", timeout)}`);

  // The same overlap, settled by running the task again on the unsaved buffer.
  await overlap("Append again", "rerun.txt", "Re-run on My Text");
  const rerun = await waitForEditorText(page, (t) => /my line\s*task line/.test(t),
    "the re-run's line after the unsaved one", timeout);
  if (rerun.includes("<<<<<<<")) throw new Error(`markers after the re-run: ${rerun}`);
  log(`re-run on my text: ${JSON.stringify(rerun)}, ${await waitForTaskState(page, "Append again", "completed", timeout)}`);

  // ---------------------------------------------------------- byte-exact results
  if (cfg.fidelity?.length) {
    for (const { path } of cfg.fidelity) await openFile(page, `open/${path}`);
    await submit({ title: "Fidelity table", claims: "open, closed",
      argv: command("tools/fidelity.py") });
    await runCommand(page, "Yui: Show Tasks");
    await waitForTaskState(page, "Fidelity table", "completed", timeout);
    // Every buffer was clean, every other file closed: all are saved once the result lands
    // (the test compares the bytes).
    const pending = () => cfg.fidelity.flatMap(({ path, after }) => ["open", "closed"]
      .map((folder) => `${folder}/${path}`).filter((name) => disk(name) !== after));
    await waitFor(page, async () => pending().length === 0, "every fidelity file saved", timeout)
      .catch(() => { throw new Error(`fidelity files not saved as expected: ${pending().join(", ")}`); });
    const dirty = await page.locator(".tabs-container .tab.dirty").allInnerTexts();
    log(`fidelity: ${cfg.fidelity.length * 2} files applied and saved; dirty tabs: ${dirty.map(oneLine).join(", ")}`);
  }

  // ---------------------------------------------------- a task from a terminal (yui run)
  const cli = spawn(cfg.python, ["-c", "import sys; from yui_lsp.cli.main import main; sys.exit(main())",
    "run", "cli-plan.toml"], { cwd: ws, env: { ...process.env, PYTHONPATH: cfg.pythonpath }, stdio: "pipe" });
  let cliOut = "";
  cli.stdout.on("data", (d) => { cliOut += d; });
  cli.stderr.on("data", (d) => { cliOut += d; });
  const exited = new Promise((resolve) => cli.on("exit", resolve));
  await runCommand(page, "Yui: Show Tasks");
  log(`terminal task: ${await waitForTaskState(page, "CLI readme", "running", timeout)}`);
  release("cli");
  log(`terminal task: ${await waitForTaskState(page, "CLI readme", "completed", timeout)}`);
  const code = await exited;
  if (code !== 0) throw new Error(`yui run exited ${code}: ${cliOut}`);
  // Only the failing command still counts as failed: the settled conflict does not.
  log(`status item at the end: ${await waitForStatus(page, /yui 1 failed/)}`);
}
