import { useEffect, useRef, useState } from "preact/hooks";
import { api, qs } from "../api";
import { ErrorBox, Link, PriorityBadge, StatusBadge } from "../ctx";
import { navigate, useLocation } from "../router";
import type { Alert, Page, Stats } from "../types";
import { PRIORITIES, RANGES, fmtAgo, fmtTime, priorityRank, shortId, sinceFor } from "../util";

const PAGE_SIZE = 50;

/** The filters of the alert list, kept in the URL query. */
interface Filters {
  range: string;
  min_priority: string;
  rule: string;
  namespace: string;
  container: string;
  pod: string;
  status: string;
  q: string;
}

const FILTER_KEYS: (keyof Filters)[] = ["range", "min_priority", "rule", "namespace", "container", "pod", "status", "q"];

function readFilters(q: URLSearchParams): Filters {
  const f = {} as Filters;
  for (const k of FILTER_KEYS) f[k] = q.get(k) ?? "";
  if (!q.has("range")) f.range = "24h";
  return f;
}

function filtersQuery(f: Filters): string {
  const p: Record<string, string> = {};
  for (const k of FILTER_KEYS) if (f[k]) p[k] = f[k];
  if (f.range === "24h") delete p.range;
  return qs(p);
}

/** matches tells whether a live alert passes the filters (the server's rules, applied locally). */
export function matches(a: Alert, f: Filters): boolean {
  if (f.min_priority && priorityRank(a.priority) > priorityRank(f.min_priority)) return false;
  if (f.rule && a.rule !== f.rule) return false;
  if (f.namespace && a.namespace !== f.namespace) return false;
  if (f.container && a.container !== f.container) return false;
  if (f.pod && a.pod !== f.pod) return false;
  if (f.status && a.status !== f.status) return false;
  if (f.q) {
    const q = f.q.toLowerCase();
    if (!a.rule.toLowerCase().includes(q) && !a.output.toLowerCase().includes(q)) return false;
  }
  return true;
}

type Live = "connecting" | "live" | "down";

