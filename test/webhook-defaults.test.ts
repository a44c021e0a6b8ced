// The webhook re-reads --defaults-file when kubelet swaps the mounted ConfigMap's `..data`: a
// real `kube-nftlb webhook` process writes the new defaults from then on, without a restart, and
// a bad new file is refused (logged, counted) with the previous defaults kept.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  admissionReview,
  key,
  request as admission,
  service,
} from "../webhook/review-fixtures.test-helpers.ts";
import type { AdmissionReviewOut } from "../webhook/review.ts";
import { makeCa } from "./webhook-pki.ts";
import { post, SecretVolume, webhookProcess } from "./webhook-tls.ts";
import { until } from "./until.ts";

const dir = mkdtempSync(join(tmpdir(), `webhook-defaults-${process.pid}-`));
after(() => rmSync(dir, { recursive: true, force: true }));

test("a ..data swap of the defaults file changes what /mutate writes, without a restart; a bad file is refused", async () => {
  const ca = makeCa();
  const leaf = ca.sign("defaults");
  const tls = new SecretVolume(join(dir, "tls"));
  tls.write({ "tls.crt": leaf.cert, "tls.key": leaf.key });
  const configMap = new SecretVolume(join(dir, "defaults"));
  configMap.write({ "defaults.yaml": "scheduler: symhash\n" });
  const webhook = await webhookProcess(tls, ["--defaults-file", join(configMap.dir, "defaults.yaml")]);
  const written = async (): Promise<string | undefined> => {
    const body = JSON.stringify(admissionReview(admission(service())));
    const r = JSON.parse(
      (await post(webhook.port, ca.cert, "/mutate", body, false)).body,
    ) as AdmissionReviewOut;
    const ops = JSON.parse(Buffer.from(r.response.patch ?? "", "base64").toString()) as {
      value: Record<string, string>;
    }[];
    return ops[0]?.value[key("scheduler")];
  };
  const metric = async (result: string) => {
    const text = await (await fetch(`http://127.0.0.1:${webhook.probePort}/metrics`)).text();
    const m = new RegExp(`kube_nftlb_webhook_defaults_reloads_total\\{result="${result}"\\} (\\d+)`).exec(
      text,
    );
    return Number(m?.[1] ?? 0);
  };
  try {
    assert.equal(await written(), "symhash");
    configMap.write({ "defaults.yaml": "scheduler: hash-srcip\nmode: dnat\n" });
    await until("the new defaults written", async () => (await written()) === "hash-srcip");
    assert.equal(await metric("loaded"), 2);
    assert.match(webhook.output(), /"msg":"cluster defaults reloaded"/);

    configMap.write({ "defaults.yaml": "scheduler: [\n" });
    await until("the bad file refused", async () => (await metric("refused")) === 1);
    assert.equal(await written(), "hash-srcip");
    assert.match(webhook.output(), /"msg":"cluster defaults refused; keeping the previous ones"/);
    assert.equal(webhook.child.exitCode, null, "the same process throughout");
  } finally {
    webhook.child.kill("SIGKILL");
  }
});
