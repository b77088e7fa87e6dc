// The claim matcher agrees with the project's shared table (tests/fixtures/claims.json).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { covers, expandBraces } from "../src/claims";

interface Case { claim: string; path: string; matches: boolean; why?: string }

const TABLE = path.resolve(__dirname, "../../../../tests/fixtures/claims.json");

test("every case of tests/fixtures/claims.json", () => {
  const cases = (JSON.parse(readFileSync(TABLE, "utf8")) as { cases: Case[] }).cases;
  assert.ok(cases.length > 10);
  const wrong = cases.filter((c) => covers(c.claim, c.path) !== c.matches)
    .map((c) => `${c.claim} ~ ${c.path}: expected ${c.matches}${c.why ? ` (${c.why})` : ""}`);
  assert.deepEqual(wrong, []);
});

test("braces expand, nested and several", () => {
  assert.deepEqual(expandBraces("{a,b}/x.{ts,js}"), ["a/x.ts", "a/x.js", "b/x.ts", "b/x.js"]);
  assert.deepEqual(expandBraces("a{b,{c,d}}"), ["ab", "ac", "ad"]);
  assert.deepEqual(expandBraces("{open"), ["{open"]);
});
