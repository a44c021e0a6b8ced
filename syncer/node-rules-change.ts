// A change of kube-nftlb's table as element updates, when only elements change (pure).
//
// Replacing the whole table (node-rules.ts: `delete table`, then the table again) takes its six
// base chains off their hooks and puts new ones on, and frees every chain, map and set of the old
// table after an RCU grace period. An nft run doing that in nftlb's namespace slowed nftlb's next
// answers (docs/node-rules.md, "What the table's nft runs cost nftlb"). When the chains stay the
// same, which is every change but a firewall's, the same change is a few `add element` /
// `delete element` commands in one `nft -f` transaction: the kernel still sees the old table or
// the new one, never a mix, and nothing is unhooked or re-created.
import {
  ELEMENT_LISTS,
  firewallChains,
  TABLE,
  TABLE_FAMILY,
  tableElements,
  type NodeRules,
} from "./node-rules.ts";

/**
 * The script that turns a table holding `from` into `to` by elements alone: "" when they are
 * the same table, undefined when the chains differ (a firewall came, went or changed: the whole
 * table is replaced instead). It fails (nothing applied) when the kernel's table is not `from`,
 * e.g. an element to delete is missing; the caller then replaces the table.
 */
export function renderNodeRulesChange(from: NodeRules, to: NodeRules): string | undefined {
  if (firewallChains(from).join("\n") !== firewallChains(to).join("\n")) return undefined;
  const [a, b] = [tableElements(from), tableElements(to)];
  const lines: string[] = [];
  for (const name of ELEMENT_LISTS) {
    const [was, now] = [new Set(a[name]), new Set(b[name])];
    // A key whose verdict changed is deleted and added again, in the same transaction.
    const gone = a[name].filter((e) => !now.has(e)).map((e) => e.split(" : ")[0]);
    const added = b[name].filter((e) => !was.has(e));
    const target = `${TABLE_FAMILY} ${TABLE} ${name}`;
    if (gone.length > 0) lines.push(`delete element ${target} { ${gone.join(", ")} }`);
    if (added.length > 0) lines.push(`add element ${target} { ${added.join(", ")} }`);
  }
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
}
