// Types of the Vigil HTTP API v1 (docs/api.md, the API contract).

export type Role = "admin" | "viewer";

export interface Session {
  user: string;
  role: Role;
  csrf_token: string;
}

export type Status = "open" | "acknowledged" | "resolved";

export interface Alert {
  id: number;
  time: string;
  rule: string;
  priority: string;
  source: string;
  output: string;
  output_fields: Record<string, unknown> | null;
  tags: string[] | null;
  hostname: string;
  container: string;
  image: string;
  namespace: string;
  pod: string;
  node: string;
  status: Status;
  note: string;
  count: number;
}

export interface Proc {
  pid: number;
  ppid: number;
  exe: string;
  cmdline: string;
  user: string;
  uid: number;
  start_time: string;
  container_id: string;
}

export interface Provenance {
  process: Proc;
  ancestors: Proc[] | null;
  children: Proc[] | null;
}

export interface ContainerInfo {
  id: string;
  name: string;
  image: string;
  image_digest: string;
  runtime: string;
  labels: Record<string, string> | null;
  privileged: boolean;
  pod: { name: string; namespace: string; uid: string; labels: Record<string, string> | null } | null;
}

export interface Mitre {
  id: string;
  name: string;
  tactic: string;
}

export interface TimelineEntry {
  time: string;
  kind: "alert" | "status" | "note" | "action" | string;
  actor: string;
  text: string;
}

export interface AlertDetail extends Alert {
  provenance: Provenance | null;
  container_info: ContainerInfo | null;
  mitre: Mitre[] | null;
  timeline: TimelineEntry[] | null;
}

export interface Page<T> {
  items: T[] | null;
  next_cursor?: string | null;
}

export interface Stats {
  total: number;
  by_priority: Record<string, number> | null;
  by_rule: Record<string, number> | null;
  by_namespace: Record<string, number> | null;
  series: { time: string; by_priority: Record<string, number> | null }[] | null;
}

export type AssetKind = "hosts" | "containers" | "images" | "pods";

export interface Asset {
  id: string;
  name: string;
  kind: string;
  first_seen: string;
  last_seen: string;
  attributes: Record<string, unknown> | null;
  alerts: number;
}

export interface Health {
  status: string;
  version: string;
  sources: Record<string, string> | null;
  store: string;
}
