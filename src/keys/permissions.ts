/**
 * Private key files (signing, HTTPS): one check of their permissions for
 * both. A key readable by group or others is a warning, never an error:
 * some secret stores mount files 0644 inside a private volume.
 */
import { statSync } from 'node:fs';

export function keyPermissionWarning(file: string): string | undefined {
  const { mode } = statSync(file);
  return (mode & 0o077) !== 0 ? `${file} is readable by other users (mode ${(mode & 0o777).toString(8)}); chmod 600 it` : undefined;
}
