// ValueCounter: structure counted outside strings only, escapes honoured, across chunk edges.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ValueCounter } from "./body.ts";

const count = (...chunks: string[]): number => {
  const c = new ValueCounter();
  for (const chunk of chunks) c.add(Buffer.from(chunk));
  return c.count;
};

test("counts { [ , : outside strings", () => {
  assert.equal(count('{"a":[1,2],"b":{}}'), 7);
  assert.equal(count("[{},{},{}]"), 6);
});

test("ignores structure inside strings, escaped quotes included", () => {
  assert.equal(count('{"k":"{[,:]} \\" still inside ,,,"}'), 2);
  assert.equal(count('["\\\\",1]'), 2); // an escaped backslash ends before the quote
});

test("a string or an escape cut between chunks carries over", () => {
  assert.equal(count('{"a":"x,', 'y",', '"b":"\\', '",z"}'), 4);
  assert.equal(count('{"a":"x,y","b":"\\",z"}'), 4);
});
