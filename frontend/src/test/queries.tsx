import { QueryClient } from "@tanstack/react-query";
import { render, type RenderOptions } from "@testing-library/react";
import type { ReactElement } from "react";
import { QueryProvider } from "../api/QueryProvider";

/** A fresh cache per test: no retries (a refusal shows at once), nothing shared between tests. */
export function testQueryClient(): QueryClient {
  return new QueryClient({ defaultOptions: { queries: { retry: false, gcTime: Number.POSITIVE_INFINITY }, mutations: { retry: false } } });
}

/** render() inside a QueryClientProvider (the app's own, with its write listener). */
export function renderWithQueries(ui: ReactElement, options?: RenderOptions) {
  const client = testQueryClient();
  return { client, ...render(<QueryProvider client={client}>{ui}</QueryProvider>, options) };
}