export function Alerts() {
  const { query } = useLocation();
  const filters = readFilters(query);
  const key = filtersQuery(filters);

  const [items, setItems] = useState<Alert[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [cursors, setCursors] = useState<string[]>([""]); // cursor of each page visited
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState("");
  const [fresh, setFresh] = useState<Set<number>>(new Set());
  const [pending, setPending] = useState(0);
  const [live, setLive] = useState<Live>("connecting");
  const [reload, setReload] = useState(0);
  const [names, setNames] = useState<{ rules: string[]; namespaces: string[] }>({ rules: [], namespaces: [] });
  const page = cursors.length - 1;

  // Load a page whenever the filters or the page change.
  useEffect(() => {
    const ac = new AbortController();
    setLoading(true);
    setError("");
    const params = {
      since: sinceFor(filters.range),
      min_priority: filters.min_priority,
      rule: filters.rule,
      namespace: filters.namespace,
      container: filters.container,
      pod: filters.pod,
      status: filters.status,
      q: filters.q,
      limit: PAGE_SIZE,
      cursor: cursors[page],
    };
    api
      .get<Page<Alert>>("/api/v1/alerts" + qs(params), ac.signal)
      .then((p) => {
        setItems(p.items ?? []);
        setNext(p.next_cursor ?? null);
        setLoading(false);
      })
      .catch((e) => {
        if (e.name === "AbortError") return;
        setError(e.message);
        setLoading(false);
      });
    return () => ac.abort();
  }, [key, cursors, reload]);

  // Reset paging when the filters change.
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    setCursors([""]);
    setPending(0);
  }, [key]);

  // Rule and namespace names for the filter suggestions.
  useEffect(() => {
    api
      .get<Stats>("/api/v1/stats" + qs({ since: sinceFor("30d") }))
      .then((s) => setNames({ rules: Object.keys(s.by_rule ?? {}).sort(), namespaces: Object.keys(s.by_namespace ?? {}).sort() }))
      .catch(() => {});
  }, []);

  // Live updates: new alerts that pass the filters are prepended on the first page.
  const state = useRef({ filters, page });
  state.current = { filters, page };
  useEffect(() => {
    let es: EventSource | null = null;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let closed = false;
    const connect = () => {
      setLive("connecting");
      es = new EventSource("/api/v1/alerts/stream");
      es.onopen = () => setLive("live");
      es.onerror = () => {
        setLive("down");
        es?.close();
        if (!closed) retry = setTimeout(connect, 5000);
      };
      es.addEventListener("alert", (ev) => {
        let a: Alert;
        try {
          a = JSON.parse((ev as MessageEvent).data);
        } catch {
          return;
        }
        const { filters: f, page: pg } = state.current;
        if (!matches(a, f)) return;
        if (pg !== 0) {
          setPending((n) => n + 1);
          return;
        }
        setItems((cur) => (cur.some((x) => x.id === a.id) ? cur : [a, ...cur]));
        setFresh((s) => new Set(s).add(a.id));
      });
    };
    connect();
    return () => {
      closed = true;
      clearTimeout(retry);
      es?.close();
    };
  }, []);

  const set = (patch: Partial<Filters>) => {
    navigate("/alerts" + filtersQuery({ ...filters, ...patch }));
  };

  return (
    <div class="page">
      <FilterBar filters={filters} set={set} names={names} />
      <div class="list-head">
        <div>
          <span class={`live live-${live}`} title="Live updates over Server-Sent Events">
            <span class="dot" />
            {live === "live" ? "Live" : live === "connecting" ? "Connecting…" : "Live updates unavailable, retrying"}
          </span>
          {pending > 0 && (
            <button
              class="btn btn-link"
              onClick={() => {
                setPending(0);
                setCursors([""]);
              }}
            >
              {pending} new alert{pending > 1 ? "s" : ""} — show newest
            </button>
          )}
        </div>
        <div class="pager">
          <span class="muted">
            Page {page + 1}
            {loading ? " · loading…" : ` · ${items.length} alert${items.length === 1 ? "" : "s"}`}
          </span>
          <button class="btn" disabled={page === 0 || loading} onClick={() => setCursors(cursors.slice(0, -1))}>
            ← Newer
          </button>
          <button class="btn" disabled={!next || loading} onClick={() => next && setCursors([...cursors, next])}>
            Older →
          </button>
          <button class="btn btn-ghost" title="Reload" onClick={() => setReload((r) => r + 1)}>
            ⟳
          </button>
        </div>
      </div>
      <ErrorBox error={error} />
      <div class="card table-card">
        <table class="table alerts-table">
          <thead>
            <tr>
              <th class="col-time">Time</th>
              <th class="col-prio">Priority</th>
              <th>Rule / output</th>
              <th class="col-where">Namespace / pod</th>
              <th class="col-ctr">Container</th>
              <th class="col-status">Status</th>
            </tr>
          </thead>
          <tbody>
            {items.map((a) => (
              <tr
                class={fresh.has(a.id) ? "row-link fresh" : "row-link"}
                data-alert-id={a.id}
                onClick={(e) => {
                  if ((e.target as HTMLElement).closest("a")) return;
                  navigate(`/alerts/${a.id}`);
                }}
              >
                <td class="col-time" title={a.time}>
                  <div>{fmtTime(a.time)}</div>
                  <div class="muted small">{fmtAgo(a.time)}</div>
                </td>
                <td class="col-prio">
                  <PriorityBadge p={a.priority} />
                </td>
                <td class="col-rule">
                  <Link href={`/alerts/${a.id}`} class="rule-name">
                    {a.rule}
                  </Link>
                  {a.count > 1 && <span class="count" title="identical alerts folded into this one">×{a.count}</span>}
                  <div class="output" title={a.output}>
                    {a.output}
                  </div>
                </td>
                <td class="col-where">
                  <div>{a.namespace || <span class="muted">—</span>}</div>
                  {a.pod && <div class="muted small ellipsis">{a.pod}</div>}
                </td>
                <td class="col-ctr">
                  <div class="mono">{shortId(a.container) || <span class="muted">host</span>}</div>
                  {a.image && <div class="muted small ellipsis" title={a.image}>{a.image}</div>}
                </td>
                <td class="col-status">
                  <StatusBadge s={a.status} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {!loading && !error && items.length === 0 && (
          <div class="empty">
            <p>No alerts match these filters.</p>
            {key && (
              <button class="btn" onClick={() => navigate("/alerts?range=all")}>
                Clear filters
              </button>
            )}
          </div>
        )}
      </div>
    </div>
  );
}

function FilterBar({
  filters,
  set,
  names,
}: {
  filters: Filters;
  set: (p: Partial<Filters>) => void;
  names: { rules: string[]; namespaces: string[] };
}) {
  // Text fields apply on Enter or when they lose focus.
  const [text, setText] = useState({ q: filters.q, rule: filters.rule, namespace: filters.namespace, container: filters.container });
  useEffect(() => {
    setText({ q: filters.q, rule: filters.rule, namespace: filters.namespace, container: filters.container });
  }, [filters.q, filters.rule, filters.namespace, filters.container]);
  const apply = (e?: Event) => {
    e?.preventDefault();
    set(text);
  };
  const textInput = (k: keyof typeof text, placeholder: string, list?: string) => (
    <input
      name={k}
      class={`f-${k}`}
      placeholder={placeholder}
      value={text[k]}
      list={list}
      onInput={(e) => setText({ ...text, [k]: e.currentTarget.value })}
      onBlur={() => text[k] !== filters[k] && apply()}
    />
  );
  const active = FILTER_KEYS.some((k) => k !== "range" && filters[k]);
  return (
    <form class="filters card" onSubmit={apply}>
      <div class="search">
        <svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true">
          <path
            fill="currentColor"
            d="M15.5 14h-.8l-.3-.3A6.5 6.5 0 1 0 9.5 16a6.5 6.5 0 0 0 4.2-1.6l.3.3v.8l5 5 1.5-1.5-5-5zm-6 0a4.5 4.5 0 1 1 0-9 4.5 4.5 0 0 1 0 9z"
          />
        </svg>
        {textInput("q", "Search rule and output…")}
      </div>
      <select name="range" value={filters.range} onChange={(e) => set({ range: e.currentTarget.value })} title="Time range">
        {RANGES.map((r) => (
          <option value={r.key}>{r.label}</option>
        ))}
      </select>
      <select name="min_priority" value={filters.min_priority} onChange={(e) => set({ min_priority: e.currentTarget.value })} title="Minimum priority">
        <option value="">Any priority</option>
        {PRIORITIES.map((p) => (
          <option value={p}>{p} or above</option>
        ))}
      </select>
      <select name="status" value={filters.status} onChange={(e) => set({ status: e.currentTarget.value })} title="Status">
        <option value="">Any status</option>
        <option value="open">Open</option>
        <option value="acknowledged">Acknowledged</option>
        <option value="resolved">Resolved</option>
      </select>
      {textInput("rule", "Rule", "rule-names")}
      {textInput("namespace", "Namespace", "ns-names")}
      {textInput("container", "Container ID")}
      <datalist id="rule-names">
        {names.rules.map((r) => (
          <option value={r} />
        ))}
      </datalist>
      <datalist id="ns-names">
        {names.namespaces.map((r) => (
          <option value={r} />
        ))}
      </datalist>
      <button class="btn btn-primary" type="submit">
        Apply
      </button>
      {active && (
        <button class="btn btn-ghost" type="button" onClick={() => navigate("/alerts" + qs({ range: filters.range === "24h" ? "" : filters.range }))}>
          Clear
        </button>
      )}
      {filters.pod && (
        <span class="chip">
          pod: {filters.pod}
          <button type="button" onClick={() => set({ pod: "" })} aria-label="remove pod filter">
            ×
          </button>
        </span>
      )}
    </form>
  );
}
