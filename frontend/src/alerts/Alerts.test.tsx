import { act, render, screen, waitFor } from "@testing-library/react";
import { MemoryRouter } from "react-router";
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import { AuthProvider } from "../auth/AuthContext";
import { ME, mockFetch } from "../test/fetchMock";
import { AlertBadge } from "./AlertBadge";
import { AlertToasts } from "./AlertToasts";
import { AlertsProvider } from "./AlertsContext";

class FakeEventSource {
  static last: FakeEventSource | null = null;
  static CLOSED = 2;
  readyState = 1;
  onopen: (() => void) | null = null;
  onerror: (() => void) | null = null;
  listeners = new Map<string, (e: MessageEvent) => void>();
  constructor(public url: string) {
    FakeEventSource.last = this;
  }
  addEventListener(type: string, fn: (e: MessageEvent) => void) {
    this.listeners.set(type, fn);
  }
  close() {
    this.readyState = 2;
  }
  emit(type: string, data: unknown) {
    this.listeners.get(type)?.(new MessageEvent(type, { data: JSON.stringify(data) }));
  }
}

const notifications: Array<{ title: string; body?: string }> = [];
class FakeNotification {
  static permission = "granted";
  onclick: (() => void) | null = null;
  constructor(title: string, opts?: { body?: string }) {
    notifications.push({ title, body: opts?.body });
  }
  close() {}
}

beforeEach(() => {
  vi.stubGlobal("EventSource", FakeEventSource);
  vi.stubGlobal("Notification", FakeNotification);
});
afterEach(() => {
  notifications.length = 0;
});

test("a live alert from the stream shows at once, updates the critical badge and notifies the browser", async () => {
  let critical = 0;
  mockFetch((c) => {
    if (c.path === "/api/auth/me") return { body: ME };
    if (c.path === "/api/alerts/summary") return { body: { unacknowledged: critical, unacknowledged_critical: critical } };
    return undefined;
  });
  render(
    <MemoryRouter>
      <AuthProvider>
        <AlertsProvider>
          <AlertBadge />
          <AlertToasts />
        </AlertsProvider>
      </AuthProvider>
    </MemoryRouter>,
  );
  await waitFor(() => expect(FakeEventSource.last?.url).toBe("/api/alerts/stream"));
  expect(screen.queryByTestId("critical-badge")).toBeNull();
  critical = 1;
  act(() => FakeEventSource.last!.emit("alert", {
    id: 9, case_id: 3, coi: "CHA999926000003", kind: "clinical", severity: "critical", status: "fired", tier: 0,
    title: "CRS 2 / ICANS 0 on day 1", message: "Case CHA999926000003: grade 2 toxicity recorded on day 1.",
    fire_at: "2026-01-05T10:00:00Z", fired_at: "2026-01-05T10:00:00Z", targets: [],
  }));
  expect(await screen.findByTestId("alert-toast")).toHaveTextContent("Critical alert: CRS 2 / ICANS 0 on day 1");
  expect(await screen.findByTestId("critical-badge")).toHaveTextContent("1 unacknowledged critical");
  expect(notifications).toEqual([{ title: "CRITICAL: CRS 2 / ICANS 0 on day 1", body: "Case CHA999926000003: grade 2 toxicity recorded on day 1." }]);
});
