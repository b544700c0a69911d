// Who is signed in. The session itself is the HttpOnly cookie; this asks the API who it
// belongs to (GET /api/userinfo/ lists exactly the caller).
import { useQuery } from '@tanstack/react-query';
import { request, type ListResult } from '../api';

export interface Me {
  id: number;
  username: string;
  nickname: string;
  email: string;
  roles: { id: number; name: string }[];
}

export const meKey = ['me'] as const;

// What the first screen asks the API, also asked by index.html's early requests
// (tools/early.ts) before the app's code has arrived; the app then gets those answers.
export const ME_URL = '/api/userinfo/';
export const MENU_URL = '/myapp/menu';
export const UNREAD_URL = '/api/notification_modelview/unread';

export function fetchMe(): Promise<Me | null> {
  return request<ListResult<Me>>(ME_URL, { quiet401: true }).then(
    (r) => r.data[0] ?? null,
    (e) => {
      if (e?.httpStatus === 401) return null;
      throw e;
    },
  );
}

// Someone who signed in before in this browser: the session cookie is HttpOnly, but the server
// sets a readable companion with the user name beside it. Only a hint (the session may have
// expired): it lets the first screen be asked for beside the session probe, not after it.
export function likelySignedIn(): boolean {
  return document.cookie.split('; ').some((c) => c.startsWith('myapp_username='));
}

export function useMe() {
  return useQuery({ queryKey: meKey, queryFn: fetchMe, staleTime: 60_000 });
}

// The menu (the server decides what a user sees) and the unread count of the bell.
export interface MenuItem {
  name: string;
  title: string;
  menu_type: string;
  url?: string;
  children?: MenuItem[];
}

export const menuQuery = {
  queryKey: ['menu'],
  queryFn: () => request<MenuItem[]>(MENU_URL),
  staleTime: 300_000,
};

export const unreadQuery = {
  queryKey: ['unread'],
  queryFn: () => request<{ unread: number }>(UNREAD_URL),
};

export function isAdmin(me: Me | null | undefined): boolean {
  return !!me?.roles.some((r) => r.name === 'admin');
}
