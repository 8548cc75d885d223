// Types for production.mjs, so tests can start the service with npm start's flags.
export const root: string;
export function productionNodeFlags(): string[];
export function serviceNodeFlags(env?: Readonly<Record<string, string | undefined>>): string[];
