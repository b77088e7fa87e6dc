// Drives a running code-server with headless Debian chromium, as a user would: submits a task
// from the command palette, watches the status-bar item and the explorer badge of the leased
// file, and waits for the task's result in the open editor. Screenshots go to `shots`.
//
// Usage: node drive.mjs '<json>' with {url, shots, timeoutMs, scenario?} and, for the task
// scenario, {file, title, command, expect}; scenario "missing-server" checks the install help;
// scenario "spec" runs a spec's task list from the code lens of its open tasks.md {file, lens}.
// scenario "plan" ({prompt, agents, expect, lands, landsText}) asks Yui's planner, reviews the
// plan, runs it, and waits for the file it writes to show in the editor.
// Exit code 0 when every check passed; otherwise the failed check is printed.
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const cfg = JSON.parse(process.argv[2]);
const timeout = cfg.timeoutMs ?? 60000;
const log = (text) => console.log(`[drive] ${text}`);

async function typeIntoQuickInput(page, text) {
  const input = page.locator(".quick-input-widget input.input");
  await input.waitFor({ state: "visible", timeout });
  await input.fill(text);
  await page.keyboard.press("Enter");
}

async function quickInputTitle(page, title) {
  await page.locator(".quick-input-widget .quick-input-title", { hasText: title })
    .waitFor({ state: "visible", timeout });
}

async function runCommand(page, name) {
  await page.keyboard.press("F1");
  await typeIntoQuickInput(page, `>${name}`);
}

/** Text of the status-bar item of the extension. */
function statusItem(page) {
  return page.locator(".statusbar-item", { hasText: /\byui\b/ }).first();
}

/** The badge a FileDecorationProvider put on an explorer row (drawn by CSS ::after). */
async function explorerBadge(page, fileName) {
  const row = page.locator(`.explorer-folders-view .monaco-list-row[aria-label^="${fileName}"]`).first();
  await row.waitFor({ state: "visible", timeout });
  return row.evaluate((el) => {
    const found = [];
    for (const node of [el, ...el.querySelectorAll("*")]) {
      const content = getComputedStyle(node, "::after").content;
      if (content && content !== "none" && content !== "normal" && content !== '""') found.push(content);
    }
    return { badges: found, title: el.querySelector("[title]")?.getAttribute("title") ?? "" };
  });
}

async function editorText(page) {
  const text = await page.locator(".editor-instance .monaco-editor .view-lines").first().innerText();
  return text.replace(/\u00a0/g, " ");
}

