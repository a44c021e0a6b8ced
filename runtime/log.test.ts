import { test } from "node:test";
import assert from "node:assert/strict";
import { createLogger, scrub } from "./log.ts";

function capture(secrets?: () => string[]) {
  const lines: string[] = [];
  const log = createLogger({ name: "t", destination: { write: (s: string) => void lines.push(s) }, secrets });
  return { log, lines };
}

test("the nftlb key is redacted at its usual field paths", () => {
  const { log, lines } = capture();
  log.info(
    { key: "s3cr3t-key", nftlb: { key: "s3cr3t-key" }, req: { headers: { key: "s3cr3t-key" } } },
    "call",
  );
  assert.equal(lines.length, 1);
  assert.doesNotMatch(lines[0]!, /s3cr3t/);
  assert.equal((lines[0]!.match(/\[redacted\]/g) ?? []).length, 3);
});

test("a secret pasted into a message or an error is scrubbed from the line", () => {
  const key = 'k"ey-with-quote-1234';
  const { log, lines } = capture(() => [key]);
  log.error({ err: new Error(`nftlb said: bad key ${key}`) }, `refused ${key}`);
  assert.doesNotMatch(lines[0]!, /ey-with-quote-1234/);
  assert.match(lines[0]!, /refused \[redacted\]/);
  assert.equal((JSON.parse(lines[0]!) as { msg: string }).msg, "refused [redacted]");
});

test("scrub ignores secrets too short to be real and leaves other text alone", () => {
  assert.equal(scrub("abc xyz", ["abc"]), "abc xyz");
  assert.equal(scrub("the key is hunter22", ["hunter22"]), "the key is [redacted]");
});
