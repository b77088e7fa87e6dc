// Plan with Yui: the planner's plan opens for review, runs from the notification's button,
// and the planned task's file lands in the editor.
// `cfg` ({prompt, agents, expect, lands, landsText}) comes from tests/editors/test_vscode.py.
import { join } from "node:path";
import {
  clickToastButton, log, openFile, quickInputTitle, runCommand, typeIntoQuickInput,
  waitForEditorText,
} from "./workbench.mjs";

export async function planScenario(page, cfg) {
  const timeout = cfg.timeoutMs;
  await page.locator(".statusbar-item", { hasText: /^\s*yui\s*$/ }).first().waitFor({ state: "visible" });
  await runCommand(page, "Yui: Plan with Yui");
  await quickInputTitle(page, "Yui: plan");
  await typeIntoQuickInput(page, cfg.prompt);
  await quickInputTitle(page, "Yui: plan — agents");
  await typeIntoQuickInput(page, cfg.agents);
  log("plan requested from the command palette");

  await waitForEditorText(page, (text) => text.includes(cfg.expect), `the plan (${cfg.expect})`, timeout);
  log("plan opened for review");
  await page.screenshot({ path: join(cfg.shots, "vscode-plan.png") });
  const said = await clickToastButton(page, "Yui planned", "Run");
  log(`notification: ${said}`);
  log("plan run from the review");

  // The planned task's file appears once its result landed; its text shows in the editor.
  await page.keyboard.press("Control+Shift+E");
  await page.locator(`.explorer-folders-view .monaco-list-row[aria-label^="${cfg.lands}"]`).first()
    .waitFor({ state: "visible" });
  await openFile(page, cfg.lands);
  await waitForEditorText(page, (text) => text.includes(cfg.landsText), cfg.landsText, timeout);
  log(`${cfg.lands} landed in the editor`);
  await page.screenshot({ path: join(cfg.shots, "vscode-plan-done.png") });
}
