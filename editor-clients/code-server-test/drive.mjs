// Drives a running code-server with headless Debian chromium, as a user would. Screenshots go
// to `shots`.
//
// Usage: node drive.mjs '<json>' with {url, shots, timeoutMs, scenario} and the scenario's
// own settings: "experience" (experience.mjs: the whole editor workflow in one session),
// "spec" (spec.mjs: a spec's task list run from its code lens), "plan" (plan.mjs: Yui's
// planner, its plan reviewed, then run) or "missing-server" (the install help). Exit code 0 when every check passed; otherwise the
// failed check is printed.
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { experience } from "./experience.mjs";
import { planScenario } from "./plan.mjs";
import { specScenario } from "./spec.mjs";
import { log, oneLine } from "./workbench.mjs";

const cfg = JSON.parse(process.argv[2]);
cfg.timeoutMs ??= 60000;

/** The server command does not exist: the user is told, "How to install" shows a read-only
 * Markdown preview, and the welcome view's button says so before asking anything. */
async function missingServer(page) {
  const toast = page.locator(".notification-toast", { hasText: "Yui: the server command" }).first();
  await toast.waitFor({ state: "visible" });
  log(`notification: ${oneLine(await toast.innerText())}`);
  await page.locator(".statusbar-item", { hasText: "yui: no server" }).first().waitFor({ state: "visible" });
  await toast.locator(".monaco-button", { hasText: "How to install" }).click();
  const tab = page.locator(".tabs-container .tab.active", { hasText: "Preview" });
  await tab.waitFor({ state: "visible" });
  const preview = page.frameLocator("iframe.webview.ready").frameLocator("iframe#active-frame");
  await preview.locator("code", { hasText: "pip install yui-lsp" }).first().waitFor({ state: "visible" });
  log(`install help opened read-only: ${oneLine(await tab.innerText())}`);
  await page.screenshot({ path: join(cfg.shots, "vscode-missing-server.png") });

  await page.keyboard.press("F1");
  const input = page.locator(".quick-input-widget input.input");
  await input.fill(">Yui: Show Tasks");
  await page.keyboard.press("Enter");
  await page.locator(".part.sidebar .welcome-view-content .monaco-button", { hasText: "Submit Task" }).click();
  const said = page.locator(".notification-toast", { hasText: "Restart Server" }).first();
  await said.waitFor({ state: "visible" });
  if (await page.locator(".quick-input-widget .quick-input-title", { hasText: "Yui: task title" }).isVisible()) {
    throw new Error("Submit Task asked for a title with no server running");
  }
  log(`welcome button without a server: ${oneLine(await said.innerText())}`);
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
    page.setDefaultTimeout(cfg.timeoutMs);
    const started = Date.now();
    await page.goto(cfg.url);
    await page.locator(".monaco-workbench .part.statusbar").waitFor({ state: "visible" });
    log(`workbench loaded in ${Date.now() - started} ms`);
    const scenarios = {
      "missing-server": missingServer, spec: specScenario, plan: planScenario, experience,
    };
    await scenarios[cfg.scenario](page, cfg);
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
