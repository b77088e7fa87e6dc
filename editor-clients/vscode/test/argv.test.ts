// Command lines split like a POSIX shell splits words, with nothing run through a shell.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ArgvError, showArgv, splitArgv } from "../src/argv";

test("quotes group words; the quote characters go", () => {
  assert.deepEqual(splitArgv(`python3 -c 'print("a b")'  x`), ["python3", "-c", 'print("a b")', "x"]);
  assert.deepEqual(splitArgv(`echo "" $HOME; rm`), ["echo", "", "$HOME;", "rm"]);
  assert.deepEqual(splitArgv("   "), []);
  assert.deepEqual(splitArgv(`a'b'"c"d`), ["abcd"]);
});

test("escapes: a backslash outside quotes, and \\\" \\\\ \\$ inside double quotes", () => {
  assert.deepEqual(splitArgv(`sh -c "echo \\"x\\" >> f"`), ["sh", "-c", `echo "x" >> f`]);
  assert.deepEqual(splitArgv(`a\\ b c`), ["a b", "c"]);
  assert.deepEqual(splitArgv(`"\\$HOME \\n"`), ["$HOME \\n"]);
});

test("an unterminated quote is an error, not a guess", () => {
  assert.throws(() => splitArgv(`echo "open`), ArgvError);
  assert.throws(() => splitArgv(`echo 'open`), /single quote/);
});

test("the argv reads back word by word", () => {
  assert.equal(showArgv(["sh", "-c", `echo "x" >> f`]), `[sh] [-c] [echo "x" >> f]`);
});
