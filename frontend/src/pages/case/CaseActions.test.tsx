import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { expect, test, vi } from "vitest";
import { AuthProvider } from "../../auth/AuthContext";
import { ME, mockFetch } from "../../test/fetchMock";
import { REASON_SCHEMA, action, caseDetail } from "../../test/actions";
import { CaseActions } from "./CaseActions";

const BLOCKED_RELEASE = action({
  event: "release", available: false, calendar_site: "manufacturing",
  blocked_by: { guard: "every_required_qc_test_passing", text: "every required QC test has a passing result", message: "No result yet for sterility, vcn.", code: "qc_incomplete" },
  signatures: [{ meaning: "Approved for release", when: null, second_signer: false, decision: null }],
});
const HOLD = action({ event: "hold", needs_reason: true, data_schema: REASON_SCHEMA });

test("a blocked action is shown disabled with the rule that stops it and why", () => {
  mockFetch((c) => (c.path === "/api/auth/me" ? { body: ME } : undefined));
  render(<AuthProvider><CaseActions detail={caseDetail([BLOCKED_RELEASE, HOLD])} onChanged={() => {}} /></AuthProvider>);
  const release = screen.getByRole("button", { name: "Release" });
  expect(release).toBeDisabled();
  expect(release).toHaveAccessibleDescription("every required QC test has a passing result — No result yet for sterility, vcn.");
  const available = screen.getByRole("group", { name: "Actions" });
  expect(within(available).getAllByRole("button").map((b) => b.textContent)).toEqual(["Hold"]);
});

test("an available action opens its form and posts its event with the case version", async () => {
  const onChanged = vi.fn();
  const calls = mockFetch((c) => {
    if (c.path === "/api/auth/me") return { body: ME };
    if (c.path === "/api/cases/7/events" && c.method === "POST") return { body: caseDetail([], { state: "on_hold", held_from: "qc_pending", version: 5 }) };
    return undefined;
  });
  render(<AuthProvider><CaseActions detail={caseDetail([BLOCKED_RELEASE, HOLD])} onChanged={onChanged} /></AuthProvider>);
  await userEvent.click(screen.getByRole("button", { name: "Hold" }));
  const form = screen.getByRole("form", { name: "Hold" });
  await userEvent.type(within(form).getByLabelText("Reason"), "Waiting for the sponsor's answer");
  await userEvent.click(within(form).getByRole("button", { name: "Hold" }));
  expect(await screen.findByText("Hold: recorded.")).toBeInTheDocument();
  expect(calls.find((c) => c.method === "POST")?.body).toEqual({ event: "hold", data: { reason: "Waiting for the sponsor's answer" }, expected_version: 4 });
  expect(onChanged).toHaveBeenCalledWith(expect.objectContaining({ state: "on_hold" }));
});

test("an action that takes an e-signature says so on its button", () => {
  mockFetch((c) => (c.path === "/api/auth/me" ? { body: ME } : undefined));
  render(<AuthProvider><CaseActions detail={caseDetail([{ ...BLOCKED_RELEASE, available: true, blocked_by: null }])} onChanged={() => {}} /></AuthProvider>);
  expect(screen.getByRole("button", { name: "Release (e-signature)" })).toBeEnabled();
});

test("nothing for the role: the case says so", () => {
  mockFetch((c) => (c.path === "/api/auth/me" ? { body: ME } : undefined));
  render(<AuthProvider><CaseActions detail={caseDetail([])} onChanged={() => {}} /></AuthProvider>);
  expect(screen.getByText("Nothing for your role to do on this case now.")).toBeInTheDocument();
});
