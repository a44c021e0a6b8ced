// An unrendered Helm template is not a manifest: `{{ .Values.port }}` reads to YAML as a flow
// mapping holding a flow mapping (or breaks the parse), so lint used to answer with a schema
// error about an "object" where a number belongs, plus Node's warning about collection keys, and
// no word of Helm. This finds the signature so the user is told to render the chart first.
import { isMap, visit, type Document, type LineCounter } from "yaml";

export const HELM_HINT =
  "this is an unrendered Helm template ({{ … }}), not a manifest: run `helm template` first and " +
  "check what it prints, e.g. helm template RELEASE CHART | kube-nftlb lint -";

/** The line of the document's first Go template action where YAML sees one, or undefined. */
export function helmTemplateLine(doc: Document.Parsed, text: string, lines: LineCounter): number | undefined {
  let at: number | undefined;
  // `{{ x }}` is a flow map whose first entry is a flow map: its source starts with "{{".
  visit(doc, {
    Map(_key, node) {
      const start = node.range?.[0];
      if (isMap(node) && node.flow === true && start !== undefined && text.startsWith("{{", start)) {
        at = start;
        return visit.BREAK;
      }
      return undefined;
    },
  });
  if (at !== undefined) return lines.linePos(at).line;
  // Forms YAML cannot parse at all (`{{- include … | nindent 4 }}`, `name: {{ x }}-web`).
  for (const err of doc.errors) {
    const line = lines.linePos(err.pos[0]).line;
    const start = lines.lineStarts[line - 1] ?? 0;
    const end = lines.lineStarts[line] ?? text.length;
    if (text.slice(start, end).includes("{{")) return line;
  }
  return undefined;
}
