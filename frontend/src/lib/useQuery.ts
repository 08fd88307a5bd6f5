import { useCallback, useEffect, useRef, useState } from "react";
import { asApiError, type ApiError } from "../api/client";

export interface Query<T> {
  data: T | undefined;
  error: ApiError | undefined;
  loading: boolean;
  reload: () => Promise<void>;
}

/** Loads once per change of deps; reload() loads again (keeping the old data meanwhile). */
export function useQuery<T>(load: () => Promise<T>, deps: unknown[], options: { refreshMs?: number } = {}): Query<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<ApiError>();
  const [loading, setLoading] = useState(true);
  const loadRef = useRef(load);
  loadRef.current = load;
  const seq = useRef(0);

  const reload = useCallback(async () => {
    const mine = ++seq.current;
    setLoading(true);
    try {
      const value = await loadRef.current();
      if (mine === seq.current) {
        setData(value);
        setError(undefined);
      }
    } catch (err) {
      if (mine === seq.current) setError(asApiError(err));
    } finally {
      if (mine === seq.current) setLoading(false);
    }
  }, []);

  useEffect(() => {
    void reload();
    if (!options.refreshMs) return;
    const timer = window.setInterval(() => void reload(), options.refreshMs);
    return () => window.clearInterval(timer);
    // biome-ignore lint/correctness/useExhaustiveDependencies: the caller's deps say when to load again
  }, deps);

  return { data, error, loading, reload };
}
