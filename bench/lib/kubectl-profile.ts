// kubectl's own CPU by part, from the Go CPU profile `kubectl --profile=cpu --profile-output=F`
// writes (gzipped pprof protobuf, read with pprof-format: no `go tool pprof` needed). The parts
// are the stacks a cold start's apply spends its CPU in; a sample counts in the first part that
// has one of its functions anywhere on its stack, so the order matters (the OpenAPI check runs
// inside the reading of the file).
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { Profile } from "pprof-format";

export const KUBECTL_PARTS: readonly (readonly [part: string, ...fns: string[]])[] = [
  // cli-runtime's queryParamVerifierV3 asks openapi3.Root.GVSpec for the object's group version,
  // which unmarshals that document again for every object (upstream kubernetes#127095)
  [
    "the OpenAPI v3 document parsed again for each object (--validate's fieldValidation check)",
    "k8s.io/cli-runtime/pkg/resource.(*queryParamVerifierV3).HasSupport",
  ],
  ["reading the file (YAML to JSON, decoding)", "k8s.io/cli-runtime/pkg/resource.(*StreamVisitor).Visit"],
  [
    "applying each object (its requests, the last-applied annotation, decoding the answers)",
    "k8s.io/kubectl/pkg/cmd/apply.(*ApplyOptions).applyOneObject",
  ],
  [
    "the HTTP connection's own goroutines (TLS, reading and writing)",
    "net/http.(*persistConn).writeLoop",
    "net/http.(*persistConn).readLoop",
  ],
  ["garbage collection", "runtime.gcBgMarkWorker"],
];

export interface KubectlProfile {
  /** CPU the profile sampled, ms */
  sampledMs: number;
  /** ms per part, in KUBECTL_PARTS' order, then "the rest" */
  parts: { part: string; ms: number }[];
}

const n = (x: number | bigint) => Number(x);

export function kubectlProfile(file: string): KubectlProfile {
  const raw = readFileSync(file);
  const p = Profile.decode(raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw);
  const str = (i: number | bigint) => p.stringTable.strings[n(i)] ?? "";
  const cpu = p.sampleType.findIndex((t) => str(t.type) === "cpu");
  const names = new Map(p.function.map((f) => [n(f.id), str(f.name)]));
  const frames = new Map(
    p.location.map((l) => [n(l.id), l.line.map((x) => names.get(n(x.functionId)) ?? "")]),
  );
  const ms = Array.from({ length: KUBECTL_PARTS.length + 1 }, () => 0);
  for (const s of p.sample) {
    const v = n(s.value[cpu < 0 ? 0 : cpu] ?? 0) / 1e6;
    const stack = new Set(s.locationId.flatMap((id) => frames.get(n(id)) ?? []));
    const i = KUBECTL_PARTS.findIndex(([, ...fns]) => fns.some((fn) => stack.has(fn)));
    ms[i < 0 ? KUBECTL_PARTS.length : i]! += v;
  }
  return {
    sampledMs: ms.reduce((a, b) => a + b, 0),
    parts: [...KUBECTL_PARTS.map(([part]) => part), "the rest"].map((part, i) => ({ part, ms: ms[i] ?? 0 })),
  };
}
