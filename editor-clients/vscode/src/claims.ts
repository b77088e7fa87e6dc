// Claim and lease paths as the coordinator matches them (files, folders, globs), so the
// explorer badge sits exactly on the files a lease covers. tests/fixtures/claims.json is the
// table every matcher of the project agrees on.

/** Every alternative of the first `{a,b}` group, recursively: "{a,b}/x" -> ["a/x", "b/x"]. */
export function expandBraces(glob: string): string[] {
  const open = glob.indexOf("{");
  if (open < 0) return [glob];
  let depth = 0;
  const commas: number[] = [];
  for (let i = open; i < glob.length; i++) {
    const ch = glob[i];
    if (ch === "{") depth++;
    else if (ch === "}" && --depth === 0) {
      const bounds = [open, ...commas, i];
      const head = glob.slice(0, open);
      const tail = glob.slice(i + 1);
      const out: string[] = [];
      for (let k = 0; k + 1 < bounds.length; k++) {
        out.push(...expandBraces(head + glob.slice(bounds[k] + 1, bounds[k + 1]) + tail));
      }
      return out;
    } else if (ch === "," && depth === 1) commas.push(i);
  }
  return [glob]; // an unclosed brace is literal
}

/** "./a//b/./c/" -> "a/b/c": empty and "." segments say nothing. */
export function normalizeClaim(path: string): string {
  return path.split("/").filter((s) => s !== "" && s !== ".").join("/");
}

/** A glob without braces (`*`, `**`, `?`, `[abc]`, `[!abc]`) as an anchored RegExp. */
export function globToRegExp(glob: string): RegExp {
  let out = "";
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i];
    if (ch === "*") {
      if (glob[i + 1] === "*") {
        const before = i === 0 || glob[i - 1] === "/";
        const slash = glob[i + 2] === "/";
        if (before && slash) {
          out += "(?:.*/)?"; // "**/" matches zero or more folders
          i += 2;
        } else if (before && i + 2 === glob.length && i > 0) {
          out = out.slice(0, -1) + "(?:/.*)?"; // "a/**" covers a itself and all below
          i += 1;
        } else {
          out += ".*";
          i += 1;
        }
      } else {
        out += "[^/]*";
      }
    } else if (ch === "?") {
      out += "[^/]";
    } else if (ch === "[") {
      const end = glob.indexOf("]", i + 2);
      if (end < 0) {
        out += "\\[";
      } else {
        const body = glob.slice(i + 1, end).replace(/\\/g, "\\\\");
        out += body.startsWith("!") ? `[^/${body.slice(1)}]` : `[${body}]`;
        i = end;
      }
    } else {
      out += ch.replace(/[.+^$(){}|\\\]]/g, "\\$&");
    }
  }
  return new RegExp(`^${out}$`);
}

/** True when a claim or lease path (a file, a folder or a glob) covers the relative path `rel`. */
export function covers(claim: string, rel: string): boolean {
  const path = normalizeClaim(rel);
  for (const alternative of expandBraces(claim)) {
    const pattern = normalizeClaim(alternative);
    if (!/[*?[]/.test(pattern)) {
      if (path === pattern || path.startsWith(pattern + "/")) return true;
    } else if (globToRegExp(pattern).test(path)) {
      return true;
    }
  }
  return false;
}
