import { useEffect, useState } from "preact/hooks";
import { api } from "../api";
import { ErrorBox, Link, PriorityBadge, StatusBadge, useSession } from "../ctx";
import { ProcTree } from "../components/ProcTree";
import type { Alert, AlertDetail, Status } from "../types";
import { qs } from "../api";
import { fmtAgo, fmtTime } from "../util";

export function AlertDetailPage({ id }: { id: number }) {
  const session = useSession();
  const [a, setA] = useState<AlertDetail | null>(null);
  const [error, setError] = useState("");
  const [reload, setReload] = useState(0);

  useEffect(() => {
    const ac = new AbortController();
    setError("");
    api
      .get<AlertDetail>(`/api/v1/alerts/${id}`, ac.signal)
      .then(setA)
      .catch((e) => e.name !== "AbortError" && setError(e.status === 404 ? `Alert ${id} does not exist.` : e.message));
    return () => ac.abort();
  }, [id, reload]);

  if (error && !a)
    return (
      <div class="page">
        <Back />
        <ErrorBox error={error} />
      </div>
    );
  if (!a) return <div class="page muted">Loading alert {id}…</div>;

  const facts: [string, preact.ComponentChildren][] = [];
  const ci = a.container_info;
  const add = (k: string, v: preact.ComponentChildren) => v !== undefined && v !== null && v !== "" && facts.push([k, v]);
  add("Source", a.source);
  if (!a.provenance) add("Process", <span class="muted">{a.source === "k8s_audit" ? "none: a Kubernetes API request" : "not recorded by the source"}</span>);
  add("Host", a.hostname);
  add("Node", a.node && <Link href={`/assets/hosts/${encodeURIComponent(a.node)}`}>{a.node}</Link>);
  add("Namespace", a.namespace && <Link href={`/alerts${qs({ namespace: a.namespace })}`}>{a.namespace}</Link>);
  add("Pod", ci?.pod?.name || a.pod);
  add("Pod UID", ci?.pod?.uid && <span class="mono">{ci.pod.uid}</span>);
  add("Container", (ci?.id || a.container) && <Link href={`/assets/containers/${encodeURIComponent(ci?.id || a.container)}`} class="mono">{ci?.name ? `${ci.name} (${(ci.id || a.container).slice(0, 12)})` : (ci?.id || a.container).slice(0, 12)}</Link>);
  add("Image", ci?.image || a.image);
  add("Image digest", ci?.image_digest && <span class="mono break">{ci.image_digest}</span>);
  add("Runtime", ci?.runtime);
  if (ci) add("Privileged", ci.privileged ? <span class="warn-text">yes</span> : "no");

  return (
    <div class="page detail">
      <Back />
      <div class="detail-head card">
        <div class="detail-title">
          <PriorityBadge p={a.priority} />
          <h1>{a.rule}</h1>
          <StatusBadge s={a.status} />
        </div>
        <div class="detail-meta muted">
          Alert #{a.id} · {fmtTime(a.time)} ({fmtAgo(a.time)}) · {a.source}
          {a.count > 1 ? ` · ${a.count} occurrences` : ""}
        </div>
        <p class="detail-output">{a.output}</p>
        {(a.tags ?? []).length > 0 && (
          <div class="tags">
            {(a.tags ?? []).map((t) => (
              <span class="tag">{t}</span>
            ))}
          </div>
        )}
      </div>

      <div class="detail-grid">
        <div class="detail-col">
          {a.provenance && (
            <section class="card">
              <h2>Process tree</h2>
              <ProcTree prov={a.provenance} />
            </section>
          )}
          <section class="card">
            <h2>
              Event fields <span class="muted small">(output_fields)</span>
            </h2>
            <RawJSON value={a.output_fields ?? {}} />
          </section>
        </div>
        <div class="detail-col">
          <section class="card">
            <h2>Context</h2>
            <dl class="facts">
              {facts.map(([k, v]) => (
                <>
                  <dt>{k}</dt>
                  <dd>{v}</dd>
                </>
              ))}
            </dl>
            {ci?.labels && Object.keys(ci.labels).length > 0 && <Labels title="Container labels" labels={ci.labels} />}
            {ci?.pod?.labels && Object.keys(ci.pod.labels).length > 0 && <Labels title="Pod labels" labels={ci.pod.labels} />}
          </section>
          <section class="card">
            <h2>MITRE ATT&amp;CK</h2>
            {(a.mitre ?? []).length ? (
              <ul class="mitre">
                {(a.mitre ?? []).map((m) => (
                  <li>
                    <a class="mitre-id mono" href={`https://attack.mitre.org/techniques/${m.id.replace(".", "/")}/`} target="_blank" rel="noopener noreferrer">
                      {m.id}
                    </a>
                    <span class="mitre-name">{m.name}</span>
                    {m.tactic && <span class="tactic">{m.tactic}</span>}
                  </li>
                ))}
              </ul>
            ) : (
              <p class="muted">No technique tagged on this rule.</p>
            )}
          </section>
          <section class="card">
            <h2>Triage</h2>
            {session.role === "admin" ? (
              <Triage alert={a} onChange={() => setReload((r) => r + 1)} />
            ) : (
              <p class="muted">Viewers cannot change alerts.</p>
            )}
            {a.note && (
              <p class="note">
                <span class="muted">Last note:</span> {a.note}
              </p>
            )}
          </section>
          {session.role === "admin" && (a.container || a.provenance) && (
            <section class="card">
              <h2>Response</h2>
              <Respond alert={a} onChange={() => setReload((r) => r + 1)} />
            </section>
          )}
          <section class="card">
            <h2>Timeline</h2>
            <ol class="timeline">
              {(a.timeline ?? []).map((e) => (
                <li class={`tl-${e.kind}`}>
                  <div class="tl-time muted small" title={e.time}>
                    {fmtTime(e.time)}
                    {e.actor ? ` · ${e.actor}` : ""}
                  </div>
                  <div class="tl-text">{e.text}</div>
                </li>
              ))}
            </ol>
          </section>
        </div>
      </div>
    </div>
  );
}

