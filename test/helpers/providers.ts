/** Provider folders written for a test. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A small valid provider serving `domain`. */
export function providerYaml(id: string, domain: string, extra = ''): string {
  return `id: ${id}
name: ${id} Mail
domains: [${domain}]
incoming:
  - { type: imap, host: imap.${domain}, port: 993 }
outgoing:
  - { host: smtp.${domain} }
${extra}`;
}

/** A fresh folder holding `files` (name → text). */
export function providerFolder(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'providers-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}
