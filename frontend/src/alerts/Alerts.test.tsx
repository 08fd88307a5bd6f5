import { act, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter } from "react-router";
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import { AuthProvider } from "../auth/AuthContext";
import { ME, mockFetch } from "../test/fetchMock";
import { renderWithQueries } from "../test/queries";
import { AlertInbox } from "./AlertInbox";
import { AlertBadge } from "./AlertBadge";
import { AlertToasts } from "./AlertToasts";
import { AlertsProvider } from "./AlertsContext";
import { CaseAlerts } from "./CaseAlerts";

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
  renderWithQueries(
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

test("acknowledging an alert reads the inbox and the count again: the screen shows the fresh list", async () => {
  let acked = false;
  const alert = {
    id: 11, case_id: 4, coi: "CHA999926000004", kind: "deadline", severity: "warning", status: "fired", tier: 0,
    title: "Shipment overdue", message: "Case CHA999926000004: the product has not been received.",
    fire_at: "2026-01-05T10:00:00Z", fired_at: "2026-01-05T10:00:00Z", targets: [],
  };
  const calls = mockFetch((c) => {
    if (c.path === "/api/auth/me") return { body: ME };
    if (c.path === "/api/alerts/summary") return { body: { unacknowledged: acked ? 0 : 1, unacknowledged_critical: 0 } };
    if (c.path.startsWith("/api/alerts?")) return { body: { items: acked ? [] : [alert], total: acked ? 0 : 1 } };
    if (c.path === "/api/alerts/11/ack" && c.method === "POST") {
      acked = true;
      return { body: { ...alert, status: "acknowledged", acked_by_name: "Cora Coordinator", acked_at: "2026-01-05T10:05:00Z", ack_note: "On it" } };
    }
    return undefined;
  });
  renderWithQueries(
    <MemoryRouter>
      <AuthProvider>
        <AlertsProvider>
          <AlertInbox />
        </AlertsProvider>
      </AuthProvider>
    </MemoryRouter>,
  );
  expect(await screen.findByText("1 unacknowledged, 0 of them critical.")).toBeInTheDocument();
  const reads = calls.filter((c) => c.path.startsWith("/api/alerts?")).length;
  await userEvent.click(await screen.findByRole("button", { name: /^Acknowledge\W+Shipment overdue$/ }));
  await userEvent.type(screen.getByLabelText("Note (what you are doing about it)"), "On it");
  await userEvent.click(screen.getByRole("button", { name: "Acknowledge" }));
  // No reload counter: the ack invalidates the alert queries, and the screen shows what the server says now.
  expect(await screen.findByText("No alerts waiting for acknowledgement.")).toBeInTheDocument();
  expect(await screen.findByText("0 unacknowledged, 0 of them critical.")).toBeInTheDocument();
  expect(calls.filter((c) => c.path.startsWith("/api/alerts?")).length).toBeGreaterThan(reads);
  expect(calls.find((c) => c.path === "/api/alerts/11/ack")?.body).toEqual({ note: "On it" });
});

test("an alert arriving on the stream invalidates the alert queries: the case's alert list is read again", async () => {
  const fired = {
    id: 12, case_id: 3, coi: "CHA999926000003", kind: "deadline", severity: "warning", status: "fired", tier: 0,
    title: "Thaw window closing", message: "Case CHA999926000003: infuse within 30 minutes.",
    fire_at: "2026-01-05T10:00:00Z", fired_at: "2026-01-05T10:00:00Z", targets: [],
  };
  let items: unknown[] = [];
  mockFetch((c) => {
    if (c.path === "/api/auth/me") return { body: ME };
    if (c.path === "/api/alerts/summary") return { body: { unacknowledged: items.length, unacknowledged_critical: 0 } };
    if (c.path.startsWith("/api/alerts?")) return { body: { items, total: items.length } };
    return undefined;
  });
  renderWithQueries(
    <MemoryRouter>
      <AuthProvider>
        <AlertsProvider>
          <CaseAlerts caseId={3} />
        </AlertsProvider>
      </AuthProvider>
    </MemoryRouter>,
  );
  expect(await screen.findByText("No alerts for this case.")).toBeInTheDocument();
  items = [fired];
  act(() => FakeEventSource.last!.emit("alert", fired));
  expect(await screen.findByRole("article", { name: "warning alert: Thaw window closing" })).toBeInTheDocument();
});
