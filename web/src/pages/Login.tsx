import { useState } from "preact/hooks";
import { api, ApiError } from "../api";
import type { Session } from "../types";

export function Login({ onLogin, initialError }: { onLogin: (s: Session) => void; initialError?: string }) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState(initialError ?? "");
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError("");
    try {
      onLogin(await api.login(username, password));
    } catch (err) {
      const ae = err as ApiError;
      setError(
        ae.status === 401
          ? "Wrong user name or password."
          : ae.status === 429
            ? "Too many failed attempts. Wait a minute and try again."
            : ae.message,
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="login-page">
      <form class="login-card" onSubmit={submit}>
        <div class="login-brand">
          <svg viewBox="0 0 32 32" width="40" height="40" aria-hidden="true">
            <path d="M16 2 4 7v8c0 7.5 5.1 13.4 12 15 6.9-1.6 12-7.5 12-15V7L16 2z" fill="#2b5a8f" />
            <path d="M10 15.5l4 4 8-8.5" stroke="#5fd3a0" stroke-width="3" fill="none" stroke-linecap="round" stroke-linejoin="round" />
          </svg>
          <div>
            <h1>Vigil</h1>
            <div class="muted">Container security console</div>
          </div>
        </div>
        <label>
          User name
          <input name="username" autocomplete="username" value={username} onInput={(e) => setUsername(e.currentTarget.value)} required autofocus />
        </label>
        <label>
          Password
          <input name="password" type="password" autocomplete="current-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} required />
        </label>
        {error && (
          <div class="error" role="alert">
            {error}
          </div>
        )}
        <button class="btn btn-primary" type="submit" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </div>
  );
}
