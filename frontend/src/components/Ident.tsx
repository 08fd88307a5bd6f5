/** An identifier as printed: the characters, then the boxed keyboard check character K. */
export function Ident({ value, check, className }: { value: string; check?: string | null; className?: string }) {
  return (
    <span className={`ident ${className ?? ""}`}>
      <span className="ident-value">{value}</span>
      {check ? (
        <span className="check" title="check character">
          <span className="sr-only"> check character </span>
          {check}
        </span>
      ) : null}
    </span>
  );
}

export function StateBadge({ state }: { state: string }) {
  return <span className={`state state-${state}`}>{state.replace(/_/g, " ")}</span>;
}
