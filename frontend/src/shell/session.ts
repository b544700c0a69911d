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

export function fetchMe(): Promise<Me | null> {
  return request<ListResult<Me>>('/api/userinfo/', { quiet401: true }).then(
    (r) => r.data[0] ?? null,
    (e) => {
      if (e?.httpStatus === 401) return null;
      throw e;
    },
  );
}

export function useMe() {
  return useQuery({ queryKey: meKey, queryFn: fetchMe, staleTime: 60_000 });
}

export function isAdmin(me: Me | null | undefined): boolean {
  return !!me?.roles.some((r) => r.name === 'admin');
}
