import { act, render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, expect, test, vi } from "vitest";
import { api } from "../api/client";
import { ME, mockFetch } from "../test/fetchMock";
import { AuthProvider, IdleSignOut, useAuth } from "./AuthContext";
import { SignIn } from "./SignIn";

function Shell() {
  const { status, me } = useAuth();
  if (status === "loading") return <p>loading</p>;
  return me ? <p>Hello {me.full_name}</p> : <SignIn />;
}

afterEach(() => vi.useRealTimers());

test("signing in sends the credentials and then the CSRF token on every unsafe request", async () => {
  const calls = mockFetch((c) => {
    if (c.path === "/api/auth/me") return { status: 401, body: { detail: "Sign in first.", code: "not_authenticated" } };
    if (c.path === "/api/auth/login") return { body: ME };
    if (c.path === "/api/alerts/1/ack") return { body: {} };
    return undefined;
  });
  render(<AuthProvider><Shell /></AuthProvider>);
  await userEvent.type(await screen.findByLabelText("Username"), "coordinator");
  await userEvent.type(screen.getByLabelText("Password"), "secret");
  await userEvent.click(screen.getByRole("button", { name: "Sign in" }));
  expect(await screen.findByText("Hello Cora Coordinator")).toBeInTheDocument();
  expect(calls.find((c) => c.path === "/api/auth/login")?.body).toEqual({ username: "coordinator", password: "secret" });
  await api.POST("/api/alerts/{alert_id}/ack", { params: { path: { alert_id: 1 } }, body: { note: null } });
  expect(calls.at(-1)?.headers.get("X-CSRF-Token")).toBe("csrf-123");
});

test("a wrong password is shown in words next to the form", async () => {
  mockFetch((c) => {
    if (c.path === "/api/auth/me") return { status: 401, body: { detail: "Sign in first.", code: "not_authenticated" } };
    if (c.path === "/api/auth/login") return { status: 401, body: { detail: "Wrong username or password.", code: "bad_credentials" } };
    return undefined;
  });
  render(<AuthProvider><Shell /></AuthProvider>);
  await userEvent.type(await screen.findByLabelText("Username"), "coordinator");
  await userEvent.type(screen.getByLabelText("Password"), "nope");
  await userEvent.click(screen.getByRole("button", { name: "Sign in" }));
  expect(await screen.findByRole("alert")).toHaveTextContent("Wrong username or password.");
});

test("any 401 (session gone) returns to sign-in with the server's words", async () => {
  let meCalls = 0;
  mockFetch((c) => {
    if (c.path === "/api/auth/me") return ++meCalls === 1 ? { body: ME } : { status: 401, body: { detail: "Your session is not valid.", code: "session_invalid" } };
    if (c.path.startsWith("/api/cases")) return { status: 401, body: { detail: "You were signed out after a period of inactivity; sign in again.", code: "session_idle" } };
    return undefined;
  });
  render(<AuthProvider><Shell /></AuthProvider>);
  expect(await screen.findByText("Hello Cora Coordinator")).toBeInTheDocument();
  await act(async () => {
    await api.GET("/api/cases");
  });
  expect(await screen.findByRole("status")).toHaveTextContent("You were signed out after a period of inactivity");
  expect(screen.getByLabelText("Username")).toBeInTheDocument();
});

test("idle sign-out: warns a minute before, then signs out with the reason", () => {
  vi.useFakeTimers();
  const onIdle = vi.fn();
  render(<IdleSignOut minutes={2} onIdle={onIdle} />);
  act(() => void vi.advanceTimersByTime(61_000));
  expect(screen.getByRole("alert")).toHaveTextContent(/signed out in \d+ s/);
  act(() => void vi.advanceTimersByTime(60_000));
  expect(onIdle).toHaveBeenCalledWith(expect.stringContaining("after 2 minutes without activity"));
});

test("activity resets the idle clock", () => {
  vi.useFakeTimers();
  const onIdle = vi.fn();
  render(<IdleSignOut minutes={1} onIdle={onIdle} />);
  act(() => void vi.advanceTimersByTime(50_000));
  act(() => void window.dispatchEvent(new KeyboardEvent("keydown", { key: "a" })));
  act(() => void vi.advanceTimersByTime(50_000));
  expect(onIdle).not.toHaveBeenCalled();
  act(() => void vi.advanceTimersByTime(15_000));
  expect(onIdle).toHaveBeenCalled();
});
