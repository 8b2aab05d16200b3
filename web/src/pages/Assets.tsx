import { useEffect, useState } from "preact/hooks";
import { api, qs } from "../api";
import { ErrorBox, Link } from "../ctx";
import { navigate } from "../router";
import type { Asset, AssetKind, Page } from "../types";
import { fmtAgo, fmtTime, shortId } from "../util";

const KINDS: { kind: AssetKind; label: string; one: string }[] = [
  { kind: "hosts", label: "Hosts", one: "host" },
  { kind: "containers", label: "Containers", one: "container" },
  { kind: "images", label: "Images", one: "image" },
  { kind: "pods", label: "Pods", one: "pod" },
];

/** alertsLink returns the alert list filtered on an asset. */
function alertsLink(kind: AssetKind, a: Asset): string {
  const attr = (k: string) => (typeof a.attributes?.[k] === "string" ? (a.attributes![k] as string) : "");
  switch (kind) {
    case "containers":
      return "/alerts" + qs({ range: "all", container: a.id });
    case "pods":
      return "/alerts" + qs({ range: "all", pod: a.name, namespace: attr("namespace") });
    case "images":
      return "/alerts" + qs({ range: "all", q: a.name });
    default:
      return "/alerts" + qs({ range: "all", q: a.name });
  }
}

function attrText(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "string") return v;
  return JSON.stringify(v);
}

export function Assets({ kind, id }: { kind: AssetKind; id?: string }) {
  const [items, setItems] = useState<Asset[] | null>(null);
  const [error, setError] = useState("");
  const [filter, setFilter] = useState("");
  const [sel, setSel] = useState<Asset | null>(null);
  const meta = KINDS.find((k) => k.kind === kind)!;

  useEffect(() => {
    const ac = new AbortController();
    setItems(null);
    setError("");
    setFilter("");
    api
      .get<Page<Asset>>(`/api/v1/assets/${kind}`, ac.signal)
      .then((p) => setItems(p.items ?? []))
      .catch((e) => e.name !== "AbortError" && setError(e.message));
    return () => ac.abort();
  }, [kind]);

  useEffect(() => {
    if (!id) {
      setSel(null);
      return;
    }
    const ac = new AbortController();
    api
      .get<Asset>(`/api/v1/assets/${kind}/${encodeURIComponent(id)}`, ac.signal)
      .then(setSel)
      .catch((e) => e.name !== "AbortError" && setError(e.status === 404 ? `No ${meta.one} ${id}.` : e.message));
    return () => ac.abort();
  }, [kind, id]);

  const f = filter.toLowerCase();
  const shown = (items ?? []).filter(
    (a) => !f || a.name.toLowerCase().includes(f) || a.id.toLowerCase().includes(f) || Object.values(a.attributes ?? {}).some((v) => attrText(v).toLowerCase().includes(f)),
  );
  const attrKeys = Array.from(new Set((items ?? []).flatMap((a) => Object.keys(a.attributes ?? {})))).slice(0, 3);

  return (
    <div class="page">
      <div class="page-head">
        <div class="tabs" role="tablist">
          {KINDS.map((k) => (
            <Link href={`/assets/${k.kind}`} class={k.kind === kind ? "tab active" : "tab"}>
              {k.label}
            </Link>
          ))}
        </div>
        <input class="asset-filter" placeholder={`Filter ${meta.label.toLowerCase()}…`} value={filter} onInput={(e) => setFilter(e.currentTarget.value)} />
      </div>
      <ErrorBox error={error} />
      <div class={sel ? "assets-split" : ""}>
        <div class="card table-card">
          <table class="table">
            <thead>
              <tr>
                <th>Name</th>
                {attrKeys.map((k) => (
                  <th>{k}</th>
                ))}
                <th class="col-time">Last seen</th>
                <th class="num">Alerts</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((a) => (
                <tr class={sel?.id === a.id ? "row-link selected" : "row-link"} onClick={() => navigate(`/assets/${kind}/${encodeURIComponent(a.id)}`)}>
                  <td>
                    <div class="asset-name">{a.name || shortId(a.id)}</div>
                    {a.name !== a.id && <div class="muted small mono">{shortId(a.id, 24)}</div>}
                  </td>
                  {attrKeys.map((k) => (
                    <td class="ellipsis-cell" title={attrText(a.attributes?.[k])}>
                      {attrText(a.attributes?.[k])}
                    </td>
                  ))}
                  <td class="col-time" title={a.last_seen}>
                    {fmtAgo(a.last_seen)}
                  </td>
                  <td class="num">{a.alerts ? <span class="alert-count">{a.alerts}</span> : <span class="muted">0</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {items === null && !error && <div class="empty muted">Loading…</div>}
          {items !== null && shown.length === 0 && <div class="empty muted">{items.length ? "Nothing matches the filter." : `No ${meta.label.toLowerCase()} seen yet.`}</div>}
        </div>
        {sel && (
          <aside class="card asset-detail">
            <div class="section-head">
              <h2>{sel.name || shortId(sel.id)}</h2>
              <Link href={`/assets/${kind}`} class="btn btn-ghost btn-small" title="Close">
                ×
              </Link>
            </div>
            <dl class="facts">
              <dt>ID</dt>
              <dd class="mono break">{sel.id}</dd>
              <dt>First seen</dt>
              <dd>{fmtTime(sel.first_seen)}</dd>
              <dt>Last seen</dt>
              <dd>{fmtTime(sel.last_seen)}</dd>
              {Object.entries(sel.attributes ?? {})
                .sort()
                .map(([k, v]) => (
                  <>
                    <dt>{k}</dt>
                    <dd class="break">{attrText(v)}</dd>
                  </>
                ))}
            </dl>
            <Link href={alertsLink(kind, sel)} class="btn">
              {sel.alerts} alert{sel.alerts === 1 ? "" : "s"} →
            </Link>
          </aside>
        )}
      </div>
    </div>
  );
}
