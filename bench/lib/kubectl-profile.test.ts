// kubectlProfile against a Go-shaped CPU profile written with pprof-format: samples of
// [count, cpu nanoseconds], leaf-first stacks, gzipped as Go writes it.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, it } from "node:test";
import { gzipSync } from "node:zlib";
import { Function as Fn, Line, Location, Profile, Sample, StringTable, ValueType } from "pprof-format";
import { KUBECTL_PARTS, kubectlProfile } from "./kubectl-profile.ts";

const dir = mkdtempSync(join(tmpdir(), "kubectl-profile-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A profile of `stacks` (leaf first), each sampled once for `ms` of CPU. */
function profile(stacks: { fns: string[]; ms: number }[]): string {
  const strings = new StringTable();
  const fns = [...new Set(stacks.flatMap((s) => s.fns))];
  const id = (name: string) => fns.indexOf(name) + 1;
  const p = new Profile({
    sampleType: [
      new ValueType({ type: strings.dedup("samples"), unit: strings.dedup("count") }),
      new ValueType({ type: strings.dedup("cpu"), unit: strings.dedup("nanoseconds") }),
    ],
    function: fns.map((name) => new Fn({ id: id(name), name: strings.dedup(name) })),
    location: fns.map((name) => new Location({ id: id(name), line: [new Line({ functionId: id(name) })] })),
    sample: stacks.map((s) => new Sample({ locationId: s.fns.map(id), value: [1, s.ms * 1e6] })),
    stringTable: strings,
  });
  const file = join(dir, `p${stacks.length}.pprof`);
  writeFileSync(file, gzipSync(p.encode()));
  return file;
}

const [openapi, reading, applying] = KUBECTL_PARTS.map(([, fn]) => fn!);

it("counts a sample in the first part on its stack: the OpenAPI check inside the reading is the check's", () => {
  const got = kubectlProfile(
    profile([
      { fns: ["encoding/json.Unmarshal", openapi!, reading!, "main.main"], ms: 30 },
      { fns: ["yaml.Unmarshal", reading!, "main.main"], ms: 20 },
      { fns: ["crypto/tls.(*Conn).Write", applying!, "main.main"], ms: 10 },
      { fns: ["runtime.futex"], ms: 5 },
    ]),
  );
  assert.equal(got.sampledMs, 65);
  const ms = Object.fromEntries(got.parts.map((p) => [p.part, p.ms]));
  assert.equal(ms[KUBECTL_PARTS[0]![0]], 30);
  assert.equal(ms[KUBECTL_PARTS[1]![0]], 20);
  assert.equal(ms[KUBECTL_PARTS[2]![0]], 10);
  assert.equal(ms["the rest"], 5);
});
