// SVG charts drawn by the console itself (no chart library).
import { useEffect, useRef, useState } from "preact/hooks";
import { onLinkClick } from "../router";
import { PRIORITIES, priorityColor } from "../util";

function useWidth(): [preact.RefObject<HTMLDivElement | null>, number] {
  const ref = useRef<HTMLDivElement>(null);
  const [w, setW] = useState(600);
  useEffect(() => {
    if (!ref.current) return;
    const ro = new ResizeObserver((es) => setW(Math.max(200, Math.floor(es[0].contentRect.width))));
    ro.observe(ref.current);
    return () => ro.disconnect();
  }, []);
  return [ref, w];
}

/** niceMax rounds a count up so that four grid steps are whole numbers of 1, 2 or 5 times a power of ten. */
export function niceMax(v: number): number {
  if (v <= 4) return 4;
  const raw = v / 4;
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 5, 10]) if (raw <= m * p) return Math.max(4, m * p * 4);
  return 40 * p;
}

const pad2 = (n: number) => String(n).padStart(2, "0");

function tickLabel(t: Date, spanMs: number): string {
  if (spanMs <= 2 * 86400e3) return `${pad2(t.getHours())}:${pad2(t.getMinutes())}`;
  return `${t.getMonth() + 1}/${t.getDate()}`;
}

/** StackedBars draws alert counts per time bucket, stacked by priority. */
export function StackedBars({ series, bucketMs }: { series: { time: string; by_priority: Record<string, number> | null }[]; bucketMs: number }) {
  const [ref, width] = useWidth();
  const [hover, setHover] = useState<number | null>(null);
  const height = 220;
  const m = { l: 40, r: 10, t: 10, b: 24 };
  const iw = width - m.l - m.r;
  const ih = height - m.t - m.b;
  const totals = series.map((s) => Object.values(s.by_priority ?? {}).reduce((a, b) => a + b, 0));
  const max = niceMax(Math.max(0, ...totals));
  const n = Math.max(1, series.length);
  const bw = iw / n;
  const gap = bw > 6 ? Math.min(4, bw * 0.2) : 0;
  const y = (v: number) => m.t + ih - (v / max) * ih;
  const t0 = series.length ? new Date(series[0].time).getTime() : 0;
  const span = series.length ? new Date(series[series.length - 1].time).getTime() - t0 + bucketMs : 0;
  const tickEvery = Math.max(1, Math.ceil(n / Math.floor(iw / 70)));
  const prios = [...PRIORITIES].reverse(); // least severe at the bottom
  return (
    <div ref={ref} class="chart">
      <svg width={width} height={height} role="img" aria-label="Alerts over time by priority">
        {[0, 0.25, 0.5, 0.75, 1].map((f) => (
          <g>
            <line x1={m.l} x2={width - m.r} y1={y(max * f)} y2={y(max * f)} class="grid" />
            <text x={m.l - 6} y={y(max * f) + 4} class="axis" text-anchor="end">
              {Math.round(max * f)}
            </text>
          </g>
        ))}
        {series.map((s, i) => {
          let acc = 0;
          const x = m.l + i * bw + gap / 2;
          return (
            <g onMouseEnter={() => setHover(i)} onMouseLeave={() => setHover(null)}>
              <rect x={m.l + i * bw} y={m.t} width={bw} height={ih} fill="transparent" />
              {prios.map((p) => {
                const v = s.by_priority?.[p] ?? 0;
                if (!v) return null;
                const r = <rect x={x} width={Math.max(1, bw - gap)} y={y(acc + v)} height={y(acc) - y(acc + v)} fill={priorityColor(p)} />;
                acc += v;
                return r;
              })}
              {i % tickEvery === 0 && (
                <text x={m.l + i * bw + bw / 2} y={height - 6} class="axis" text-anchor="middle">
                  {tickLabel(new Date(s.time), span)}
                </text>
              )}
            </g>
          );
        })}
        <line x1={m.l} x2={width - m.r} y1={m.t + ih} y2={m.t + ih} class="axis-line" />
      </svg>
      {hover !== null && series[hover] && (
        <div class="chart-tip" style={{ left: Math.min(width - 180, m.l + hover * bw + bw + 6) + "px" }}>
          <div class="small">{new Date(series[hover].time).toLocaleString()}</div>
          <div>
            <b>{totals[hover]}</b> alerts
          </div>
          {PRIORITIES.filter((p) => series[hover].by_priority?.[p]).map((p) => (
            <div class="small">
              <span class="swatch" style={{ background: priorityColor(p) }} /> {p}: {series[hover].by_priority![p]}
            </div>
          ))}
        </div>
      )}
    </div>
  );
}

/** HBars draws a ranked list of counts as horizontal bars. */
export function HBars({ rows, color, href, empty }: { rows: [string, number][]; color?: string; href?: (k: string) => string; empty: string }) {
  if (!rows.length) return <p class="muted">{empty}</p>;
  const max = Math.max(...rows.map((r) => r[1]));
  return (
    <ul class="hbars">
      {rows.map(([k, v]) => (
        <li title={`${k}: ${v}`}>
          <div class="hbar-label">{href ? <a href={href(k)} onClick={onLinkClick}>
              {k || "(none)"}
            </a> : k || "(none)"}</div>
          <div class="hbar-track">
            <svg width="100%" height="10" preserveAspectRatio="none" viewBox="0 0 100 10" aria-hidden="true">
              <rect x="0" y="0" height="10" width={(v / max) * 100} rx="2" fill={color ?? "#3c82d0"} />
            </svg>
          </div>
          <div class="hbar-value">{v}</div>
        </li>
      ))}
    </ul>
  );
}

/** PriorityStrip draws the share of each priority as one segmented bar. */
export function PriorityStrip({ counts }: { counts: Record<string, number> }) {
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  if (!total) return null;
  let x = 0;
  return (
    <svg class="strip" width="100%" height="12" viewBox="0 0 100 12" preserveAspectRatio="none" aria-hidden="true">
      {PRIORITIES.filter((p) => counts[p]).map((p) => {
        const w = (counts[p] / total) * 100;
        const r = <rect x={x} y="0" width={w} height="12" fill={priorityColor(p)} />;
        x += w;
        return r;
      })}
    </svg>
  );
}
