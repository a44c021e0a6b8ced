/* eslint-disable @typescript-eslint/no-unsafe-member-access -- API answers are plain JSON */
// Boolean query parameters converted as apimachinery does (runtime.Convert_Slice_string_To_bool):
// only "0" and "false" (any case) are false, anything else is true; and PatchOptions validated
// as ValidatePatchOptions does (422 Invalid, not 400).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { request } from "../lab/apiserver/client.ts";
import { startApiServer, type ApiServer } from "../lab/apiserver/index.ts";

let api: ApiServer;
const CMS = "/api/v1/namespaces/default/configmaps";
before(async () => {
  api = await startApiServer();
  await request(api, "POST", CMS, { body: { metadata: { name: "one" } } });
});
after(async () => api.stop());

describe("boolean query parameters", () => {
  it("watch=<v> watches for every spelling apimachinery reads as true, lists otherwise", async () => {
    const watches = ["true", "True", "TRUE", "1", "t", "yes", ""];
    const lists = ["false", "False", "FALSE", "0"];
    const kindOf = async (v: string) => {
      const r = await request(api, "GET", `${CMS}?watch=${v}&timeoutSeconds=1`);
      const first = JSON.parse(r.text.split("\n")[0] ?? "{}") as { type?: string; kind?: string };
      return first.type ?? first.kind;
    };
    const got = await Promise.all([...watches, ...lists].map(kindOf));
    assert.deepEqual(got, [...watches.map(() => "ADDED"), ...lists.map(() => "ConfigMapList")]);
  });

  it("allowWatchBookmarks=True is true (sendInitialEvents needs it)", async () => {
    const r = await request(
      api,
      "GET",
      `${CMS}?watch=1&sendInitialEvents=True&allowWatchBookmarks=True&timeoutSeconds=1`,
    );
    const types = r.text
      .trim()
      .split("\n")
      .map((l) => (JSON.parse(l) as { type: string }).type);
    assert.deepEqual(types.slice(0, 2), ["ADDED", "BOOKMARK"]);
  });
});

describe("PatchOptions", () => {
  const patch = (query: string, body: string, contentType: string) =>
    request(api, "PATCH", `${CMS}/one?${query}`, { body, contentType });

  it("force on a non-apply patch is forbidden, whatever its value", async () => {
    for (const v of ["true", "false"]) {
      const r = await patch(`force=${v}`, '{"data":{"a":"1"}}', "application/merge-patch+json");
      assert.equal(r.status, 422);
      assert.equal(r.json.reason, "Invalid");
      assert.equal(
        r.json.message,
        'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch',
      );
      assert.deepEqual(r.json.details.causes, [
        {
          reason: "FieldValueForbidden",
          message: "Forbidden: may not be specified for non-apply patch",
          field: "force",
        },
      ]);
    }
  });

  it("apply without a fieldManager is 422; force=True takes a field from another manager", async () => {
    const body = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: one}\ndata: {k: mine}\n";
    const none = await patch("", body, "application/apply-patch+yaml");
    assert.equal(none.status, 422);
    assert.equal(
      none.json.message,
      'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
    );
    assert.equal((await patch("fieldManager=a", body, "application/apply-patch+yaml")).status, 200);
    const other = body.replace("mine", "theirs");
    assert.equal((await patch("fieldManager=b", other, "application/apply-patch+yaml")).status, 409);
    const forced = await patch("fieldManager=b&force=True", other, "application/apply-patch+yaml");
    assert.equal(forced.status, 200, forced.text);
    assert.equal(forced.json.data.k, "theirs");
  });
});
