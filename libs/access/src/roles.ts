/** What a token may do: read (viewer), manage rule sets (analyst), manage tokens (admin). */
export type Role = 'viewer' | 'analyst' | 'admin';

/** Every role, smallest first. */
export const ROLES: readonly Role[] = ['viewer', 'analyst', 'admin'];

/** A role allows everything a smaller one does. */
export const ROLE_RANK: Record<Role, number> = { viewer: 1, analyst: 2, admin: 3 };

export const isRole = (value: string): value is Role => (ROLES as readonly string[]).includes(value);
