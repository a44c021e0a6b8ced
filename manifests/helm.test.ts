// Unrendered Helm templates are named as such, once per file, at the template's line; Go
// template text that YAML reads as a string (quoted, block scalars, comments) is not.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseManifest } from "./load.ts";
import { HELM_HINT } from "./helm.ts";

const parse = (text: string) => parseManifest("t.yaml", Buffer.from(text));

describe("an unrendered Helm template", () => {
  const templates: [string, string, number][] = [
    [
      "a value YAML reads as a nested flow map",
      "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n    - port: {{ .Values.port }}\n",
      7,
    ],
    [
      "text after the action",
      "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}-web\n",
      4,
    ],
    [
      "an include with nindent",
      'apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  labels:\n    {{- include "web.labels" . | nindent 4 }}\n',
      6,
    ],
    ["a control line", "{{- if .Values.enabled }}\napiVersion: v1\nkind: Service\n{{- end }}\n", 1],
    [
      "several documents, said once",
      "kind: Service\nmetadata:\n  name: {{ .Values.a }}\n---\nkind: Service\nmetadata:\n  name: {{ .Values.b }}\n",
      3,
    ],
  ];
  for (const [name, text, line] of templates) {
    it(`${name}: the hint at line ${line}, no object, nothing else`, () => {
      assert.deepEqual(parse(text), {
        objects: [],
        problems: [{ source: "t.yaml", line, message: HELM_HINT }],
      });
    });
  }
  it("the hint says what to run", () => assert.match(HELM_HINT, /run `helm template` first/));
});

describe("template text that is a string is left alone", () => {
  const strings: [string, string][] = [
    ["quoted", 'kind: ConfigMap\nmetadata:\n  name: t\ndata:\n  a: "{{ .Labels.alertname }}"\n'],
    [
      "a block scalar",
      'kind: ConfigMap\nmetadata:\n  name: t\ndata:\n  tmpl: |\n    {{ define "x" }}\n    {{ end }}\n',
    ],
    ["a comment", "# {{ .Values.x }}\nkind: ConfigMap\nmetadata:\n  name: t\n"],
  ];
  for (const [name, text] of strings) {
    it(name, () => {
      const r = parse(text);
      assert.deepEqual(r.problems, []);
      assert.equal(r.objects.length, 1);
    });
  }
});