/** A task from the command palette: status item, lease badge and tooltip, result, tree. */
async function taskScenario(page) {
  // The extension activated and its server answered listTasks: the idle item reads "yui".
  await page.locator(".statusbar-item", { hasText: /^\s*yui\s*$/ }).first().waitFor({ state: "visible" });
  log(`status item: ${await statusItem(page).innerText()}`);

  // The chat panel only crowds the screenshots.
  await runCommand(page, "View: Hide Secondary Side Bar");
  await page.keyboard.press("Escape");
  await page.locator(".explorer-folders-view .monaco-list-row", { hasText: cfg.file }).first().click();
  await page.locator(".tabs-container .tab", { hasText: cfg.file }).waitFor({ state: "visible" });
  await page.locator(".editor-instance .monaco-editor").first().click();
  log(`opened ${cfg.file}`);

  await runCommand(page, "Yui: Submit Task");
  await quickInputTitle(page, "Yui: task title");
  await typeIntoQuickInput(page, cfg.title);
  await quickInputTitle(page, "Yui: prompt");
  await typeIntoQuickInput(page, "append a line from a sandboxed command");
  await quickInputTitle(page, "Yui: agent");
  await typeIntoQuickInput(page, "yui");
  await quickInputTitle(page, "Yui: claims");
  const claims = await page.locator(".quick-input-widget input.input").inputValue();
  if (claims !== cfg.file) throw new Error(`claims default is '${claims}', expected the open file`);
  await page.keyboard.press("Enter");
  await quickInputTitle(page, "Yui: command");
  await typeIntoQuickInput(page, cfg.command);
  log("task submitted from the command palette");

  await page.locator(".statusbar-item", { hasText: /yui 1 running/ }).first().waitFor({ state: "visible" });
  log(`status item while running: ${await statusItem(page).innerText()}`);

  await page.keyboard.press("Control+Shift+E");
  let badge = { badges: [], title: "" };
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    badge = await explorerBadge(page, cfg.file);
    if (badge.badges.some((b) => b.includes("L"))) break;
    await page.waitForTimeout(200);
  }
  if (!badge.badges.some((b) => b.includes("L"))) {
    throw new Error(`no lease badge on ${cfg.file} (saw ${JSON.stringify(badge)})`);
  }
  log(`explorer badge on ${cfg.file}: ${badge.badges.join(" ")} ${badge.title}`);
  // Hovering the row shows the decoration's tooltip: which task holds the file.
  const label = page.locator(".explorer-folders-view .monaco-list-row", { hasText: cfg.file }).first()
    .locator(".label-name");
  const hover = page.locator(".monaco-hover, .workbench-hover", { hasText: "Leased by task" }).first();
  for (let attempt = 0; attempt < 5 && !(await hover.isVisible()); attempt++) {
    await page.mouse.move(700, 500);
    await label.hover();
    await hover.waitFor({ state: "visible", timeout: 2000 }).catch(() => undefined);
  }
  const tip = (await hover.innerText()).replace(/\s+/g, " ");
  if (!tip.includes(`Leased by task '${cfg.title}' (yui) since`)) throw new Error(`badge tooltip: ${tip}`);
  log(`badge tooltip: ${tip}`);
  await page.waitForTimeout(400); // let the hover finish fading in
  await page.screenshot({ path: join(cfg.shots, "vscode-running.png") });

  const until = Date.now() + timeout;
  let text = "";
  while (Date.now() < until) {
    text = await editorText(page);
    if (text.includes(cfg.expect)) break;
    await page.waitForTimeout(200);
  }
  if (!text.includes(cfg.expect)) throw new Error(`editor never showed '${cfg.expect}':\n${text}`);
  log("result landed in the editor");

  await runCommand(page, "Yui: Show Tasks");
  const treeRow = page.locator(".part.sidebar .monaco-list-row", { hasText: cfg.title }).first();
  await treeRow.waitFor({ state: "visible" });
  log(`tasks view: ${(await treeRow.innerText()).replace(/\s+/g, " ")}`);
  await page.screenshot({ path: join(cfg.shots, "vscode-done.png") });
  log(`status item after: ${await statusItem(page).innerText()}`);
}

/** The server command does not exist: the user is told, and "How to install" explains. */
async function missingServerScenario(page) {
  const toast = page.locator(".notification-toast", { hasText: "Yui: the server command" }).first();
  await toast.waitFor({ state: "visible" });
  log(`notification: ${(await toast.innerText()).replace(/\s+/g, " ")}`);
  await page.locator(".statusbar-item", { hasText: "yui: no server" }).first().waitFor({ state: "visible" });
  await toast.locator(".monaco-button", { hasText: "How to install" }).click();
  await page.locator(".monaco-editor .view-lines", { hasText: "pip install yui-lsp" }).first()
    .waitFor({ state: "visible" });
  log("install help opened");
  await page.screenshot({ path: join(cfg.shots, "vscode-missing-server.png") });
}

/** A spec's tasks.md: its code lens runs the list, and the boxes tick in the open editor. */
async function specScenario(page) {
  await page.locator(".statusbar-item", { hasText: /^\s*yui\s*$/ }).first().waitFor({ state: "visible" });
  await runCommand(page, "View: Hide Secondary Side Bar");
  await page.keyboard.press("Escape");
  await page.keyboard.press("Control+P");
  const input = page.locator(".quick-input-widget input.input");
  await input.waitFor({ state: "visible" });
  await input.fill(cfg.file);
  await page.locator(".quick-input-widget .monaco-list-row", { hasText: "tasks.md" }).first()
    .waitFor({ state: "visible" });
  await page.keyboard.press("Enter");
  await page.locator(".tabs-container .tab", { hasText: "tasks.md" }).waitFor({ state: "visible" });
  const lens = page.locator(".codelens-decoration a", { hasText: cfg.lens }).first();
  await lens.waitFor({ state: "visible" });
  log(`lenses: ${(await page.locator(".codelens-decoration").allInnerTexts()).join(" | ")}`);
  await lens.click();
  log("clicked the lens");
  await page.locator(".codelens-decoration a", { hasText: /Cancel \(/ }).first()
    .waitFor({ state: "visible" });
  await runCommand(page, "Yui: Show Tasks");
  // Both trees show the run: the tasks (one per spec task) and the spec's tasks with states.
  await page.locator(".part.sidebar .monaco-list-row", { hasText: "shop" }).first()
    .waitFor({ state: "visible" });
  await page.locator(".part.sidebar .monaco-list-row", { hasText: /running|integrating|queued|blocked/ })
    .first().waitFor({ state: "visible" });
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(cfg.shots, "vscode-spec-running.png") });
  log(`while running: ${(await page.locator(".codelens-decoration").allInnerTexts()).join(" | ")}`);
  const until = Date.now() + timeout;
  let text = "";
  while (Date.now() < until) {
    text = await editorText(page);
    if ((text.match(/- \[x\]/g) ?? []).length === cfg.ticks) break;
    await page.waitForTimeout(200);
  }
  if ((text.match(/- \[x\]/g) ?? []).length !== cfg.ticks) {
    throw new Error(`the boxes did not tick in the editor:\n${text}`);
  }
  log(`all ${cfg.ticks} boxes ticked in the editor`);
  await page.locator(".part.sidebar .monaco-list-row", { hasText: `${cfg.ticks}/${cfg.ticks} done` })
    .first().waitFor({ state: "visible" });
  log("the specs view shows the spec done");
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(cfg.shots, "vscode-spec-done.png") });
}

