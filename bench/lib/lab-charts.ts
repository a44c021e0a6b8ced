// Charts of the lab benchmark (bench/lab-upstream.ts), drawn by vega-lite rendered headless to
// SVG: time by endpoints (create, delete; this project beside upstream's published figures) and
// nft rules by Service. Run alone, it redraws them from bench/results/lab-upstream.json.
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import * as vega from "vega";
import * as vegaLite from "vega-lite";

export interface LabBenchResults {
  environment: Record<string, string>;
  runs: number;
  sizes: {
    endpoints: number;
    create: { median: number; p90: number };
    delete: { median: number; p90: number };
    createFromApiWrite: { median: number; p90: number };
    apiWriteToSlice?: { median: number; p90: number };
    rulesPerService: number;
  }[];
  podReadyToTraffic: { runs: number; median: number; p90: number };
  podReadyToSlice?: { median: number; p90: number };
  podReadyToKernel?: { median: number; p90: number };
}

/** SPEC §7: upstream's published medians (single-node minikube), ms. */
export const UPSTREAM: Record<
  number,
  { create: number; delete: number; kubeProxyCreate: number; kubeProxyDelete: number }
> = {
  10: { create: 33, delete: 10, kubeProxyCreate: 138, kubeProxyDelete: 941 },
  50: { create: 9, delete: 10, kubeProxyCreate: 152, kubeProxyDelete: 967 },
  100: { create: 36, delete: 10, kubeProxyCreate: 190, kubeProxyDelete: 1007 },
};

export const RESULTS_DIR = path.join(path.dirname(new URL(import.meta.url).pathname), "..", "results");

async function svg(spec: vegaLite.TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: "none" });
  return view.toSVG();
}

/** Bars by Service size, one beside the other for each series (the charts' one shape). */
function groupedBars(
  title: { text: string; subtitle: string },
  rows: Record<string, unknown>[],
  series: string[],
  y: { field: string; type: "quantitative"; title: string },
): vegaLite.TopLevelSpec {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    width: 420,
    height: 260,
    data: { values: rows },
    mark: { type: "bar", tooltip: true },
    encoding: {
      x: {
        field: "endpoints",
        type: "ordinal",
        title: "endpoints in the Service",
        sort: ["10", "50", "100"],
        axis: { labelAngle: 0 },
      },
      xOffset: { field: "series", sort: series },
      y,
      color: {
        field: "series",
        type: "nominal",
        sort: series,
        legend: { orient: "bottom", title: null, columns: 1, labelLimit: 400 },
      },
    },
    background: "white",
  };
}

const SERIES = [
  "kube-nftlb (this project, median)",
  "upstream kube-nftlb (median)",
  "kube-proxy iptables (median)",
];

function timeChart(r: LabBenchResults, op: "create" | "delete"): vegaLite.TopLevelSpec {
  const rows = r.sizes.flatMap((s) => {
    const u = UPSTREAM[s.endpoints];
    return [
      { endpoints: String(s.endpoints), series: SERIES[0], ms: s[op].median, p90: s[op].p90 },
      ...(u
        ? [
            { endpoints: String(s.endpoints), series: SERIES[1], ms: op === "create" ? u.create : u.delete },
            {
              endpoints: String(s.endpoints),
              series: SERIES[2],
              ms: op === "create" ? u.kubeProxyCreate : u.kubeProxyDelete,
            },
          ]
        : []),
    ];
  });
  return groupedBars(
    {
      text: `Time from kubectl ${op === "create" ? "apply" : "delete"} returning until the rules are in the kernel`,
      subtitle: `${r.runs} runs per size; upstream and kube-proxy: upstream's published figures (minikube, other hardware)`,
    },
    rows,
    SERIES,
    { field: "ms", type: "quantitative", title: "median time (ms)" },
  );
}

function rulesChart(r: LabBenchResults): vegaLite.TopLevelSpec {
  const series = ["kube-nftlb (measured in nftlb's table)", "kube-proxy iptables (3N+1)"];
  const rows = r.sizes.flatMap((s) => [
    { endpoints: String(s.endpoints), series: series[0], rules: s.rulesPerService },
    { endpoints: String(s.endpoints), series: series[1], rules: 3 * s.endpoints + 1 },
  ]);
  return groupedBars(
    { text: "nft rules per Service (one port)", subtitle: "nftlb: 2 rules per farm whatever the endpoints" },
    rows,
    series,
    { field: "rules", type: "quantitative", title: "rules" },
  );
}

/** Writes the three SVGs and returns their paths. */
export async function drawCharts(r: LabBenchResults, dir = RESULTS_DIR): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const out: [string, vegaLite.TopLevelSpec][] = [
    ["lab-time-create-service.svg", timeChart(r, "create")],
    ["lab-time-delete-service.svg", timeChart(r, "delete")],
    ["lab-rules-by-service.svg", rulesChart(r)],
  ];
  const written: string[] = [];
  for (const [name, spec] of out) {
    const file = path.join(dir, name);
    writeFileSync(file, await svg(spec));
    written.push(file);
  }
  return written;
}

if (import.meta.main) {
  const file = path.join(RESULTS_DIR, "lab-upstream.json");
  let results: LabBenchResults;
  try {
    results = JSON.parse(readFileSync(file, "utf8")) as LabBenchResults;
  } catch (err) {
    console.log(`no results to draw (${(err as Error).message}); run: npm run bench -- lab-upstream`);
    process.exit(0);
  }
  for (const f of await drawCharts(results)) console.log(`wrote ${path.relative(process.cwd(), f)}`);
}
