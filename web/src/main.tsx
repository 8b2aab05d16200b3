// The Vigil console: a single-page app served by `vigil run` (web/embed.go).
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, ApiError, setCsrf, setUnauthorizedHandler } from "./api";
import { navigate, useLocation } from "./router";
import { Link, SessionContext } from "./ctx";
import type { Health, Session } from "./types";
import { Login } from "./pages/Login";
import { Alerts } from "./pages/Alerts";
import { AlertDetailPage } from "./pages/AlertDetail";
import { Assets } from "./pages/Assets";
import { Dashboard } from "./pages/Dashboard";
import "./style.css";

const NAV = [
  { href: "/", label: "Dashboard", icon: "M3 13h8V3H3v10zm0 8h8v-6H3v6zm10 0h8V11h-8v10zm0-18v6h8V3h-8z" },
  { href: "/alerts", label: "Alerts", icon: "M12 2 1 21h22L12 2zm1 15h-2v-2h2v2zm0-4h-2V9h2v4z" },
  { href: "/assets/hosts", label: "Hosts", icon: "M4 4h16v6H4V4zm0 10h16v6H4v-6zm3-8v2h2V6H7zm0 10v2h2v-2H7z" },
  { href: "/assets/containers", label: "Containers", icon: "M21 7 12 2 3 7v10l9 5 9-5V7zm-9 2.7L6.2 6.6 12 3.5l5.8 3.1L12 9.7z" },
  { href: "/assets/images", label: "Images", icon: "M4 4h16v16H4V4zm2 12h12l-4-5-3 4-2-2.5L6 16z" },
  { href: "/assets/pods", label: "Pods", icon: "M12 2a10 10 0 100 20 10 10 0 000-20zm0 4a6 6 0 110 12 6 6 0 010-12z" },
];

function Icon({ d }: { d: string }) {
  return (
    <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true">
      <path d={d} fill="currentColor" />
    </svg>
  );
}

function Shell({ session, onLogout, children }: { session: Session; onLogout: () => void; children: preact.ComponentChildren }) {
  const { path } = useLocation();
  const [health, setHealth] = useState<Health | null>(null);
  useEffect(() => {
    let stop = false;
    const load = () =>
      api
        .get<Health>("/api/v1/health")
        .then((h) => !stop && setHealth(h))
        .catch(() => !stop && setHealth(null));
    load();
    const t = setInterval(load, 30000);
    return () => {
      stop = true;
      clearInterval(t);
    };
  }, []);
  const active = (href: string) => (href === "/" ? path === "/" || path === "/dashboard" : path.startsWith(href));
  return (
    <div class="shell">
      <aside class="sidebar">
        <div class="brand">
          <svg viewBox="0 0 32 32" width="26" height="26" aria-hidden="true">
            <path d="M16 2 4 7v8c0 7.5 5.1 13.4 12 15 6.9-1.6 12-7.5 12-15V7L16 2z" fill="#2b5a8f" />
            <path d="M10 15.5l4 4 8-8.5" stroke="#5fd3a0" stroke-width="3" fill="none" stroke-linecap="round" stroke-linejoin="round" />
          </svg>
          <span>Vigil</span>
        </div>
        <nav>
          {NAV.map((n) => (
            <Link href={n.href} class={active(n.href) ? "nav-item active" : "nav-item"}>
              <Icon d={n.icon} />
              {n.label}
            </Link>
          ))}
        </nav>
        <div class="sidebar-foot">
          {health ? (
            <div class="health" title={`store: ${health.store}`}>
              <div class="health-row">
                <span class={health.status === "ok" ? "dot ok" : "dot bad"} />
                Server {health.status}
              </div>
              {Object.entries(health.sources ?? {}).map(([k, v]) => (
                <div class="health-row" title={v}>
                  <span class={v === "running" ? "dot ok" : v === "off" ? "dot off" : "dot bad"} />
                  {k} <span class="muted">{v.length > 14 ? v.slice(0, 14) + "…" : v}</span>
                </div>
              ))}
              {health.version && <div class="muted small">version {health.version}</div>}
            </div>
          ) : (
            <div class="muted small">health unknown</div>
          )}
        </div>
      </aside>
      <div class="main">
        <header class="topbar">
          <div class="topbar-title">{NAV.find((n) => active(n.href))?.label ?? ""}</div>
          <div class="topbar-user">
            <span class="user-name">{session.user}</span>
            <span class={`role role-${session.role}`}>{session.role}</span>
            <button class="btn btn-ghost" onClick={onLogout}>
              Sign out
            </button>
          </div>
        </header>
        <main class="content">{children}</main>
      </div>
    </div>
  );
}

function Routes() {
  const { path } = useLocation();
  let m: RegExpMatchArray | null;
  if (path === "/" || path === "/dashboard") return <Dashboard />;
  if (path === "/alerts") return <Alerts />;
  if ((m = path.match(/^\/alerts\/(\d+)$/))) return <AlertDetailPage id={Number(m[1])} />;
  if ((m = path.match(/^\/assets\/(hosts|containers|images|pods)(?:\/(.+))?$/)))
    return <Assets kind={m[1] as "hosts"} id={m[2] ? decodeURIComponent(m[2]) : undefined} />;
  return (
    <div class="empty">
      <h2>Page not found</h2>
      <p>
        <Link href="/">Back to the dashboard</Link>
      </p>
    </div>
  );
}

function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [error, setError] = useState("");
  const { path } = useLocation();

  useEffect(() => {
    setUnauthorizedHandler(() => setSession(null));
    api
      .me()
      .then((s) => {
        setCsrf(s.csrf_token);
        setSession(s);
      })
      .catch((e: ApiError) => {
        if (e.status !== 401) setError(e.message);
        setSession(null);
      });
  }, []);

  const login = (s: Session) => {
    setCsrf(s.csrf_token);
    setSession(s);
    if (location.pathname === "/login") {
      const next = new URLSearchParams(location.search).get("next");
      navigate(next && next.startsWith("/") && !next.startsWith("//") ? next : "/", true);
    }
  };
  const logout = async () => {
    try {
      await api.logout();
    } catch {
      /* the session is gone either way */
    }
    setCsrf("");
    setSession(null);
    navigate("/login", true);
  };

  if (session === undefined) return <div class="loading-page">Loading…</div>;
  if (session === null) {
    if (path !== "/login") {
      const next = path + location.search;
      history.replaceState(null, "", "/login" + (next !== "/" ? "?next=" + encodeURIComponent(next) : ""));
    }
    return <Login onLogin={login} initialError={error} />;
  }
  if (path === "/login") {
    navigate("/", true);
    return null;
  }
  return (
    <SessionContext.Provider value={session}>
      <Shell session={session} onLogout={logout}>
        <Routes />
      </Shell>
    </SessionContext.Provider>
  );
}

render(<App />, document.getElementById("app")!);
