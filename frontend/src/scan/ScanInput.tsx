import { useEffect, useLayoutEffect, useRef, useState, type FormEvent } from "react";

/**
 * The keyboard-wedge field: a scanner types the payload and Enter. With keepFocus it takes the
 * focus back whenever focus falls to the page (not when the user moves to another control).
 */
export function ScanInput({ onScan, label = "Scan a label", keepFocus = true, busy = false, id = "scan-input", hint }: {
  onScan: (payload: string) => void;
  label?: string;
  keepFocus?: boolean;
  busy?: boolean;
  id?: string;
  hint?: string;
}) {
  const ref = useRef<HTMLInputElement>(null);
  const [value, setValue] = useState("");

  // Focus as soon as the field exists, before the first paint: no keystroke of a scan is lost.
  useLayoutEffect(() => {
    if (keepFocus) ref.current?.focus();
  }, [keepFocus]);

  useEffect(() => {
    if (!keepFocus) return;
    const reclaim = () => {
      window.setTimeout(() => {
        const active = document.activeElement;
        const modalOpen = document.querySelector('[aria-modal="true"]') && !ref.current?.closest('[aria-modal="true"]');
        if (!modalOpen && (!active || active === document.body)) ref.current?.focus();
      }, 0);
    };
    // A scanner typing while a button (not a text field) has the focus: its characters go here.
    const redirect = (e: KeyboardEvent) => {
      const input = ref.current;
      if (!input || e.ctrlKey || e.metaKey || e.altKey || e.key.length !== 1) return;
      const target = e.target as HTMLElement | null;
      if (target === input || (target && isTextEntry(target))) return;
      const modal = document.querySelector('[aria-modal="true"]');
      if (modal && !modal.contains(input)) return;
      e.preventDefault();
      setValue((v) => v + e.key);
      input.focus();
    };
    document.addEventListener("focusout", reclaim);
    window.addEventListener("focus", reclaim);
    document.addEventListener("keydown", redirect, true);
    // A focused control removed from the page leaves the focus on the body without an event.
    const watch = window.setInterval(reclaim, 500);
    return () => {
      window.clearInterval(watch);
      document.removeEventListener("focusout", reclaim);
      window.removeEventListener("focus", reclaim);
      document.removeEventListener("keydown", redirect, true);
    };
  }, [keepFocus]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const payload = value.replace(/[\r\n]+$/g, "").trim();
    setValue("");
    if (payload) onScan(payload);
  };
  return (
    <form className="scan-input" onSubmit={submit}>
      <label htmlFor={id}>{label}</label>
      <div className="inline">
        <input ref={ref} id={id} value={value} onChange={(e) => setValue(e.target.value)} autoComplete="off" autoCapitalize="off"
          spellCheck={false} aria-describedby={hint ? `${id}-hint` : undefined} aria-busy={busy || undefined}
          placeholder="Scan with the scanner or type the unit ID, then Enter" />
        <button type="submit" disabled={busy}>Submit scan</button>
      </div>
      {hint ? <small id={`${id}-hint`} className="hint">{hint}</small> : null}
    </form>
  );
}

function isTextEntry(el: HTMLElement): boolean {
  if (el.isContentEditable || el instanceof HTMLTextAreaElement || el instanceof HTMLSelectElement) return true;
  if (el instanceof HTMLInputElement) return !["button", "submit", "reset", "checkbox", "radio", "file", "image", "range", "color"].includes(el.type);
  return false;
}
