import { NavLink, Outlet } from "react-router";
import { useAuth, type Role } from "../auth/AuthContext";
import { AlertBadge } from "../alerts/AlertBadge";
import { AlertToasts } from "../alerts/AlertToasts";

interface NavItem {
  to: string;
  label: string;
  roles: Role[];
}

export const NAV: NavItem[] = [
  { to: "/cases", label: "Case board", roles: ["coordinator", "collection_staff", "lab_tech", "qa", "infusion_staff"] },
  { to: "/cases/new", label: "Enroll", roles: ["coordinator"] },
  { to: "/calendar", label: "Calendar", roles: ["coordinator", "infusion_staff"] },
  { to: "/shipments", label: "Shipments", roles: ["coordinator"] },
  { to: "/excursions", label: "Excursions", roles: ["qa"] },
  { to: "/scan", label: "Scan station", roles: ["collection_staff", "lab_tech", "infusion_staff"] },
  { to: "/qa", label: "Release queue", roles: ["qa"] },
  { to: "/infusion", label: "Infusion", roles: ["infusion_staff"] },
  { to: "/analytics", label: "Analytics", roles: ["coordinator", "qa", "admin"] },
  { to: "/admin/users", label: "Users", roles: ["admin"] },
  { to: "/admin/sites", label: "Sites", roles: ["admin"] },
  { to: "/admin/protocols", label: "Protocols", roles: ["admin"] },
  { to: "/admin/label-templates", label: "Label templates", roles: ["admin", "qa"] },
];

/** Where each role starts. */
export function homeFor(roles: Role[]): string {
  if (roles.includes("coordinator")) return "/cases";
  if (roles.includes("infusion_staff")) return "/infusion";
  if (roles.includes("qa")) return "/qa";
  if (roles.includes("lab_tech") || roles.includes("collection_staff")) return "/scan";
  if (roles.includes("admin")) return "/admin/users";
  return "/alerts";
}

export function Layout() {
  const { me, signOut, hasRole } = useAuth();
  const roles = [...new Set(me?.memberships.map((m) => m.role) ?? [])];
  return (
    <>
      <a href="#main" className="skip-link">Skip to content</a>
      <header className="topbar">
        <span className="brand" aria-hidden="true">cartrack</span>
        <nav aria-label="Main">
          <ul>
            {NAV.filter((n) => hasRole(...n.roles)).map((n) => (
              <li key={n.to}><NavLink to={n.to} end>{n.label}</NavLink></li>
            ))}
            <li><NavLink to="/alerts">Alerts <AlertBadge /></NavLink></li>
          </ul>
        </nav>
        <div className="who">
          <span>{me?.full_name}</span>
          <span className="muted"> · {roles.map((r) => r.replace(/_/g, " ")).join(", ")}</span>
          <NavLink to="/account/password" className="account-link">Change password</NavLink>
          <button type="button" onClick={() => void signOut()}>Sign out</button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <Outlet />
      </main>
      <AlertToasts />
    </>
  );
}