/** Yui: Plan with Yui: the plan opens for review, then runs from the notification's button. */
async function planScenario(page) {
  await page.locator(".statusbar-item", { hasText: /^\s*yui\s*$/ }).first().waitFor({ state: "visible" });
  await runCommand(page, "Yui: Plan with Yui");
  await quickInputTitle(page, "Yui: plan");
  await typeIntoQuickInput(page, cfg.prompt);
  await quickInputTitle(page, "Yui: plan — agents");
  await typeIntoQuickInput(page, cfg.agents);
  log("plan requested from the command palette");

  const until = Date.now() + timeout;
  let text = "";
  while (Date.now() < until) {
    text = await editorText(page).catch(() => "");
    if (text.includes(cfg.expect)) break;
    await page.waitForTimeout(200);
  }
  if (!text.includes(cfg.expect)) throw new Error(`the plan never showed '${cfg.expect}':\n${text}`);
  log("plan opened for review");
  const toast = page.locator(".notification-toast", { hasText: "Yui planned" }).first();
  await toast.waitFor({ state: "visible" });
  log(`notification: ${(await toast.innerText()).replace(/\s+/g, " ")}`);
  await page.screenshot({ path: join(cfg.shots, "vscode-plan.png") });
  await toast.locator(".monaco-button", { hasText: "Run" }).click();
  log("plan run from the review");
  // The planned task's file appears in the explorer once its result landed.
  await page.keyboard.press("Control+Shift+E");
  const row = page.locator(`.explorer-folders-view .monaco-list-row[aria-label^="${cfg.lands}"]`)
    .first();
  await row.waitFor({ state: "visible" });
  await row.click();
  await page.locator(".tabs-container .tab", { hasText: cfg.lands }).waitFor({ state: "visible" });
  const until2 = Date.now() + timeout;
  while (Date.now() < until2 && !(await editorText(page)).includes(cfg.landsText)) {
    await page.waitForTimeout(200);
  }
  if (!(await editorText(page)).includes(cfg.landsText)) {
    throw new Error(`${cfg.lands} never showed '${cfg.landsText}'`);
  }
  log(`${cfg.lands} landed in the editor`);
  await page.screenshot({ path: join(cfg.shots, "vscode-plan-done.png") });
}

async function main() {
  const profile = mkdtempSync(join(tmpdir(), "yui-chromium-"));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    viewport: { width: 1400, height: 850 },
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const page = browser.pages()[0] ?? (await browser.newPage());
  try {
    page.setDefaultTimeout(timeout);
    const started = Date.now();
    await page.goto(cfg.url);
    await page.locator(".monaco-workbench .part.statusbar").waitFor({ state: "visible" });
    log(`workbench loaded in ${Date.now() - started} ms`);

    const scenarios = {
      "missing-server": missingServerScenario, spec: specScenario, plan: planScenario,
    };
    await (scenarios[cfg.scenario] ?? taskScenario)(page);
  } catch (err) {
    // Leave evidence: what the user would have seen, and the status bar's items.
    await page.screenshot({ path: join(cfg.shots, "vscode-failure.png") }).catch(() => undefined);
    const items = await page.locator(".statusbar-item").allInnerTexts().catch(() => []);
    log(`status bar at failure: ${JSON.stringify(items.filter((t) => t.trim() !== ""))}`);
    throw err;
  } finally {
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

main().then(
  () => log("all checks passed"),
  (err) => {
    console.error(`[drive] FAILED: ${err.stack ?? err}`);
    process.exit(1);
  },
);
