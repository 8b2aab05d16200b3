// Shared context and small components used by every page.
import { createContext } from "preact";
import type { ComponentChildren } from "preact";
import { useContext } from "preact/hooks";
import { onLinkClick } from "./router";
import type { Session } from "./types";
import { normPriority, priorityColor } from "./util";

export const SessionContext = createContext<Session | null>(null);

/** useSession returns the logged-in user; pages render only when there is one. */
export function useSession(): Session {
  return useContext(SessionContext)!;
}

/** Link is an <a> that navigates inside the console. */
export function Link(props: { href: string; class?: string; children: ComponentChildren; title?: string }) {
  return (
    <a href={props.href} class={props.class} title={props.title} onClick={onLinkClick}>
      {props.children}
    </a>
  );
}

/** PriorityBadge shows a Falco priority with its colour. */
export function PriorityBadge({ p }: { p: string }) {
  const n = normPriority(p);
  return (
    <span class="prio" style={{ "--c": priorityColor(n) }}>
      {n}
    </span>
  );
}

/** StatusBadge shows a triage status. */
export function StatusBadge({ s }: { s: string }) {
  return <span class={`status status-${s}`}>{s}</span>;
}

/** ErrorBox shows an API error. */
export function ErrorBox({ error }: { error: string }) {
  if (!error) return null;
  return (
    <div class="error" role="alert">
      {error}
    </div>
  );
}
