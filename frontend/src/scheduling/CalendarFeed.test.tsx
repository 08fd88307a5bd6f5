import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { expect, test } from "vitest";
import { mockFetch } from "../test/fetchMock";
import { renderWithQueries } from "../test/queries";
import { CalendarFeed } from "./CalendarFeed";

test("the feed address is shown once when made; afterwards only that one is active, and it can be revoked", async () => {
  let active = false;
  const calls = mockFetch((c) => {
    if (c.path === "/api/calendar/feed" && c.method === "GET") {
      return { body: active ? { active: true, token_hint: "x9Qz", created_at: "2026-11-29T05:00:00Z" } : { active: false, token_hint: null, created_at: null } };
    }
    if (c.path === "/api/calendar/feed" && c.method === "POST") {
      active = true;
      return { status: 201, body: { url: "/api/calendar/feed/SECRET-TOKEN.ics", token_hint: "x9Qz", created_at: "2026-11-29T05:00:00Z" } };
    }
    if (c.path === "/api/calendar/feed" && c.method === "DELETE") {
      active = false;
      return { status: 204 };
    }
    return undefined;
  });
  renderWithQueries(<CalendarFeed />);
  expect(await screen.findByText("No address yet.")).toBeInTheDocument();
  await userEvent.click(screen.getByRole("button", { name: "Make an address" }));
  const address = await screen.findByLabelText("Calendar address");
  expect(address).toHaveValue(`${window.location.origin}/api/calendar/feed/SECRET-TOKEN.ics`);
  await userEvent.click(await screen.findByRole("button", { name: "Revoke the address" }));
  expect(await screen.findByText("No address yet.")).toBeInTheDocument();
  expect(screen.queryByLabelText("Calendar address")).toBeNull();
  expect(calls.map((c) => c.method)).toContain("DELETE");
});
