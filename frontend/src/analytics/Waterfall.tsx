import { AxisBottom } from "@visx/axis";
import { scaleLinear } from "@visx/scale";
import { Bar } from "@visx/shape";
import type { WaterfallOut } from "./api";

const WIDTH = 820;
const ROW = 44;
const MARGIN = { top: 8, right: 90, bottom: 40, left: 250 };
const COLOURS = ["#0b4f9c", "#5a7fa8", "#7a4d00", "#12263f"];

/** Where the days go: each stage starts where the one before ended; the last row is the total. */
export function Waterfall({ data }: { data: WaterfallOut }) {
  const stages = data.stages.filter((s) => s.mean_days !== null);
  const total = data.total_mean_days ?? 0;
  const rows = [...stages.map((s) => ({ label: s.label, days: s.mean_days ?? 0 })), { label: "Vein to vein", days: total }];
  const height = MARGIN.top + MARGIN.bottom + ROW * rows.length;
  const x = scaleLinear<number>({ domain: [0, Math.max(total, 1)], range: [MARGIN.left, WIDTH - MARGIN.right], nice: true });
  let start = 0;
  return (
    <figure className="chart" aria-labelledby="waterfall-caption">
      <svg width="100%" viewBox={`0 0 ${WIDTH} ${height}`} role="img" aria-labelledby="waterfall-title" aria-describedby="waterfall-desc" data-testid="stage-waterfall">
        <title id="waterfall-title">Where the days go, collection to infusion</title>
        <desc id="waterfall-desc">{rows.map((r) => `${r.label}: ${r.days.toFixed(1)} days.`).join(" ")}</desc>
        {rows.map((r, i) => {
          const last = i === rows.length - 1;
          const from = last ? 0 : start;
          if (!last) start += r.days;
          const top = MARGIN.top + i * ROW + 6;
          return (
            <g key={r.label}>
              <text x={MARGIN.left - 10} y={top + (ROW - 12) / 2} textAnchor="end" dominantBaseline="middle" className="chart-label">{r.label}</text>
              <Bar x={x(from)} y={top} width={Math.max(2, x(from + r.days) - x(from))} height={ROW - 12} fill={last ? COLOURS[3] : COLOURS[i % 3]} rx={3} />
              <text x={x(from + r.days) + 6} y={top + (ROW - 12) / 2} dominantBaseline="middle" className="chart-note">{r.days.toFixed(1)} d</text>
            </g>
          );
        })}
        <AxisBottom top={height - MARGIN.bottom} scale={x} numTicks={8} label="mean days (exact)"
          tickLabelProps={{ className: "chart-tick", fill: "#1a1a1a", fontSize: 12, textAnchor: "middle" }}
          labelProps={{ className: "chart-axis-label", fill: "#1a1a1a", fontSize: 13, textAnchor: "middle" }} stroke="#1a1a1a" tickStroke="#1a1a1a" />
      </svg>
      <figcaption id="waterfall-caption">{data.note} {data.n} cases.</figcaption>
    </figure>
  );
}
