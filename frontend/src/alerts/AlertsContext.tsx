import { useQueryClient } from "@tanstack/react-query";
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { api, unwrap, type Schemas } from "../api/client";
import { $api, invalidatePaths } from "../api/queries";
import { useAuth } from "../auth/AuthContext";

export type Alert = Schemas["AlertOut"];
export type AlertSummary = Schemas["SummaryOut"];

interface AlertsState {
  summary: AlertSummary | null;
  /** Alerts that arrived live since sign-in, newest first (for the toasts). */
  live: Alert[];
  connected: boolean;
  acknowledge: (id: number, note?: string) => Promise<Alert>;
  dismiss: (id: number) => void;
  notifications: NotificationPermission | "unsupported";
  enableNotifications: () => Promise<void>;
}

const AlertsContext = createContext<AlertsState | null>(null);

function notificationPermission(): NotificationPermission | "unsupported" {
  return typeof Notification === "undefined" ? "unsupported" : Notification.permission;
}

/** The live alert feed: EventSource on /api/alerts/stream (named "alert" events), the badge count. */
export function AlertsProvider({ children }: { children: ReactNode }) {
  const { me } = useAuth();
  const queryClient = useQueryClient();
  // The badge count; a 401 is handled globally, other failures keep the old count.
  const summary = $api.useQuery("get", "/api/alerts/summary", {}, { enabled: !!me }).data ?? null;
  const [live, setLive] = useState<Alert[]>([]);
  const [connected, setConnected] = useState(false);
  const [notifications, setNotifications] = useState(notificationPermission);
  const seen = useRef(new Set<string>());

  // An alert arrived or changed: the lists and the count on screen are read again.
  const refreshAlerts = useCallback(() => invalidatePaths(queryClient, "/api/alerts"), [queryClient]);

  useEffect(() => {
    if (!me || typeof EventSource === "undefined") return;
    let source: EventSource | null = null;
    let retry: number | undefined;
    let closed = false;
    const open = () => {
      source = new EventSource("/api/alerts/stream", { withCredentials: true });
      source.onopen = () => setConnected(true);
      source.addEventListener("alert", (event) => {
        const alert = JSON.parse((event as MessageEvent<string>).data) as Alert;
        const key = `${alert.id}:${alert.status}:${alert.tier}`;
        if (seen.current.has(key)) return;
        seen.current.add(key);
        void refreshAlerts();
        if (alert.status === "fired") {
          setLive((list) => [alert, ...list.filter((a) => a.id !== alert.id)].slice(0, 20));
          notify(alert);
        } else {
          setLive((list) => list.filter((a) => a.id !== alert.id));
        }
      });
      source.onerror = () => {
        setConnected(false);
        if (source?.readyState === EventSource.CLOSED && !closed) {
          // Refused (e.g. signed out on the server): the summary call finds out; then retry.
          void refreshAlerts();
          retry = window.setTimeout(open, 5000);
        }
      };
    };
    open();
    return () => {
      closed = true;
      window.clearTimeout(retry);
      source?.close();
      setConnected(false);
    };
  }, [me, refreshAlerts]);

  const acknowledge = useCallback(async (id: number, note?: string) => {
    const alert = unwrap(await api.POST("/api/alerts/{alert_id}/ack", {
      params: { path: { alert_id: id } },
      body: { note: note?.trim() || null },
    }));
    setLive((list) => list.filter((a) => a.id !== id));
    void refreshAlerts();
    return alert;
  }, [refreshAlerts]);

  const dismiss = useCallback((id: number) => setLive((list) => list.filter((a) => a.id !== id)), []);

  const enableNotifications = useCallback(async () => {
    if (typeof Notification === "undefined") return;
    setNotifications(await Notification.requestPermission());
  }, []);

  const value = useMemo(() => ({ summary, live, connected, acknowledge, dismiss, notifications, enableNotifications }),
    [summary, live, connected, acknowledge, dismiss, notifications, enableNotifications]);
  return <AlertsContext.Provider value={value}>{children}</AlertsContext.Provider>;
}

/** A browser notification (when permitted): title and message carry the COI only, no PHI. */
function notify(alert: Alert): void {
  if (typeof Notification === "undefined" || Notification.permission !== "granted") return;
  try {
    const n = new Notification(`${alert.severity === "critical" ? "CRITICAL: " : ""}${alert.title}`, {
      body: alert.message, tag: `cartrack-alert-${alert.id}`, requireInteraction: alert.severity === "critical",
    });
    n.onclick = () => {
      window.focus();
      n.close();
    };
  } catch {
    /* some browsers allow notifications only from a service worker */
  }
}

export function useAlerts(): AlertsState {
  const ctx = useContext(AlertsContext);
  if (!ctx) throw new Error("useAlerts outside AlertsProvider");
  return ctx;
}
