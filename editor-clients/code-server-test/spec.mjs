// A spec's tasks.md: its code lens runs the list, and the boxes tick in the open editor.
// `cfg` ({file, lens, ticks}) comes from tests/editors/test_vscode_spec.py.
import { join } from "node:path";
import { editorText, log, openFile, runCommand } from "./workbench.mjs";

export async function specScenario(page, cfg) {
  const timeout = cfg.timeoutMs;
  await page.locator(".statusbar-item", { hasText: /^\s*yui\s*$/ }).first().waitFor({ state: "visible" });
  await runCommand(page, "View: Hide Secondary Side Bar");
  await page.keyboard.press("Escape");
  await openFile(page, cfg.file);
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
