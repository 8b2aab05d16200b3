// Formatting helpers and the Falco priority scale.

/** PRIORITIES lists Falco priorities from most to least severe. */
export const PRIORITIES = ["Emergency", "Alert", "Critical", "Error", "Warning", "Notice", "Informational", "Debug"];

const PRIORITY_COLORS: Record<string, string> = {
  Emergency: "#7a0b1d",
  Alert: "#9d1329",
  Critical: "#c81e3a",
  Error: "#e5533d",
  Warning: "#f0962e",
  Notice: "#d9b81f",
  Informational: "#3c82d0",
  Debug: "#8a94a6",
};

/** normPriority maps "info", "WARNING"… to the canonical spelling. */
export function normPriority(p: string): string {
  const l = (p || "").toLowerCase();
  if (l === "info") return "Informational";
  return PRIORITIES.find((x) => x.toLowerCase() === l) ?? p;
}

export function priorityColor(p: string): string {
  return PRIORITY_COLORS[normPriority(p)] ?? "#8a94a6";
}

export function priorityRank(p: string): number {
  const i = PRIORITIES.indexOf(normPriority(p));
  return i < 0 ? PRIORITIES.length : i;
}

const pad = (n: number) => String(n).padStart(2, "0");

/** fmtTime shows an RFC 3339 time in local time, to the second. */
export function fmtTime(t: string | undefined | null): string {
  if (!t) return "—";
  const d = new Date(t);
  if (isNaN(d.getTime())) return t;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** fmtAgo shows how long ago t was, coarsely ("5m ago"). */
export function fmtAgo(t: string | undefined | null, now = Date.now()): string {
  if (!t) return "";
  const d = new Date(t).getTime();
  if (isNaN(d)) return "";
  const s = Math.round((now - d) / 1000);
  if (s < 0) return "in the future";
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

/** shortId shortens a container id or digest for tables. */
export function shortId(id: string | undefined | null, n = 12): string {
  if (!id) return "";
  const s = id.replace(/^sha256:/, "");
  return s.length > n ? s.slice(0, n) : s;
}

/** basename returns the last path element of an executable path. */
export function basename(p: string): string {
  const i = p.lastIndexOf("/");
  return i >= 0 ? p.slice(i + 1) : p;
}

/** RANGES are the time ranges offered by the filters, in milliseconds. */
export const RANGES: { key: string; label: string; ms: number }[] = [
  { key: "15m", label: "Last 15 minutes", ms: 15 * 60e3 },
  { key: "1h", label: "Last hour", ms: 3600e3 },
  { key: "24h", label: "Last 24 hours", ms: 24 * 3600e3 },
  { key: "7d", label: "Last 7 days", ms: 7 * 24 * 3600e3 },
  { key: "30d", label: "Last 30 days", ms: 30 * 24 * 3600e3 },
  { key: "all", label: "All time", ms: 0 },
];

/** sinceFor returns the RFC 3339 start of a range key, "" for all time. */
export function sinceFor(key: string, now = Date.now()): string {
  const r = RANGES.find((x) => x.key === key);
  if (!r || !r.ms) return "";
  return new Date(now - r.ms).toISOString();
}

/** sortedEntries returns a record's entries, largest value first. */
export function sortedEntries(r: Record<string, number> | null | undefined): [string, number][] {
  return Object.entries(r ?? {}).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}
