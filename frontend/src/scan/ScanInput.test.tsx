import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { expect, test, vi } from "vitest";
import { ApiError } from "../api/client";
import { ScanInput } from "./ScanInput";
import { VerdictOverlay } from "./VerdictOverlay";

test("a keyboard-wedge scan (text + Enter) is submitted, trimmed, and the field is cleared and keeps focus", async () => {
  const onScan = vi.fn();
  render(<ScanInput onScan={onScan} />);
  const field = screen.getByLabelText("Scan a label");
  expect(field).toHaveFocus();
  await userEvent.keyboard("  CT1.K1.U.A99992600000101.CHA999926000001.ABCDEFGHIJKLMNOP  {Enter}");
  expect(onScan).toHaveBeenCalledWith("CT1.K1.U.A99992600000101.CHA999926000001.ABCDEFGHIJKLMNOP");
  expect(field).toHaveValue("");
  expect(field).toHaveFocus();
});

test("a scanner typing while a button has the focus still lands in the scan field", async () => {
  const onScan = vi.fn();
  render(<><button type="button">Some action</button><ScanInput onScan={onScan} /></>);
  screen.getByRole("button", { name: "Some action" }).focus();
  await userEvent.keyboard("A99992600000101X{Enter}");
  expect(onScan).toHaveBeenCalledWith("A99992600000101X");
});

test("the verdict is full-screen, green for a match and red for a mismatch, in words", () => {
  const { rerender } = render(
    <VerdictOverlay onClose={() => {}} onScan={() => {}} autoCloseMs={0}
      verdict={{ ok: true, payload: "x", result: { verdict: "match", message: "Correct bag.", unit_id: "A99992600000101", coi: "CHA999926000001" } as never }} />,
  );
  const dialog = screen.getByRole("alertdialog", { name: "Match" });
  expect(dialog).toHaveClass("verdict-match");
  expect(dialog).toHaveAccessibleDescription("Correct bag.");
  rerender(
    <VerdictOverlay onClose={() => {}} onScan={() => {}}
      verdict={{ ok: false, payload: "x", error: new ApiError(422, { detail: "Nothing was scanned.", code: "scan_empty" }) }} />,
  );
  const red = screen.getByRole("alertdialog", { name: "Mismatch — stop" });
  expect(red).toHaveClass("verdict-mismatch");
  expect(red).toHaveTextContent("Nothing was scanned.");
});
