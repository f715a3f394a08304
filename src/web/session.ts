/**
 * The login: an API token kept in sessionStorage (gone when the tab closes, never sent anywhere but this
 * server), the role the server reports for it, and the client every page uses.
 */
import { ApiClient } from "../api/client.ts";
import type { SessionView } from "../api/types.ts";

const KEY = "kvmon.token";

export interface Session {
  client: ApiClient;
  user: SessionView;
}

export function storedToken(): string | null {
  return sessionStorage.getItem(KEY);
}

/** Checks the token with the server (GET /api/v1/session); keeps it only if the server accepts it. */
export async function logIn(token: string): Promise<Session> {
  const client = new ApiClient({ baseUrl: "", token });
  const user = await client.session();
  sessionStorage.setItem(KEY, token);
  return { client, user };
}

export function logOut(): void {
  sessionStorage.removeItem(KEY);
}

export function canOperate(s: Session): boolean {
  return s.user.role === "operator" || s.user.role === "admin";
}
