import { useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, asApiError, unwrap, type ApiError } from "../api/client";
import { $api, apiError, invalidatePaths } from "../api/queries";
import { ErrorText } from "../components/ErrorText";
import { formatDateTime } from "../lib/time";

/**
 * Your calendar in another calendar program: a secret address (COIs only, no patient details),
 * shown once when made; making a new one or revoking it ends the old one.
 */
export function CalendarFeed() {
  const queryClient = useQueryClient();
  const status = $api.useQuery("get", "/api/calendar/feed");
  const [url, setUrl] = useState<string>();
  const [error, setError] = useState<ApiError>();
  const refresh = () => void invalidatePaths(queryClient, "/api/calendar/feed");
  const make = async () => {
    setError(undefined);
    try {
      const made = unwrap(await api.POST("/api/calendar/feed"));
      setUrl(new URL(made.url, window.location.origin).toString());
      refresh();
    } catch (err) {
      setError(asApiError(err));
    }
  };
  const revoke = async () => {
    setError(undefined);
    try {
      unwrap(await api.DELETE("/api/calendar/feed"));
      setUrl(undefined);
      refresh();
    } catch (err) {
      setError(asApiError(err));
    }
  };
  const active = status.data?.active;
  return (
    <section aria-labelledby="feed-title" className="card">
      <h2 id="feed-title">Subscribe from another calendar</h2>
      <ErrorText error={apiError(status.error) ?? error} />
      {url ? (
        <p>
          Your calendar address (shown only now; anyone with it sees your calendar's COIs):{" "}
          <input aria-label="Calendar address" readOnly value={url} size={60} onFocus={(e) => e.target.select()} />
        </p>
      ) : active ? (
        <p>An address is active, made {status.data?.created_at ? formatDateTime(status.data.created_at) : ""} (ends in …{status.data?.token_hint}).</p>
      ) : status.data ? <p className="muted">No address yet.</p> : null}
      <div className="buttons">
        <button type="button" onClick={() => void make()}>{active ? "Make a new address (ends the old one)" : "Make an address"}</button>
        {active ? <button type="button" className="danger" onClick={() => void revoke()}>Revoke the address</button> : null}
      </div>
    </section>
  );
}
