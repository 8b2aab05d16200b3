import type { Proc, Provenance } from "../types";
import { basename, fmtTime, shortId } from "../util";

function ProcNode({ p, role }: { p: Proc; role: "ancestor" | "self" | "child" }) {
  return (
    <div class={`proc proc-${role}`} data-pid={p.pid} title={p.start_time ? `started ${fmtTime(p.start_time)}` : undefined}>
      <div class="proc-head">
        <span class="proc-name">{basename(p.exe) || "?"}</span>
        <span class="proc-pid">pid {p.pid}</span>
        {p.user !== undefined && p.user !== "" && (
          <span class={p.uid === 0 ? "proc-user root" : "proc-user"}>
            {p.user}
            {p.uid !== undefined && p.uid !== null ? ` (${p.uid})` : ""}
          </span>
        )}
        {role === "self" && <span class="proc-flag">alerting process</span>}
      </div>
      <div class="proc-cmd mono" title={p.exe}>
        {p.cmdline || p.exe}
      </div>
      {p.container_id && <div class="proc-ctr muted small">container {shortId(p.container_id)}</div>}
    </div>
  );
}

/**
 * ProcTree draws the provenance of an alert as a tree: the ancestors from
 * the oldest down, the alerting process highlighted, and its children.
 */
export function ProcTree({ prov }: { prov: Provenance }) {
  const chain = [...(prov.ancestors ?? [])].reverse(); // the API lists the parent first
  const children = prov.children ?? [];
  const build = (i: number): preact.JSX.Element => {
    if (i < chain.length) {
      return (
        <li>
          <ProcNode p={chain[i]} role="ancestor" />
          <ul>{build(i + 1)}</ul>
        </li>
      );
    }
    return (
      <li>
        <ProcNode p={prov.process} role="self" />
        {children.length > 0 && (
          <ul>
            {children.map((c) => (
              <li>
                <ProcNode p={c} role="child" />
              </li>
            ))}
          </ul>
        )}
      </li>
    );
  };
  return (
    <div class="proctree">
      <ul class="tree-root">{build(0)}</ul>
    </div>
  );
}
