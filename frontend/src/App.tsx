import { BrowserRouter, Navigate, Route, Routes } from "react-router";
import { AlertInbox } from "./alerts/AlertInbox";
import { AlertsProvider } from "./alerts/AlertsContext";
import { LabelTemplates } from "./admin/LabelTemplates";
import { Protocols } from "./admin/Protocols";
import { Sites } from "./admin/Sites";
import { Users } from "./admin/Users";
import { AuthProvider, useAuth, type Role } from "./auth/AuthContext";
import { ChangePassword } from "./auth/ChangePassword";
import { SignIn } from "./auth/SignIn";
import { Layout, homeFor } from "./components/Layout";
import { ReferenceProvider } from "./journey/JourneyContext";
import { CaseBoard } from "./pages/CaseBoard";
import { CasePage } from "./pages/CasePage";
import { Analytics } from "./pages/Analytics";
import { Enroll } from "./pages/Enroll";
import { InfusionCase, InfusionList } from "./pages/Infusion";
import { QaQueue, QaReview } from "./pages/QaQueue";
import { ScanStation } from "./scan/ScanStation";
import { CalendarPage } from "./scheduling/CalendarPage";
import { ExcursionQueue } from "./shipments/ExcursionQueue";
import { ShipmentBoard } from "./shipments/ShipmentBoard";
import { ShipmentPage } from "./shipments/ShipmentPage";
import type { ReactNode } from "react";

export function App() {
  return (
    <AuthProvider>
      <BrowserRouter>
        <Gate />
      </BrowserRouter>
    </AuthProvider>
  );
}

function Gate() {
  const { status, me } = useAuth();
  if (status === "loading") return <p className="loading" aria-busy="true">Loading cartrack…</p>;
  if (status === "signedOut" || !me) return <SignIn />;
  // After an admin's reset the server opens nothing else until the password is changed.
  if (me.must_change_password) return <ChangePassword forced />;
  return (
    <ReferenceProvider>
      <AlertsProvider>
        <AppRoutes />
      </AlertsProvider>
    </ReferenceProvider>
  );
}

const CASE_ROLES: Role[] = ["coordinator", "collection_staff", "lab_tech", "qa", "infusion_staff"];

export function AppRoutes() {
  const { me } = useAuth();
  const roles = me?.memberships.map((m) => m.role) ?? [];
  return (
    <Routes>
      <Route element={<Layout />}>
        <Route index element={<Navigate to={homeFor(roles)} replace />} />
        <Route path="cases" element={<Only roles={CASE_ROLES}><CaseBoard /></Only>} />
        <Route path="cases/new" element={<Only roles={["coordinator"]}><Enroll /></Only>} />
        <Route path="cases/:caseId" element={<Only roles={CASE_ROLES}><CasePage /></Only>} />
        <Route path="calendar" element={<Only roles={["coordinator", "infusion_staff"]}><CalendarPage /></Only>} />
        <Route path="shipments" element={<Only roles={["coordinator", "qa", "lab_tech", "collection_staff"]}><ShipmentBoard /></Only>} />
        <Route path="shipments/:shipmentId" element={<Only roles={CASE_ROLES}><ShipmentPage /></Only>} />
        <Route path="excursions" element={<Only roles={["qa"]}><ExcursionQueue /></Only>} />
        <Route path="scan" element={<Only roles={["collection_staff", "lab_tech", "infusion_staff"]}><ScanStation /></Only>} />
        <Route path="qa" element={<Only roles={["qa"]}><QaQueue /></Only>} />
        <Route path="qa/:caseId" element={<Only roles={["qa"]}><QaReview /></Only>} />
        <Route path="infusion" element={<Only roles={["infusion_staff"]}><InfusionList /></Only>} />
        <Route path="infusion/:caseId" element={<Only roles={["infusion_staff"]}><InfusionCase /></Only>} />
        <Route path="analytics" element={<Only roles={["coordinator", "qa", "admin"]}><Analytics /></Only>} />
        <Route path="alerts" element={<AlertInbox />} />
        <Route path="account/password" element={<ChangePassword />} />
        <Route path="admin/users" element={<Only roles={["admin"]}><Users /></Only>} />
        <Route path="admin/sites" element={<Only roles={["admin"]}><Sites /></Only>} />
        <Route path="admin/protocols" element={<Only roles={["admin"]}><Protocols /></Only>} />
        <Route path="admin/label-templates" element={<Only roles={["admin", "qa"]}><LabelTemplates /></Only>} />
        <Route path="*" element={<NotFound />} />
      </Route>
    </Routes>
  );
}

/** A page for other roles says so in words (the API would refuse it too). */
function Only({ roles, children }: { roles: Role[]; children: ReactNode }) {
  const { hasRole } = useAuth();
  if (!hasRole(...roles)) {
    return (
      <section aria-labelledby="denied-title">
        <h1 id="denied-title">Not for your role</h1>
        <p role="alert">This page is for {roles.map((r) => r.replace(/_/g, " ")).join(", ")}. Your role may not use it.</p>
      </section>
    );
  }
  return <>{children}</>;
}

function NotFound() {
  return (
    <section aria-labelledby="nf-title">
      <h1 id="nf-title">Nothing here</h1>
      <p>There is no page at this address.</p>
    </section>
  );
}
