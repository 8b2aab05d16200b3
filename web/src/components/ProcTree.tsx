import { useState } from "preact/hooks";
import type { Proc, Provenance } from "../types";

/** SHOWN_ANCESTORS is how many ancestors are drawn before "show older". */
const SHOWN_ANCESTORS = 4;
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
      <div class="proc-cmd mono" title={p.cmdline || p.exe}>
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
  const [all, setAll] = useState(false);
  const ancestors = prov.ancestors ?? []; // the API lists the parent first
  const hidden = all ? 0 : Math.max(0, ancestors.length - SHOWN_ANCESTORS);
  const chain = ancestors.slice(0, ancestors.length - hidden).reverse();
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
      {hidden > 0 && (
        <button class="btn btn-small more-ancestors" onClick={() => setAll(true)}>
          Show {hidden} older ancestor{hidden > 1 ? "s" : ""}
        </button>
      )}
      <ul class="tree-root">{build(0)}</ul>
    </div>
  );
}
