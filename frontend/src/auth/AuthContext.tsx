import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { QueryClientContext } from "@tanstack/react-query";
import { api, onUnauthorized, setCsrfToken, unwrap, type Schemas } from "../api/client";

export type Me = Schemas["MeOut"];
export type Role = Schemas["Role"];

interface AuthState {
  me: Me | null;
  status: "loading" | "signedIn" | "signedOut";
  /** Why the user was signed out (idle, expired session), shown on the sign-in page. */
  reason: string | null;
  signIn: (username: string, password: string) => Promise<void>;
  signOut: (reason?: string | null) => Promise<void>;
  /** Reads the signed-in user again (after a change of password). */
  refresh: () => Promise<void>;
  hasRole: (...roles: Role[]) => boolean;
}

const AuthContext = createContext<AuthState | null>(null);

const ACTIVITY_EVENTS = ["pointerdown", "keydown", "wheel", "touchstart"] as const;

export function AuthProvider({ children }: { children: ReactNode }) {
  const [me, setMe] = useState<Me | null>(null);
  const [status, setStatus] = useState<AuthState["status"]>("loading");
  const [reason, setReason] = useState<string | null>(null);
  // What one user read is never shown to the next: the cache goes when the user signs out.
  const queryClient = useContext(QueryClientContext);
  const userId = useRef<number | null>(null);

  const apply = useCallback((who: Me | null, why: string | null = null) => {
    // (On sign-out: the screens that read it unmount with the sign-in page.)
    if (userId.current !== null && (who?.id ?? null) !== userId.current) queryClient?.clear();
    userId.current = who?.id ?? null;
    setCsrfToken(who?.csrf_token);
    setMe(who);
    setStatus(who ? "signedIn" : "signedOut");
    setReason(why);
  }, [queryClient]);

  // Restore the session on reload.
  useEffect(() => {
    let alive = true;
    void api.GET("/api/auth/me").then(({ data, error }) => {
      if (!alive) return;
      if (data) apply(data);
      else {
        const body = error as { code?: string; detail?: string } | undefined;
        const quiet = !body || body.code === "not_authenticated" || body.code === "session_invalid";
        apply(null, quiet ? null : body?.detail ?? null);
      }
    }, () => alive && apply(null, "cartrack could not be reached; check the connection."));
    return () => {
      alive = false;
    };
  }, [apply]);

  // Any request answering 401: back to sign-in with the server's words, once the server confirms
  // the session is gone (a request can race the commit of a sign-in that just happened).
  useEffect(() => onUnauthorized((body) => {
    void (async () => {
      await new Promise((r) => window.setTimeout(r, 300));
      const check = await api.GET("/api/auth/me").catch(() => null);
      if (!check || check.response.status === 401) apply(null, body.detail);
    })();
  }), [apply]);

  const signIn = useCallback(async (username: string, password: string) => {
    const who = unwrap(await api.POST("/api/auth/login", { body: { username, password } }));
    apply(who);
  }, [apply]);

  const signOut = useCallback(async (why: string | null = null) => {
    try {
      await api.POST("/api/auth/logout");
    } catch {
      /* signed out locally either way */
    }
    apply(null, why);
  }, [apply]);

  const refresh = useCallback(async () => {
    apply(unwrap(await api.GET("/api/auth/me")));
  }, [apply]);

  const hasRole = useCallback((...roles: Role[]) => !!me?.memberships.some((m) => roles.includes(m.role)), [me]);

  const value = useMemo(() => ({ me, status, reason, signIn, signOut, refresh, hasRole }),
    [me, status, reason, signIn, signOut, refresh, hasRole]);
  return (
    <AuthContext.Provider value={value}>
      {children}
      {me ? <IdleSignOut minutes={me.idle_minutes} onIdle={signOut} /> : null}
    </AuthContext.Provider>
  );
}

export function useAuth(): AuthState {
  const ctx = useContext(AuthContext);
  if (!ctx) throw new Error("useAuth outside AuthProvider");
  return ctx;
}

export const IDLE_WARNING_SECONDS = 60;

/** Signs out after `minutes` without keyboard, pointer or touch activity; warns a minute before. */
export function IdleSignOut({ minutes, onIdle }: { minutes: number; onIdle: (reason: string) => void }) {
  const last = useRef(Date.now());
  const [secondsLeft, setSecondsLeft] = useState<number | null>(null);
  const limit = minutes * 60_000;

  useEffect(() => {
    const touch = () => {
      last.current = Date.now();
    };
    for (const e of ACTIVITY_EVENTS) window.addEventListener(e, touch, { passive: true, capture: true });
    const timer = window.setInterval(() => {
      const left = limit - (Date.now() - last.current);
      if (left <= 0) {
        onIdle(`You were signed out after ${minutes} minute${minutes === 1 ? "" : "s"} without activity. Sign in again to continue.`);
      } else {
        setSecondsLeft(left <= IDLE_WARNING_SECONDS * 1000 ? Math.ceil(left / 1000) : null);
      }
    }, 1000);
    return () => {
      for (const e of ACTIVITY_EVENTS) window.removeEventListener(e, touch, { capture: true });
      window.clearInterval(timer);
    };
  }, [limit, minutes, onIdle]);

  if (secondsLeft === null) return null;
  return (
    <div className="idle-warning" role="alert">
      You will be signed out in {secondsLeft} s for inactivity.{" "}
      <button type="button" onClick={() => { last.current = Date.now(); setSecondsLeft(null); }}>
        Stay signed in
      </button>
    </div>
  );
}
