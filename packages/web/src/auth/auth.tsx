/**
 * Who is signed in. On load the console asks GET /session (the cookie survives reloads; the CSRF
 * token comes back with it) and GET /setup (first run: no admin yet → the setup page). A 401 from
 * any later call means the session expired or was revoked: the user is sent to sign in again with
 * a note, and returns to the page they were on.
 */
import type { Role, SessionInfo, User } from '@mimir/api-contract';
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { ApiError, onUnauthorized, request, setCsrfToken } from '../api/client';

export type AuthState =
  | { status: 'loading' }
  | { status: 'setup' }
  | { status: 'signed-out'; expired: boolean }
  | { status: 'signed-in'; user: User };

interface AuthApi {
  state: AuthState;
  signIn: (email: string, password: string) => Promise<void>;
  setup: (email: string, name: string, password: string) => Promise<void>;
  signOut: () => Promise<void>;
}

const AuthContext = createContext<AuthApi | undefined>(undefined);

export function AuthProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<AuthState>({ status: 'loading' });

  const adopt = useCallback((s: SessionInfo) => {
    setCsrfToken(s.csrfToken);
    setState({ status: 'signed-in', user: s.user });
  }, []);

  useEffect(() => {
    const ctl = new AbortController();
    void (async () => {
      try {
        const s = await request<SessionInfo>('GET', '/session', { quiet401: true });
        if (!ctl.signal.aborted) adopt(s);
      } catch (err) {
        if (!(err instanceof ApiError) || err.status !== 401) {
          if (!ctl.signal.aborted) setState({ status: 'signed-out', expired: false });
          return;
        }
        try {
          const setup = await request<{ needsSetup: boolean }>('GET', '/setup', { quiet401: true });
          if (!ctl.signal.aborted) setState(setup.needsSetup ? { status: 'setup' } : { status: 'signed-out', expired: false });
        } catch {
          if (!ctl.signal.aborted) setState({ status: 'signed-out', expired: false });
        }
      }
    })();
    return () => ctl.abort();
  }, [adopt]);

  useEffect(() => onUnauthorized(() => {
    setCsrfToken('');
    setState((s) => (s.status === 'signed-in' ? { status: 'signed-out', expired: true } : s));
  }), []);

  const value = useMemo<AuthApi>(() => ({
    state,
    signIn: async (email, password) => adopt(await request<SessionInfo>('POST', '/session', { body: { email, password }, quiet401: true })),
    setup: async (email, name, password) => {
      await request('POST', '/setup', { body: { email, name, password } });
      adopt(await request<SessionInfo>('POST', '/session', { body: { email, password }, quiet401: true }));
    },
    signOut: async () => {
      try {
        await request('DELETE', '/session', { quiet401: true });
      } finally {
        setCsrfToken('');
        setState({ status: 'signed-out', expired: false });
      }
    },
  }), [state, adopt]);

  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthApi {
  const ctx = useContext(AuthContext);
  if (ctx === undefined) throw new Error('useAuth outside AuthProvider');
  return ctx;
}

/** The signed-in user; only for pages rendered inside the signed-in shell. */
export function useUser(): User {
  const { state } = useAuth();
  if (state.status !== 'signed-in') throw new Error('useUser outside the signed-in shell');
  return state.user;
}

/** Mirrors packages/server/src/auth/permissions.ts for what the console shows; the API enforces. */
export function canRunQueries(role: Role): boolean {
  return role === 'admin' || role === 'operator';
}
export function isAdmin(role: Role): boolean {
  return role === 'admin';
}
