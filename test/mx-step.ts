/**
 * Where Thunderbird's MX step looks: the MX host minus its first label, then
 * its base domain by the Public Suffix List (private section included, as
 * Firefox ships it), and not at all when the base domain is the mail domain.
 */
import t from 'tap';
import { mxStepOfPattern, thunderbirdMxStep } from '../src/cli/mx-step.js';

t.test('the next sub-domain, then the base domain', async (t) => {
  t.same(thunderbirdMxStep('mx1.mx.hoster.example'), { asked: ['autoconfig.mx.hoster.example', 'autoconfig.hoster.example'] });
  t.same(thunderbirdMxStep('a.b.mail.protection.outlook.com'), { asked: ['autoconfig.b.mail.protection.outlook.com', 'autoconfig.outlook.com'] });
  t.same(thunderbirdMxStep('mx.hoster.co.uk'), { asked: ['autoconfig.hoster.co.uk'] }, 'co.uk is a public suffix: the next sub-domain is the base domain, asked once');
  t.same(thunderbirdMxStep('hoster.example'), { asked: ['autoconfig.hoster.example'] }, 'an MX host that is a base domain itself');
  t.same(thunderbirdMxStep('mx.kunde.blogspot.com'), { asked: ['autoconfig.kunde.blogspot.com'] }, 'private suffixes count');
});

t.test('skipped or failed', async (t) => {
  t.match(thunderbirdMxStep('mx.kunde.example', 'kunde.example'), { skipped: /base domain of mx\.kunde\.example is kunde\.example itself: Thunderbird skips its MX step/ });
  t.match(thunderbirdMxStep('192.0.2.1'), { skipped: /no base domain/ });
  t.match(thunderbirdMxStep('co.uk'), { skipped: /no base domain/ });
});

t.test('for the MX hosts a pattern matches', async (t) => {
  t.same(mxStepOfPattern('*.mx.hoster.example'), { asked: ['autoconfig.mx.hoster.example', 'autoconfig.hoster.example'] });
  t.same(mxStepOfPattern('mx.hoster.example'), { asked: ['autoconfig.hoster.example'] });
  t.match(mxStepOfPattern('*.co.uk'), { perHost: /co\.uk is a public suffix/ }, 'each MX host is its own base domain: nothing to publish once');
});
