// What the API stand-in refused (401, 403) during a bench: its syncer runs as deploy/'s
// ServiceAccount with deploy/'s RBAC (as in the lab), so a rule deploy/ lacks shows here. The
// first refusal is printed at once — a syncer refused its list never becomes ready, and the bench
// would only wait — and check() fails the run at its end.
const REFUSED = / 40[13] \d+ms /;

export function apiRefusals() {
  const seen: string[] = [];
  return {
    /** startApiServer's `log`: one line per request, `METHOD /path?query STATUS Nms "agent"` */
    log: (line: string) => {
      if (!REFUSED.test(line)) return;
      if (seen.length === 0) console.error(`bench: the API stand-in refused a request: ${line}`);
      seen.push(line);
    },
    check: () => {
      if (seen.length > 0)
        throw new Error(`the API stand-in refused ${seen.length} request(s); the first: ${seen[0] ?? ""}`);
    },
  };
}
