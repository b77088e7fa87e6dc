// What a user does in the VS Code workbench, as Playwright steps: the command palette, quick
// inputs, notifications, the explorer, editors and the diff editor.
export const log = (text) => console.log(`[drive] ${text}`);

export function oneLine(text) {
  return text.replace(/\s+/g, " ").trim();
}

export async function typeIntoQuickInput(page, text) {
  const input = page.locator(".quick-input-widget input.input");
  await input.waitFor({ state: "visible" });
  await input.fill(text);
  await page.keyboard.press("Enter");
}

export async function quickInputTitle(page, title) {
  await page.locator(".quick-input-widget .quick-input-title", { hasText: title })
    .waitFor({ state: "visible" });
}

/** Wait until no quick input is open (a key pressed while one closes may be lost). */
async function quickInputClosed(page) {
  await page.locator(".quick-input-widget").filter({ visible: true }).first()
    .waitFor({ state: "hidden" });
}

export async function runCommand(page, name) {
  await quickInputClosed(page);
  await page.keyboard.press("F1");
  await typeIntoQuickInput(page, `>${name}`);
}

/** Open a workspace file in an editor through Quick Open, and focus its text. */
export async function openFile(page, name) {
  await quickInputClosed(page);
  const input = page.locator(".quick-input-widget input.input");
  // On a busy machine the first key press may come before the workbench listens again.
  for (let attempt = 0; attempt < 3 && !(await input.isVisible()); attempt++) {
    await page.keyboard.press("Control+P");
    await input.waitFor({ state: "visible", timeout: 5000 }).catch(() => undefined);
  }
  await input.fill(name);
  const base = name.split("/").pop();
  // A row shows the file's name, then its folder: the best match is the first row.
  const first = page.locator(".quick-input-list .monaco-list-row").first();
  await first.filter({ hasText: base }).waitFor();
  await page.keyboard.press("Enter");
  await page.locator(".tabs-container .tab.active", { hasText: base }).waitFor({ state: "visible" });
  await activeEditor(page).click();
}

export function activeEditor(page) {
  // The text editor of the active tab (hidden editors of other tabs stay in the page).
  return page.locator(".editor-group-container.active .editor-instance .monaco-editor")
    .filter({ visible: true }).first();
}

/** The visible text of the active editor (spaces as typed). */
export async function editorText(page) {
  const text = await activeEditor(page).locator(".view-lines").innerText();
  return text.replace(/\u00a0/g, " ");
}

/** Wait until the active editor's text satisfies `ok`; returns it. */
export async function waitForEditorText(page, ok, what, timeout) {
  const until = Date.now() + timeout;
  let text = "";
  while (Date.now() < until) {
    text = await editorText(page).catch(() => "");
    if (ok(text)) return text;
    await page.waitForTimeout(200);
  }
  throw new Error(`the editor never showed ${what}:\n${text}`);
}

/** The toast whose text contains `text` (a notification still on screen). */
export function toast(page, text) {
  return page.locator(".notification-toast", { hasText: text }).first();
}

export async function clickToastButton(page, text, button) {
  const found = toast(page, text);
  await found.waitFor({ state: "visible" });
  const said = oneLine(await found.innerText());
  await found.locator(".monaco-button", { hasText: button }).first().click();
  return said;
}

export async function clearNotifications(page) {
  await runCommand(page, "Notifications: Clear All Notifications");
  await page.locator(".notification-toast").first().waitFor({ state: "hidden" }).catch(() => undefined);
}

/** Text of the extension's status-bar item. */
export function statusItem(page) {
  return page.locator(".statusbar-item", { hasText: /\byui\b/ }).first();
}

export async function waitForStatus(page, pattern) {
  await page.locator(".statusbar-item", { hasText: pattern }).first().waitFor({ state: "visible" });
  return oneLine(await statusItem(page).innerText());
}

/** A row of the Yui Tasks view. */
export function taskRow(page, title) {
  return page.locator(".part.sidebar .monaco-list-row", { hasText: title }).first();
}

/** Wait until the task's row in the Yui Tasks view mentions `state`. */
export async function waitForTaskState(page, title, state, timeout) {
  const row = taskRow(page, title);
  const until = Date.now() + timeout;
  let text = "";
  while (Date.now() < until) {
    text = oneLine(await row.innerText().catch(() => ""));
    if (text.includes(state)) return text;
    await page.waitForTimeout(200);
  }
  throw new Error(`task '${title}' never showed '${state}' in the tree (row: '${text}')`);
}

/** Click an inline action (by its command title) of a tree row. */
export async function clickRowAction(page, row, title) {
  await row.hover();
  await row.locator(`.action-label[aria-label="${title}"]`).click();
}

/** The badge a FileDecorationProvider put on an explorer row (drawn by CSS ::after). */
export async function explorerBadge(page, fileName) {
  const row = page.locator(`.explorer-folders-view .monaco-list-row[aria-label^="${fileName}"]`).first();
  await row.waitFor({ state: "visible" });
  return row.evaluate((el) => {
    const found = [];
    for (const node of [el, ...el.querySelectorAll("*")]) {
      const content = getComputedStyle(node, "::after").content;
      if (content && content !== "none" && content !== "normal" && content !== '""') found.push(content);
    }
    return { badges: found, title: el.querySelector("[title]")?.getAttribute("title") ?? "" };
  });
}

/** Both sides of the diff editor of file `name` once it is the active tab and `ok` accepts
 * them: {original, modified}. */
export async function diffSides(page, name, ok, timeout) {
  await page.locator(".tabs-container .tab.active", { hasText: `${name}: workspace` }).waitFor({ state: "visible" });
  // Editors of other tabs may stay in the page, hidden.
  const diff = page.locator(".editor-group-container.active .monaco-diff-editor").filter({ visible: true }).first();
  await diff.waitFor({ state: "visible" });
  const side = async (which) =>
    (await diff.locator(`.editor.${which} .view-lines`).first().innerText()).replace(/\u00a0/g, " ");
  // Each side loads on its own: read until `ok` says both are there (or give up and show).
  const until = Date.now() + timeout;
  let sides = { original: "", modified: "" };
  while (Date.now() < until) {
    sides = { original: await side("original"), modified: await side("modified") };
    if (ok(sides)) return sides;
    await page.waitForTimeout(200);
  }
  throw new Error(`the diff of ${name} never showed the expected sides: ${JSON.stringify(sides)}`);
}

/** Wait for something a predicate reads from the disk or the page. */
export async function waitFor(page, check, what, timeout) {
  const until = Date.now() + timeout;
  while (Date.now() < until) {
    if (await check()) return;
    await page.waitForTimeout(200);
  }
  throw new Error(`timed out waiting for ${what}`);
}