function Back() {
  return (
    <div class="back">
      <a
        href="/alerts"
        onClick={(e) => {
          if (history.length > 1 && document.referrer === "" && !e.ctrlKey && !e.metaKey) {
            e.preventDefault();
            history.back();
          }
        }}
      >
        ← Alerts
      </a>
    </div>
  );
}

function Labels({ title, labels }: { title: string; labels: Record<string, string> }) {
  return (
    <div class="labels">
      <div class="muted small">{title}</div>
      {Object.entries(labels)
        .sort()
        .map(([k, v]) => (
          <span class="tag mono">
            {k}={v}
          </span>
        ))}
    </div>
  );
}

function RawJSON({ value }: { value: unknown }) {
  const text = JSON.stringify(value, null, 2);
  const [copied, setCopied] = useState(false);
  return (
    <div class="raw">
      <button
        class="btn btn-small"
        onClick={() =>
          navigator.clipboard?.writeText(text).then(
            () => {
              setCopied(true);
              setTimeout(() => setCopied(false), 1500);
            },
            () => {},
          )
        }
      >
        {copied ? "Copied" : "Copy"}
      </button>
      <pre class="mono">{text}</pre>
    </div>
  );
}

// Containment actions on the alert's container or process (POST
// /api/v1/alerts/{id}/actions); each asks for confirmation and lands in
// the timeline with the user.
const actions: { action: string; label: string; danger?: boolean; host?: boolean }[] = [
  { action: "capture", label: "Capture evidence", host: true },
  { action: "pause", label: "Pause" },
  { action: "unpause", label: "Unpause" },
  { action: "isolate", label: "Isolate network", danger: true },
  { action: "unisolate", label: "Restore network" },
  { action: "stop", label: "Stop container", danger: true },
  { action: "kill-process", label: "Kill process", danger: true, host: true },
];

function Respond({ alert, onChange }: { alert: AlertDetail; onChange: () => void }) {
  const [busy, setBusy] = useState("");
  const [error, setError] = useState("");
  const [done, setDone] = useState("");
  const inContainer = !!alert.container && alert.container !== "host";
  const run = async (action: string, label: string) => {
    const target = inContainer ? `container ${alert.container}` : `process ${alert.provenance?.process.pid ?? ""}`;
    if (!window.confirm(`${label}: ${target}?\nThis acts on the live system and is recorded in the audit log.`)) return;
    setBusy(action);
    setError("");
    setDone("");
    try {
      await api.post(`/api/v1/alerts/${alert.id}/actions`, { action, confirm: true });
      setDone(`${label}: done`);
      onChange();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy("");
    }
  };
  return (
    <div class="triage">
      <div class="triage-actions">
        {actions
          .filter((x) => inContainer || x.host)
          .map((x) => (
            <button class={x.danger ? "btn btn-danger" : "btn"} disabled={!!busy} onClick={() => run(x.action, x.label)}>
              {busy === x.action ? "…" : x.label}
            </button>
          ))}
      </div>
      {done && <p class="muted small">{done}</p>}
      <ErrorBox error={error} />
    </div>
  );
}

function Triage({ alert, onChange }: { alert: Alert; onChange: () => void }) {
  const [note, setNote] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const run = async (f: () => Promise<unknown>) => {
    setBusy(true);
    setError("");
    try {
      await f();
      setNote("");
      onChange();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const setStatus = (status: Status) => run(() => api.post(`/api/v1/alerts/${alert.id}/status`, { status, note }));
  return (
    <div class="triage">
      <textarea name="note" placeholder="Note (optional for a status change)" value={note} onInput={(e) => setNote(e.currentTarget.value)} rows={2} />
      <div class="triage-actions">
        {alert.status !== "acknowledged" && (
          <button class="btn" disabled={busy} onClick={() => setStatus("acknowledged")}>
            Acknowledge
          </button>
        )}
        {alert.status !== "resolved" && (
          <button class="btn btn-primary" disabled={busy} onClick={() => setStatus("resolved")}>
            Resolve
          </button>
        )}
        {alert.status !== "open" && (
          <button class="btn" disabled={busy} onClick={() => setStatus("open")}>
            Reopen
          </button>
        )}
        <button class="btn btn-ghost" disabled={busy || !note.trim()} onClick={() => run(() => api.post(`/api/v1/alerts/${alert.id}/notes`, { text: note.trim() }))}>
          Add note
        </button>
      </div>
      <ErrorBox error={error} />
    </div>
  );
}
