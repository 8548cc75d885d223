/**
 * Where Thunderbird's MX step looks (../shared/research/thunderbird.md §1.6
 * and §2.2; fetchConfigForMX in FetchConfig.sys.mjs). For the most
 * preferred MX host of the mail domain it asks, over https only and without
 * .well-known, https://autoconfig.<d>/mail/config-v1.1.xml?emailaddress=…
 * (and the ISPDB) for, in this order of preference:
 *
 * 1. the MX host minus its first label (Services.eTLD.getNextSubDomain),
 *    unless that is the base domain itself;
 * 2. the MX host's base domain (Services.eTLD.getBaseDomainFromHost: the
 *    registrable domain by the Public Suffix List, private section
 *    included, as Firefox ships it).
 *
 * It skips the step when the base domain is the mail domain itself, and
 * fails it when the MX host has no base domain (an address, a public suffix).
 */
import { getDomain } from 'tldts';

export type MxStep =
  /** The host names asked (autoconfig.<d>), Thunderbird's preferred first. */
  | { readonly asked: readonly string[] }
  | { readonly skipped: string };

export function thunderbirdMxStep(mxHost: string, mailDomain?: string): MxStep {
  const base = baseDomain(mxHost);
  if (base === null) return { skipped: `${mxHost} has no base domain (it is an address or a public suffix): Thunderbird's MX step fails` };
  if (base === mailDomain) return { skipped: `the base domain of ${mxHost} is ${mailDomain} itself: Thunderbird skips its MX step` };
  const next = mxHost === base ? undefined : mxHost.slice(mxHost.indexOf('.') + 1);
  return { asked: [...(next !== undefined && next !== base ? [next] : []), base].map((d) => `autoconfig.${d}`) };
}

/** The registrable domain of a host name, or null for an address or a public suffix. */
export function baseDomain(host: string): string | null {
  return getDomain(host, { allowPrivateDomains: true, extractHostname: false });
}

/**
 * The step for the MX hosts an MX pattern matches (mx-patterns.ts): for
 * "*.s", that of a host one label in front of s; `perHost` when the base
 * domain is each MX host itself (s is a public suffix), so that there is
 * nothing the hoster could publish once.
 */
export function mxStepOfPattern(pattern: string): MxStep | { readonly perHost: string } {
  if (!pattern.startsWith('*.')) return thunderbirdMxStep(pattern);
  const suffix = pattern.slice(2);
  const sample = `mx.${suffix}`;
  if (baseDomain(sample) === sample) return { perHost: `${suffix} is a public suffix: Thunderbird asks autoconfig.<MX host> for each MX host, so customers need autoconfig.<domain>` };
  return thunderbirdMxStep(sample);
}
