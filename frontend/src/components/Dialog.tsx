import { useEffect, useId, useRef, type ReactNode } from "react";
import { createPortal } from "react-dom";

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

/** A modal dialog: focus moves in, Tab stays in, Escape closes, focus returns on close. */
export function Dialog({ title, onClose, children, className, role = "dialog" }: {
  title: ReactNode;
  onClose: () => void;
  children: ReactNode;
  className?: string;
  role?: "dialog" | "alertdialog";
}) {
  const ref = useRef<HTMLDivElement>(null);
  const titleId = useId();
  useEffect(() => {
    const before = document.activeElement as HTMLElement | null;
    const node = ref.current;
    const first = node?.querySelector<HTMLElement>("[data-autofocus]") ?? node?.querySelector<HTMLElement>(FOCUSABLE);
    (first ?? node)?.focus();
    return () => before?.focus?.();
  }, []);
  const onKeyDown = (e: React.KeyboardEvent) => {
    if (e.key === "Escape") {
      e.stopPropagation();
      onClose();
      return;
    }
    if (e.key !== "Tab" || !ref.current) return;
    const items = Array.from(ref.current.querySelectorAll<HTMLElement>(FOCUSABLE));
    if (!items.length) return;
    const first = items[0];
    const last = items[items.length - 1];
    if (e.shiftKey && document.activeElement === first) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && document.activeElement === last) {
      e.preventDefault();
      first.focus();
    }
  };
  // In a portal (outside any form on the page); React events still bubble to the opener's tree,
  // so a submit inside the dialog stops here.
  return createPortal(
    // biome-ignore lint/a11y/noStaticElementInteractions: only stops events bubbling out of the portal
    <div className="backdrop" onSubmit={(e) => e.stopPropagation()} onKeyDown={(e) => e.stopPropagation()}>
      {/* biome-ignore lint/a11y/noStaticElementInteractions: role is dialog or alertdialog (the prop); Tab is kept inside */}
      {/* biome-ignore lint/a11y/useAriaPropsSupportedByRole: role is dialog or alertdialog (the prop), both modal */}
      <div ref={ref} className={`dialog ${className ?? ""}`} role={role} aria-modal="true" aria-labelledby={titleId} tabIndex={-1} onKeyDown={onKeyDown}>
        <h2 id={titleId}>{title}</h2>
        {children}
      </div>
    </div>,
    document.body,
  );
}
