import { useEffect, useState } from "preact/hooks";
import { api, qs } from "../api";
import { ErrorBox, Link } from "../ctx";
import { HBars, PriorityStrip, StackedBars } from "../components/charts";
import type { Stats } from "../types";
import { PRIORITIES, normPriority, priorityColor, sortedEntries } from "../util";

const WINDOWS = [
  { key: "24h", label: "24 hours", ms: 24 * 3600e3, bucket: "1h", bucketMs: 3600e3 },
  { key: "7d", label: "7 days", ms: 7 * 24 * 3600e3, bucket: "6h", bucketMs: 6 * 3600e3 },
  { key: "30d", label: "30 days", ms: 30 * 24 * 3600e3, bucket: "24h", bucketMs: 24 * 3600e3 },
];

/** GROUPS fold the eight priorities into the four summary cards. */
const GROUPS = [
  { label: "Critical and above", prios: ["Emergency", "Alert", "Critical"], color: priorityColor("Critical"), min: "Critical" },
  { label: "Error", prios: ["Error"], color: priorityColor("Error"), min: "Error" },
  { label: "Warning", prios: ["Warning"], color: priorityColor("Warning"), min: "Warning" },
  { label: "Notice and below", prios: ["Notice", "Informational", "Debug"], color: priorityColor("Informational"), min: "" },
];

export function Dashboard() {
  const [win, setWin] = useState(WINDOWS[0]);
  const [stats, setStats] = useState<Stats | null>(null);
  const [error, setError] = useState("");
  const [loadedAt, setLoadedAt] = useState(Date.now());

  useEffect(() => {
    let stop = false;
    const load = () => {
      const until = new Date(Math.ceil(Date.now() / win.bucketMs) * win.bucketMs);
      const since = new Date(until.getTime() - win.ms);
      api
        .get<Stats>("/api/v1/stats" + qs({ since: since.toISOString(), until: until.toISOString(), bucket: win.bucket }))
        .then((s) => {
          if (stop) return;
          setLoadedAt(until.getTime());
          setStats(s);
          setError("");
        })
        .catch((e) => !stop && setError(e.message));
    };
    load();
    const t = setInterval(load, 30000);
    return () => {
      stop = true;
      clearInterval(t);
    };
  }, [win]);

  const byPrio: Record<string, number> = {};
  for (const [k, v] of Object.entries(stats?.by_priority ?? {})) byPrio[normPriority(k)] = (byPrio[normPriority(k)] ?? 0) + v;
  const series = stats ? bucketGrid(stats, win.ms, win.bucketMs, loadedAt) : [];
  const range = win.key === "24h" ? "24h" : win.key;

  return (
    <div class="page dashboard">
      <div class="page-head">
        <h1>Overview</h1>
        <div class="seg" role="group" aria-label="Time window">
          {WINDOWS.map((w) => (
            <button class={w.key === win.key ? "seg-btn active" : "seg-btn"} onClick={() => setWin(w)}>
              {w.label}
            </button>
          ))}
        </div>
      </div>
      <ErrorBox error={error} />
      <div class="cards">
        <Link href={`/alerts${qs({ range: range === "24h" ? "" : range })}`} class="card stat">
          <div class="stat-label">Alerts</div>
          <div class="stat-value" data-testid="total">{stats ? stats.total : "…"}</div>
          <PriorityStrip counts={byPrio} />
        </Link>
        {GROUPS.map((g) => (
          <Link href={`/alerts${qs({ range: range === "24h" ? "" : range, min_priority: g.min })}`} class="card stat">
            <div class="stat-label">
              <span class="swatch" style={{ background: g.color }} />
              {g.label}
            </div>
            <div class="stat-value">{stats ? g.prios.reduce((a, p) => a + (byPrio[p] ?? 0), 0) : "…"}</div>
          </Link>
        ))}
      </div>
      <section class="card">
        <div class="section-head">
          <h2>Alerts over time</h2>
          <div class="legend">
            {PRIORITIES.filter((p) => byPrio[p]).map((p) => (
              <span>
                <span class="swatch" style={{ background: priorityColor(p) }} />
                {p}
              </span>
            ))}
          </div>
        </div>
        {stats && stats.total ? <StackedBars series={series} bucketMs={win.bucketMs} /> : <p class="muted">{stats ? "No alerts in this window." : "Loading…"}</p>}
      </section>
      <div class="two-col">
        <section class="card">
          <h2>Top rules</h2>
          <HBars rows={sortedEntries(stats?.by_rule).slice(0, 10)} color="#2b5a8f" href={(k) => `/alerts${qs({ range, rule: k })}`} empty="No alerts." />
        </section>
        <section class="card">
          <h2>Top namespaces</h2>
          <HBars rows={sortedEntries(stats?.by_namespace).filter(([k]) => k !== "").slice(0, 10)} color="#4a9d8f" href={(k) => `/alerts${qs({ range, namespace: k })}`} empty="No namespaced alerts." />
        </section>
      </div>
    </div>
  );
}

/**
 * bucketGrid lays the API's series (which may leave out empty buckets) on
 * the full grid of buckets of the window ending at until, merging priority
 * spellings.
 */
export function bucketGrid(stats: Stats, windowMs: number, bucketMs: number, until: number) {
  const since = until - windowMs;
  const n = Math.round(windowMs / bucketMs);
  const grid = Array.from({ length: n }, (_, i) => ({ time: new Date(since + i * bucketMs).toISOString(), by_priority: {} as Record<string, number> }));
  for (const s of stats.series ?? []) {
    const i = Math.floor((new Date(s.time).getTime() - since) / bucketMs);
    if (i < 0 || i >= n) continue;
    for (const [k, v] of Object.entries(s.by_priority ?? {})) {
      const p = normPriority(k);
      grid[i].by_priority[p] = (grid[i].by_priority[p] ?? 0) + v;
    }
  }
  return grid;
}
