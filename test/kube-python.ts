/* eslint-disable @typescript-eslint/no-explicit-any -- results are API objects read from the wire */
// Runs a snippet of Python against an API server with the official Python client (Debian's
// python3-kubernetes): the snippet sees `v1` (CoreV1Api), `disc` (DiscoveryV1Api), `api`
// (ApiClient), `call(fn, *args, **kwargs)` (returns {"status", "object" | "body"}), `raw(method,
// path, query, body)` for what this client version has no parameter for (it also returns the
// Warning headers) and fills the dict `out`, which comes back as JSON.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";

export const PYTHON = "/usr/bin/python3";

export const pythonMissing: string | false = !existsSync(PYTHON) ? `${PYTHON} is not installed` : false;

const PRELUDE = `
import json, os, warnings
from kubernetes import client, config
from kubernetes.client.rest import ApiException
config.load_kube_config(config_file=os.environ["KUBECONFIG"])
api = client.ApiClient()
v1 = client.CoreV1Api(api)
disc = client.DiscoveryV1Api(api)
def call(fn, *a, **k):
    try:
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            r = fn(*a, **k)
        return {"status": 200, "object": api.sanitize_for_serialization(r), "warnings": [str(x.message) for x in w]}
    except ApiException as e:
        return failure(e)
def failure(e):
    try:
        body = json.loads(e.body)
    except Exception:
        body = e.body
    return {"status": e.status, "body": body}
def raw(method, path, query=None, body=None, content_type="application/json"):
    try:
        data, status, headers = api.call_api(path, method, query_params=query or [], header_params={"Content-Type": content_type, "Accept": "application/json"}, body=body, auth_settings=["BearerToken"], response_type="object", _return_http_data_only=False)
        return {"status": status, "object": data, "warnings": headers.getlist("Warning") if headers is not None else []}
    except ApiException as e:
        return failure(e)
out = {}
`;

export function runPython(kubeconfig: string, code: string): Promise<Record<string, any>> {
  const dedented = code
    .replace(/^\n/, "")
    .replace(new RegExp(`^${/^( *)/.exec(code.replace(/^\n/, ""))?.[1] ?? ""}`, "gm"), "");
  const script = `${PRELUDE}\n${dedented}\nprint(json.dumps(out))\n`;
  return new Promise((resolve, reject) => {
    execFile(
      PYTHON,
      ["-c", script],
      { env: { ...process.env, KUBECONFIG: kubeconfig }, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err !== null) return reject(new Error(`python failed: ${err.message}\n${stderr}`));
        const last = stdout.trim().split("\n").at(-1) ?? "{}";
        resolve(JSON.parse(last) as Record<string, any>);
      },
    );
  });
}
