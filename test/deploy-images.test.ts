// The images deploy/ names are the Dockerfile's targets, and an operator can point every rendering
// at their own registry. Until the images are published, "build both targets, push them, set them
// in the kustomization" is the install's first step (docs/operators.md, "Images"); this checks
// that what the page says works: every image of every rendering (the base, the overlays, the
// parts of the staged install) is one of IMAGE_TARGETS' at the package version; the page's overlay
// (its `images-overlay` block) and an edited deploy/images component change every one of them and
// nothing else.
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { parse } from "yaml";
import {
  ROOT,
  RENDERS,
  allContainers,
  kubectlMissing,
  packageVersion,
  render,
  workloads,
  type KObject,
} from "./deploy-render.ts";

/** The one place that says which Dockerfile target builds which image deploy/ names. */
export const IMAGE_TARGETS: Readonly<Record<string, string>> = {
  "ghcr.io/kube-nftlb/kube-nftlb": "runtime",
  "ghcr.io/kube-nftlb/nftlb": "nftlb",
};

const PARTS = ["deploy/node", "deploy/admission", "deploy/certs"] as const;
const EVERY = [...RENDERS, ...PARTS];
const missing = kubectlMissing();
const read = (p: string) => readFileSync(join(ROOT, p), "utf8");

/** `FROM image AS name` stages of a Dockerfile, in order. */
export function dockerfileTargets(dockerfile: string): string[] {
  return [...dockerfile.matchAll(/^FROM\s+\S+(?:\s+--\S+)*\s+AS\s+([\w.-]+)\s*$/gim)].map((m) =>
    m[1]!.toLowerCase(),
  );
}

/** `name:tag` (or `name@digest`) of every container in a rendering, with where it is. */
const imagesOf = (objects: KObject[]) =>
  workloads(objects).flatMap((w) =>
    allContainers(w.pod).map((c) => ({
      where: `${w.object.kind}/${w.object.metadata.name}/${c.name}`,
      image: c.image ?? "",
    })),
  );
const split = (image: string) => {
  const m = /^(.+?)(?::([\w][\w.-]*))?(?:@(sha256:[0-9a-f]{64}))?$/.exec(image);
  return { name: m?.[1] ?? image, tag: m?.[2], digest: m?.[3] };
};
/** A rendering with every image replaced by a placeholder, to compare what else changed. */
const withoutImages = (objects: KObject[]) => {
  const copy = structuredClone(objects);
  for (const w of workloads(copy)) for (const c of allContainers(w.pod)) c.image = "IMAGE";
  return copy;
};

/** The YAML block right after `<!-- NAME -->` in a Markdown file. */
function markedYaml(markdown: string, name: string): string {
  const m = new RegExp(`<!-- ${name} -->\\n\\s*\`\`\`yaml\\n([\\s\\S]*?)\\n\\s*\`\`\``).exec(markdown);
  if (!m) throw new Error(`no \`\`\`yaml block after <!-- ${name} -->`);
  const indent = /^ */.exec(m[1]!)![0].length;
  return m[1]!
    .split("\n")
    .map((l) => l.slice(indent))
    .join("\n");
}

