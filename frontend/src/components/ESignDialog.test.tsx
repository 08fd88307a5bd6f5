import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { expect, test, vi } from "vitest";
import { ApiError } from "../api/client";
import { AuthProvider } from "../auth/AuthContext";
import { ME, mockFetch } from "../test/fetchMock";
import { ESignDialog, SignatureList } from "./ESignDialog";

test("shows the meaning and the signer, asks for the password again, and keeps a wrong one in words", async () => {
  mockFetch((c) => (c.path === "/api/auth/me" ? { body: { ...ME, full_name: "Quinn Quality", username: "qa" } } : undefined));
  const onSign = vi.fn()
    .mockRejectedValueOnce(new ApiError(403, { detail: "The signature password is wrong; nothing was signed.", code: "signature_failed" }))
    .mockResolvedValueOnce(undefined);
  render(<AuthProvider><ESignDialog meaning="Approved for release" action="Release" onSign={onSign} onClose={() => {}} /></AuthProvider>);
  const dialog = await screen.findByRole("dialog", { name: "Electronic signature" });
  expect(dialog).toHaveTextContent("Approved for release");
  await waitFor(() => expect(dialog).toHaveTextContent("Quinn Quality (qa)"));
  const password = screen.getByLabelText("Your password");
  expect(password).toHaveFocus();
  expect(screen.getByRole("button", { name: "Sign" })).toBeDisabled();
  await userEvent.type(password, "wrong");
  await userEvent.click(screen.getByRole("button", { name: "Sign" }));
  expect(await screen.findByText("The signature password is wrong; nothing was signed.")).toBeInTheDocument();
  expect(password).toHaveAttribute("aria-invalid", "true");
  await userEvent.type(password, "right");
  await userEvent.click(screen.getByRole("button", { name: "Sign" }));
  expect(onSign).toHaveBeenLastCalledWith("right");
});

test("a signed record shows printed name, meaning, date and time", () => {
  render(<SignatureList signatures={[{ printed_name: "Quinn Quality", meaning: "Approved for release", signed_at: "2026-01-02T10:00:00Z" }]} />);
  const list = screen.getByRole("list", { name: "Signatures" });
  expect(list).toHaveTextContent("Signed by Quinn Quality");
  expect(list).toHaveTextContent("Approved for release");
  expect(list.querySelector("time")).toHaveAttribute("dateTime", "2026-01-02T10:00:00Z");
});
