import { QueryClientProvider, type QueryClient } from "@tanstack/react-query";
import { useEffect, useState, type ReactNode } from "react";
import { onWrite } from "./client";
import { makeQueryClient } from "./queries";

/**
 * The query cache for the app. Any write the server accepts marks every read stale (without
 * reading again what is on screen: the writer invalidates what it changed), so a screen opened
 * next never shows what was true before the write.
 */
export function QueryProvider({ children, client }: { children: ReactNode; client?: QueryClient }) {
  const [queryClient] = useState(() => client ?? makeQueryClient());
  useEffect(() => onWrite(() => void queryClient.invalidateQueries({ refetchType: "none" })), [queryClient]);
  return <QueryClientProvider client={queryClient}>{children}</QueryClientProvider>;
}
