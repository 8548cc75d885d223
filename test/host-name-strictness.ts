/** Item 8 of issue 20 (function level): names that are not host names are not domains. */
import t from 'tap';
import { normalizeDomain } from '../src/mailbox.js';
import { request, startServer } from './helpers/server.js';

t.test('characters that URL parsing cuts or UTS #46 maps are refused', async (t) => {
  for (const name of [
    'autoconfig.example.com/evil', 'example.com\\evil', 'example.com?x', 'example.com#x', 'user@example.com', 'example.com:443',
    'exa mple.com', 'example.com\t', '\u00a0example.com', 'ｅｘａｍｐｌｅ.com', 'example。com', 'ex\u00adample.com', 'example.com\u200b',
    'ab--cd.example', 'xn--zz.example', '-example.com', 'example-.com', `${'a'.repeat(64)}.example`, `${'abcdefghi.'.repeat(25)}example`, 'example.123',
  ]) {
    t.equal(normalizeDomain(name), null, JSON.stringify(name));
  }
});

t.test('host names, internationalised ones and their punycode form pass', async (t) => {
  t.equal(normalizeDomain('example.com'), 'example.com');
  t.equal(normalizeDomain('Example.COM.'), 'example.com');
  t.equal(normalizeDomain('bücher.example'), 'xn--bcher-kva.example');
  t.equal(normalizeDomain('BÜCHER.example'), 'xn--bcher-kva.example');
  t.equal(normalizeDomain('xn--bcher-kva.example'), 'xn--bcher-kva.example');
  t.equal(normalizeDomain('straße.example'), 'xn--strae-oqa.example');
  t.equal(normalizeDomain(`${'a'.repeat(63)}.example`), `${'a'.repeat(63)}.example`);
  t.equal(normalizeDomain('a-b.example'), 'a-b.example');
});

t.test('Caddy gets no certificate for a name with a path', async (t) => {
  const { url } = await startServer(t);
  t.equal((await request(`${url}/caddy/ask?domain=autoconfig.example.com`)).status, 200, 'the real name is ok');
  for (const domain of ['autoconfig.example.com/evil', 'autoconfig.example.com%2Fevil', 'autoconfig.example.com%5Cevil', 'autoconfig.example.com%3Fx', 'autoconfig.ｅｘａｍｐｌｅ.com']) {
    t.not((await request(`${url}/caddy/ask?domain=${encodeURIComponent(domain)}`)).status, 200, domain);
  }
});
