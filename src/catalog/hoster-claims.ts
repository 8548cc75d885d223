/**
 * The hosters' names across providers (issue 21): a service host or an MX
 * pattern that two providers claim. Unlike a domain served twice, which
 * rejects the later file, the later provider loses only the name in
 * question and serves the rest: a hoster's file usually claims the whole
 * customer base, and one copied line should not take it out of service.
 * The catalog then holds each name once, so what a request finds and what
 * `dns` prints for a provider agree.
 */
import { placeInFile } from './load.js';
import type { Provider } from './model.js';
import { MxPatternIndex } from './mx-patterns.js';
import type { Problem } from './problems.js';

export class HosterClaims {
  private readonly serviceHosts = new Map<string, Provider>();
  private readonly patterns = new MxPatternIndex<Provider>();

  /**
   * Claim a provider's service hosts and MX patterns (providers in file
   * order: the first keeps a name). Returns the provider without the names
   * others hold, and a problem for each name at its place in `text`:
   * an error for a name taken, a warning for an MX pattern that overlaps
   * another provider's (both kept; the more specific wins a host both match).
   */
  claim(provider: Provider, text: string): { provider: Provider; problems: Problem[] } {
    const problems: Problem[] = [];
    const report = (key: 'serviceHosts' | 'mxPatterns', index: number, severity: Problem['severity'], message: string): void => {
      problems.push({ file: provider.source, ...placeInFile(text, [key, index]), severity, message });
    };
    const holder = (owner: Provider): string => `provider ${owner.id} (${owner.source})`;
    const serviceHosts = provider.serviceHosts.filter((host, i) => {
      const owner = this.serviceHosts.get(host);
      if (owner === undefined || owner === provider) return true;
      report('serviceHosts', i, 'error', `service host ${host} is already claimed by ${holder(owner)}; it stays there, the rest of this file is served`);
      return false;
    });
    for (const host of serviceHosts) this.serviceHosts.set(host, provider);
    const mxPatterns = provider.mxPatterns.filter((pattern, i) => {
      const conflicts = this.patterns.add(provider, [pattern], holder);
      for (const conflict of conflicts) {
        if (conflict.kind === 'same') report('mxPatterns', i, 'error', `MX pattern ${pattern} is already claimed by ${conflict.owner}; it stays there, the rest of this file is served`);
        else report('mxPatterns', i, 'warning', `MX pattern ${pattern} overlaps ${conflict.held} of ${conflict.owner}: an MX host both match goes to the more specific, ${conflict.winner}`);
      }
      return !conflicts.some((c) => c.kind === 'same');
    });
    const changed = serviceHosts.length !== provider.serviceHosts.length || mxPatterns.length !== provider.mxPatterns.length;
    return { provider: changed ? { ...provider, serviceHosts, mxPatterns } : provider, problems };
  }
}
