import { AxisBottom } from "@visx/axis";
import { Group } from "@visx/group";
import { scaleBand, scaleLinear } from "@visx/scale";
import { BoxPlot } from "@visx/stats";
import type { IntervalGroup, Reference } from "./api";

const WIDTH = 820;
const ROW = 56;
const MARGIN = { top: 12, right: 24, bottom: 44, left: 120 };

interface Props {
  groups: IntervalGroup[];
  references: Reference[];
  productName: (code: string) => string;
}

/** One horizontal box (quartiles, median, min to max) per product; the published reference
 * medians of the same product as numbered diamonds, their sources listed under the chart. */
export function BoxPlots({ groups, references, productName }: Props) {
  const rows = groups.filter((g) => g.n > 0);
  const height = MARGIN.top + MARGIN.bottom + ROW * Math.max(rows.length, 1);
  const refs = references.filter((r) => r.metric === "v2v" && rows.some((g) => g.group.product === r.product));
  const highest = Math.max(10, ...rows.map((g) => g.value.max ?? 0), ...refs.map((r) => r.median_days));
  const x = scaleLinear<number>({ domain: [0, Math.ceil(highest / 10) * 10], range: [MARGIN.left, WIDTH - MARGIN.right], nice: true });
  const y = scaleBand<string>({ domain: rows.map((g) => g.group.product), range: [MARGIN.top, height - MARGIN.bottom], padding: 0.35 });
  const number = (r: Reference) => refs.indexOf(r) + 1;
  return (
    <figure className="chart" aria-labelledby="boxplot-caption">
      <svg width="100%" viewBox={`0 0 ${WIDTH} ${height}`} role="img" aria-labelledby="boxplot-title" aria-describedby="boxplot-desc" data-testid="v2v-boxplot">
        <title id="boxplot-title">Vein to vein by product, in days</title>
        <desc id="boxplot-desc">
          {rows.map((g) => `${productName(g.group.product)}: median ${g.value.median} days, quartiles ${g.value.p25} to ${g.value.p75}, ${g.n} cases.`).join(" ")}
        </desc>
        {rows.map((g) => {
          const top = y(g.group.product) ?? 0;
          const band = y.bandwidth();
          return (
            <Group key={g.group.product} className="box-row">
              <text x={MARGIN.left - 10} y={top + band / 2} textAnchor="end" dominantBaseline="middle" className="chart-label">
                {productName(g.group.product)}
              </text>
              <BoxPlot
                horizontal valueScale={x} top={top} boxWidth={band}
                min={g.value.min ?? 0} max={g.value.max ?? 0} firstQuartile={g.value.p25 ?? 0}
                thirdQuartile={g.value.p75 ?? 0} median={g.value.median ?? 0}
                fill="#9fc0e8" stroke="#0b3d78" strokeWidth={2}
                medianProps={{ stroke: "#12263f", strokeWidth: 4 }}
              />
              <text x={x(g.value.max ?? 0) + 8} y={top + band / 2} dominantBaseline="middle" className="chart-note">
                n={g.n}{g.open ? `, ${g.open} open` : ""}
              </text>
              {refs.filter((r) => r.product === g.group.product).map((r) => (
                <g key={`${r.product}-${r.median_days}-${r.population}`} className="reference-marker" transform={`translate(${x(r.median_days)}, ${top + band / 2})`}>
                  <path d="M0,-7 L7,0 L0,7 L-7,0 Z" fill="#a4001d" stroke="#ffffff" strokeWidth={1.5} />
                  <text y={-band / 2 - 3} textAnchor="middle" className="chart-ref">{number(r)}</text>
                </g>
              ))}
            </Group>
          );
        })}
        <AxisBottom top={height - MARGIN.bottom} scale={x} numTicks={8} label="days from collection to infusion (site-local calendar days)"
          tickLabelProps={{ className: "chart-tick", fill: "#1a1a1a", fontSize: 12, textAnchor: "middle" }}
          labelProps={{ className: "chart-axis-label", fill: "#1a1a1a", fontSize: 13, textAnchor: "middle" }} stroke="#1a1a1a" tickStroke="#1a1a1a" />
      </svg>
      <figcaption id="boxplot-caption">
        Boxes: quartiles (type 7) with the median line; whiskers: shortest and longest. Red diamonds: published medians.
        <ol className="references" aria-label="Published reference medians">
          {refs.map((r) => (
            <li key={`${r.product}-${r.median_days}-${r.population}`}>
              <strong>{productName(r.product)} {r.median_days} days</strong> — {r.population}. <a href={r.url} rel="noreferrer" target="_blank">{r.source}</a>
            </li>
          ))}
        </ol>
      </figcaption>
    </figure>
  );
}
