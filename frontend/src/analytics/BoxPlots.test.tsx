import { render, screen, within } from "@testing-library/react";
import { expect, test } from "vitest";
import { BoxPlots } from "./BoxPlots";
import type { IntervalGroup, Reference } from "./api";

const group = (product: string, median: number): IntervalGroup => ({
  group: { product }, n: 5, open: 1, stopped: 0,
  value: { n: 5, median, p25: median - 3, p75: median + 5, min: median - 5, max: median + 15 },
  hours: null,
});

test("one box per product, with the published medians and their sources", () => {
  const refs: Reference[] = [
    { product: "yescarta", metric: "v2v", median_days: 27, population: "US", source: "Meta-analysis", url: "https://example.org/a" },
    { product: "yescarta", metric: "mfg_turnaround", median_days: 14, population: "US", source: "Kite", url: "https://example.org/b" },
    { product: "abecma", metric: "v2v", median_days: 99, population: "none", source: "Nobody", url: "https://example.org/c" },
  ];
  render(<BoxPlots groups={[group("yescarta", 25), group("kymriah", 43)]} references={refs} productName={(p) => p.toUpperCase()} />);
  const chart = screen.getByRole("img", { name: /Vein to vein by product/ });
  expect(chart.querySelectorAll(".visx-boxplot")).toHaveLength(2);
  expect(chart).toHaveAccessibleDescription(/YESCARTA: median 25 days, quartiles 22 to 30, 5 cases/);
  // Only vein-to-vein references of products on the chart are drawn and listed.
  expect(chart.querySelectorAll(".reference-marker")).toHaveLength(1);
  const sources = screen.getByRole("list", { name: "Published reference medians" });
  expect(within(sources).getAllByRole("listitem")).toHaveLength(1);
  expect(within(sources).getByRole("link", { name: "Meta-analysis" })).toHaveAttribute("href", "https://example.org/a");
});
