/** The metrics bearer token, compared in constant time. */
import { timingSafeEqual } from 'node:crypto';

/** Whether an Authorization header carries `Bearer <token>`. */
export function bearerMatches(authorization: string | undefined, token: string | undefined): boolean {
  if (token === undefined) return false;
  const expected = Buffer.from(`Bearer ${token}`);
  const given = Buffer.from(authorization ?? '');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
