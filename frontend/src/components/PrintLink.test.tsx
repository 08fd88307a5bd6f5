import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import { setCsrfToken } from "../api/client";
import { mockFetch } from "../test/fetchMock";
import { PrintLink } from "./PrintLink";

const opened = vi.fn();

beforeEach(() => {
  setCsrfToken("csrf-123");
  vi.stubGlobal("open", opened.mockReturnValue({ opener: window }));
  URL.createObjectURL = vi.fn(() => "blob:label");
  URL.revokeObjectURL = vi.fn();
});

afterEach(() => {
  setCsrfToken(null);
  opened.mockReset();
  vi.unstubAllGlobals();
});

test("printing is a POST with the CSRF token; a reprint asks why, then prints and opens the label", async () => {
  let printed = 0;
  const calls = mockFetch((c) => {
    if (c.path !== "/api/units/A99992600000101/label.pdf") return undefined;
    if (printed++ === 0) {
      return { status: 409, body: { detail: "The label of bag A99992600000101 was printed before: give a reprint reason.", code: "reprint_reason_required" } };
    }
    return { body: {} };
  });
  render(<PrintLink target={{ unit: "A99992600000101", format: "pdf" }}>Print label</PrintLink>);
  await userEvent.click(screen.getByRole("button", { name: "Print label" }));
  const dialog = await screen.findByRole("dialog", { name: "Reprint a label" });
  expect(dialog).toHaveTextContent("was printed before");
  expect(calls[0].method).toBe("POST");
  expect(calls[0].headers.get("X-CSRF-Token")).toBe("csrf-123");
  expect(calls[0].body).toEqual({ size: "4x4in", copies: 1, reprint_reason: null });
  expect(opened).not.toHaveBeenCalled();
  await userEvent.type(screen.getByLabelText(/Reason for the reprint/), "Label smudged");
  await userEvent.click(screen.getByRole("button", { name: "Reprint" }));
  await waitFor(() => expect(opened).toHaveBeenCalledWith("blob:label", "_blank"));
  expect(calls[1].body).toEqual({ size: "4x4in", copies: 1, reprint_reason: "Label smudged" });
  expect(screen.queryByRole("dialog")).toBeNull();
  expect(screen.getByRole("status")).toHaveTextContent("Sent to print.");
});

test("a refusal is said in the server's words and nothing opens", async () => {
  const calls = mockFetch((c) => (c.path === "/api/cases/7/wristband.pdf"
    ? { status: 403, body: { detail: "A wristband is printed by clinical staff at the case's collection or treatment site.", code: "wristband_forbidden" } }
    : undefined));
  render(<PrintLink target={{ wristband: 7, format: "pdf" }}>Print wristband</PrintLink>);
  await userEvent.click(screen.getByRole("button", { name: "Print wristband" }));
  expect(await screen.findByRole("alert")).toHaveTextContent("collection or treatment site");
  expect(calls).toHaveLength(1);
  expect(screen.queryByRole("dialog")).toBeNull();
  expect(opened).not.toHaveBeenCalled();
});
