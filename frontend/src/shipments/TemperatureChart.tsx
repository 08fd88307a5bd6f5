import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { AxisBottom, AxisLeft } from "@visx/axis";
import { Group } from "@visx/group";
import { scaleLinear, scaleTime } from "@visx/scale";
import { Bar, Circle, Line, LinePath } from "@visx/shape";
import { formatDateTime } from "../lib/time";
import { chartReadings, parseRule, type Reading, type Shipment } from "./api";

const WIDTH = 860;
const HEIGHT = 320;
const M = { top: 16, right: 24, bottom: 44, left: 64 };
const INK = "#1a1a1a";
const tick = { className: "chart-tick", fill: INK, fontSize: 12 };

/**
 * The shipment's temperatures against its profile's limit band: the band (green), each excursion's
 * window from its limit to its extreme (red), the summary's minimum and maximum and the mean; the
 * readings as a line when they are given.
 */
export function TemperatureChart({ shipment, readings, now = Date.now() }: { shipment: Shipment; readings?: Reading[]; now?: number }) {
  const s = shipment.summary;
  const xs: number[] = [Date.parse(shipment.handed_over_at)];
  if (shipment.received_at) xs.push(Date.parse(shipment.received_at));
  if (s?.first_at) xs.push(Date.parse(s.first_at));
  if (s?.last_at) xs.push(Date.parse(s.last_at));
  if (!shipment.received_at && !s?.last_at) xs.push(now);
  for (const r of readings ?? []) xs.push(Date.parse(r.at));
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs, x0 + 3_600_000);
  const temps = [shipment.low_c, shipment.high_c, s?.min_c, s?.max_c, ...shipment.excursions.map((e) => e.extreme_c), ...(readings ?? []).map((r) => r.temp_c)]
    .filter((t): t is number => typeof t === "number");
  const lo = Math.min(...temps);
  const hi = Math.max(...temps);
  const pad = Math.max(1, (hi - lo) * 0.12);
  const x = scaleTime<number>({ domain: [new Date(x0), new Date(x1)], range: [M.left, WIDTH - M.right] });
  const y = scaleLinear<number>({ domain: [lo - pad, hi + pad], range: [HEIGHT - M.bottom, M.top], nice: true });
  const band = { top: y(shipment.high_c), bottom: y(shipment.low_c) };
  const desc = [
    `Limits ${shipment.low_c} to ${shipment.high_c} °C.`,
    s?.points ? `${s.points} readings; minimum ${s.min_c} °C at ${formatDateTime(s.min_at)}, maximum ${s.max_c} °C at ${formatDateTime(s.max_at)}, mean ${s.mean_c} °C.` : "No logger readings yet.",
    ...shipment.excursions.map((e) => `Excursion ${e.kind} from ${formatDateTime(e.started_at)} to ${formatDateTime(e.ended_at)}, extreme ${e.extreme_c} °C, ${e.disposition.replace(/_/g, " ")}.`),
  ].join(" ");
  return (
    <figure className="chart temp-chart" aria-labelledby={`temp-caption-${shipment.id}`}>
      <svg width="100%" viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-labelledby={`temp-title-${shipment.id}`} aria-describedby={`temp-desc-${shipment.id}`} data-testid="temperature-chart">
        <title id={`temp-title-${shipment.id}`}>Temperature of shipment {shipment.id} against its limits</title>
        <desc id={`temp-desc-${shipment.id}`}>{desc}</desc>
        <Group>
          <Bar className="limit-band" x={M.left} width={WIDTH - M.left - M.right} y={band.top} height={Math.max(1, band.bottom - band.top)} fill="#e3f4e8" stroke="#0a6430" strokeDasharray="4 3" />
          {shipment.excursions.map((e) => {
            const threshold = parseRule(e.rule).threshold ?? (e.extreme_c > shipment.high_c ? shipment.high_c : shipment.low_c);
            const left = x(new Date(e.started_at));
            const right = Math.max(left + 3, x(new Date(e.ended_at)));
            const a = y(threshold);
            const b = y(e.extreme_c);
            return (
              <Bar key={e.id} className={`excursion-window ${e.disposition}`} x={left} width={right - left} y={Math.min(a, b)} height={Math.max(2, Math.abs(a - b))}
                fill={e.disposition === "pending_qa" ? "#f4b8c2" : "#e6e9ee"} stroke="#a4001d" opacity={0.85} />
            );
          })}
          {readings?.length ? (
            <LinePath className="reading-line" data={readings} x={(r) => x(new Date(r.at))} y={(r) => y(r.temp_c)} stroke="#0b4f9c" strokeWidth={2} fill="none" />
          ) : null}
          {s?.mean_c != null ? (
            <Line className="mean-line" from={{ x: M.left, y: y(s.mean_c) }} to={{ x: WIDTH - M.right, y: y(s.mean_c) }} stroke="#0b4f9c" strokeDasharray="6 4" />
          ) : null}
          {s?.min_at && s.min_c != null ? <Circle className="extreme min" cx={x(new Date(s.min_at))} cy={y(s.min_c)} r={5} fill="#0b4f9c" /> : null}
          {s?.max_at && s.max_c != null ? <Circle className="extreme max" cx={x(new Date(s.max_at))} cy={y(s.max_c)} r={5} fill="#a4001d" /> : null}
        </Group>
        <AxisLeft left={M.left} scale={y} numTicks={6} label="°C" stroke={INK} tickStroke={INK}
          tickLabelProps={{ ...tick, textAnchor: "end", dx: -4 }} labelProps={{ className: "chart-axis-label", fill: INK, fontSize: 13, textAnchor: "middle" }} />
        <AxisBottom top={HEIGHT - M.bottom} scale={x} numTicks={5} stroke={INK} tickStroke={INK}
          tickFormat={(v) => {
            const d = v as Date;
            return `${d.toLocaleDateString("en-GB", { day: "2-digit", month: "short" })} ${d.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" })}`;
          }}
          tickLabelProps={{ ...tick, textAnchor: "middle" }} />
      </svg>
      <figcaption id={`temp-caption-${shipment.id}`}>
        <span className="swatch limit" aria-hidden="true" /> limits {shipment.low_c} to {shipment.high_c} °C ({shipment.profile} v{shipment.profile_version})
        {" · "}<span className="swatch excursion" aria-hidden="true" /> excursion, limit to extreme
        {s?.points ? <> · <span className="dot max" aria-hidden="true" /> maximum · <span className="dot min" aria-hidden="true" /> minimum · dashed: mean</> : null}
        {readings?.length ? <> · <span className="swatch reading" aria-hidden="true" /> logger readings</> : null}
      </figcaption>
    </figure>
  );
}

/** The chart with the logger's readings, loaded from the shipment report (again when new readings arrive). */
export function ShipmentChart({ shipment, now }: { shipment: Shipment; now?: number }) {
  // The key carries the summary's count and last reading, so new readings are read again; the old
  // line stays drawn meanwhile.
  const readings = useQuery({
    queryKey: ["composed", "/api/shipments/{shipment_id}/report", shipment.id, shipment.summary?.points, shipment.summary?.last_at],
    queryFn: () => chartReadings(shipment.id),
    placeholderData: keepPreviousData,
  });
  return <TemperatureChart shipment={shipment} readings={readings.data} now={now} />;
}
