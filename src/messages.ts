/**
 * User-facing strings, per language, from templates/messages/<lang>.json.
 * Read once at start-up; English is the fallback for a missing key.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FALLBACK_LANGUAGE } from './catalog/model.js';
import { TEMPLATES_DIR } from './paths.js';

export const MESSAGES_DIR = join(TEMPLATES_DIR, 'messages');

type Catalog = Readonly<Record<string, string>>;
const byLanguage = new Map<string, Catalog>();
for (const file of readdirSync(MESSAGES_DIR).filter((f) => f.endsWith('.json'))) {
  byLanguage.set(file.slice(0, -'.json'.length), JSON.parse(readFileSync(join(MESSAGES_DIR, file), 'utf8')) as Catalog);
}

/** Languages with a message file, fallback first. */
export const LANGUAGES: readonly string[] = [
  FALLBACK_LANGUAGE,
  ...[...byLanguage.keys()].filter((l) => l !== FALLBACK_LANGUAGE).sort(),
];

/** The message `key` in `language` with `{name}` parameters filled in. */
export function message(language: string, key: string, params: Record<string, string | number> = {}): string {
  const template = byLanguage.get(language)?.[key] ?? byLanguage.get(FALLBACK_LANGUAGE)?.[key];
  if (template === undefined) throw new Error(`no message "${key}" in templates/messages`);
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
}
