import { useEffect } from "react";

/** Page titles name the page (and at most a COI), never a patient. */
export function useTitle(title: string): void {
  useEffect(() => {
    document.title = title ? `${title} — cartrack` : "cartrack";
  }, [title]);
}
