// A command line typed by the user, split into argv with POSIX shell word rules (quotes and
// backslash escapes) but never handed to a shell: no expansion, no redirection, no pipes.

export class ArgvError extends Error {}

/** Split `line` into words the way `sh` would before running it ("a 'b c'" -> [a, "b c"]).
 * Throws ArgvError on an unterminated quote. */
export function splitArgv(line: string): string[] {
  const out: string[] = [];
  let current = "";
  let started = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quote === "'") {
      if (ch === "'") quote = undefined;
      else current += ch;
    } else if (quote === '"') {
      if (ch === '"') {
        quote = undefined;
      } else if (ch === "\\" && i + 1 < line.length && '$`"\\\n'.includes(line[i + 1])) {
        // Inside double quotes a backslash only escapes these; elsewhere it stays.
        i++;
        if (line[i] !== "\n") current += line[i];
      } else {
        current += ch;
      }
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      started = true;
    } else if (ch === "\\") {
      started = true;
      i++;
      if (i < line.length && line[i] !== "\n") current += line[i];
    } else if (/\s/.test(ch)) {
      if (started) out.push(current);
      current = "";
      started = false;
    } else {
      current += ch;
      started = true;
    }
  }
  if (quote) throw new ArgvError(`unterminated ${quote === "'" ? "single" : "double"} quote`);
  if (started) out.push(current);
  return out;
}

/** How the argv reads back, one bracketed word each: [sh] [-c] [echo "x" >> f]. */
export function showArgv(argv: string[]): string {
  return argv.map((w) => `[${w}]`).join(" ");
}