describe("the images deploy/ names", { skip: missing }, () => {
  const rendered = new Map<string, KObject[]>();
  before(() => {
    for (const r of EVERY) rendered.set(r, render(r));
  });

  it("each comes from a Dockerfile target, and the Dockerfile's header builds each one", () => {
    const dockerfile = read("Dockerfile");
    const targets = dockerfileTargets(dockerfile);
    assert.deepEqual(targets, ["build", "deps", "runtime", "nftlb"], "the parser reads the stages");
    const version = packageVersion();
    for (const [name, target] of Object.entries(IMAGE_TARGETS)) {
      assert.ok(targets.includes(target), `${name}: no target ${target} in the Dockerfile`);
      assert.match(
        dockerfile,
        new RegExp(`docker build --target ${target} +-t ${name}:${version.replaceAll(".", "\\.")} \\.`),
      );
    }
  });

  it("every container of every rendering runs one of them, at the package version", () => {
    const version = packageVersion();
    for (const r of EVERY) {
      const images = imagesOf(rendered.get(r)!);
      assert.ok(images.length > 0, r);
      for (const { where, image } of images) {
        const { name, tag } = split(image);
        assert.ok(name in IMAGE_TARGETS, `${r}: ${where} runs ${image}, which no Dockerfile target builds`);
        assert.equal(tag, version, `${r}: ${where}`);
      }
    }
    // And both are used: a target nobody runs would be a stale entry.
    const used = new Set(EVERY.flatMap((r) => imagesOf(rendered.get(r)!).map((i) => split(i.image).name)));
    assert.deepEqual([...used].sort(), Object.keys(IMAGE_TARGETS).sort());
  });

  it("deploy/images names exactly these images", () => {
    const component = parse(read("deploy/images/kustomization.yaml")) as { images: { name: string }[] };
    assert.deepEqual(component.images.map((i) => i.name).sort(), Object.keys(IMAGE_TARGETS).sort());
  });

  it("docs/operators.md and the README say how to build both targets", () => {
    const operators = read("docs/operators.md");
    const readme = read("README.md");
    for (const [name, target] of Object.entries(IMAGE_TARGETS)) {
      assert.match(operators, new RegExp(`docker build --target ${target} -t `), `operators.md: ${target}`);
      assert.ok(operators.includes(`| \`${name}\` | \`${target}\` |`), `operators.md's table: ${name}`);
      assert.ok(readme.includes(`--target ${target}`), `README: ${target}`);
    }
    // The install line says it before `kubectl apply -k deploy/`.
    const install = readme.slice(readme.indexOf("## Install in a cluster"));
    assert.ok(
      install.indexOf("docker build") < install.indexOf("kubectl apply -k deploy/"),
      "README: build first",
    );
  });

  it("the overlay of docs/operators.md points every image of every rendering at your registry", () => {
    const overlay = parse(markedYaml(read("docs/operators.md"), "images-overlay")) as {
      resources: string[];
      images: { name: string; newName: string }[];
    };
    assert.deepEqual(overlay.resources, ["../deploy"]);
    const newName = new Map(overlay.images.map((i) => [i.name, i.newName]));
    const dir = mkdtempSync(join(tmpdir(), "deploy-images-"));
    try {
      for (const r of RENDERS) {
        const at = join(dir, r.replaceAll("/", "-"));
        mkdirSync(at);
        // kustomize loads bases by relative path only; "../deploy" is the page's, beside deploy/.
        writeFileSync(
          join(at, "kustomization.yaml"),
          markedYaml(read("docs/operators.md"), "images-overlay").replace(
            "../deploy",
            relative(at, join(ROOT, r)),
          ),
        );
        const before = rendered.get(r)!;
        const after = render(relative(ROOT, at));
        for (const { where, image } of imagesOf(after)) {
          const was = imagesOf(before).find((i) => i.where === where)!.image;
          assert.equal(image, `${newName.get(split(was).name)}:${split(was).tag}`, `${r}: ${where}`);
        }
        assert.deepEqual(withoutImages(after), withoutImages(before), `${r}: only the images change`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("newName in deploy/images changes every image of the base, the overlays and the parts", () => {
    const copy = mkdtempSync(join(tmpdir(), "deploy-images-copy-"));
    try {
      cpSync(join(ROOT, "deploy"), join(copy, "deploy"), { recursive: true });
      const file = join(copy, "deploy", "images", "kustomization.yaml");
      const component = parse(readFileSync(file, "utf8")) as { images: { name: string; newName?: string }[] };
      for (const i of component.images)
        i.newName = i.name.replace("ghcr.io/kube-nftlb/", "registry.example.com/you/");
      writeFileSync(file, JSON.stringify(component));
      for (const r of EVERY) {
        const after = render(relative(ROOT, join(copy, r)));
        const images = imagesOf(after);
        assert.equal(images.length, imagesOf(rendered.get(r)!).length, r);
        for (const { where, image } of images)
          assert.match(
            image,
            /^registry\.example\.com\/you\/(kube-nftlb|nftlb):\d+\.\d+\.\d+$/,
            `${r}: ${where}`,
          );
        assert.deepEqual(
          withoutImages(after),
          withoutImages(rendered.get(r)!),
          `${r}: only the images change`,
        );
      }
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});
