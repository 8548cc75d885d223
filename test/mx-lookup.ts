import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import dnsPacket from 'dns-packet';
import t from 'tap';
import { MxPatternIndex } from '../src/catalog/mx-patterns.js';
import { httpStatusOf, matchMx, mostPreferred, MxResolver, parseDnsServer, type MxResolverOptions } from '../src/sources/mx.js';
import {
  blackHole, dnsmasqMissing, garbage, mxAnswer, rcodeAnswer, startDnsmasq, startFakeDnsServer, type Dnsmasq,
} from './helpers/dns-server.js';
import { figure } from './helpers/figures.js';

const patterns = new MxPatternIndex<string>();
patterns.add('hoster', ['*.mx.hoster.example', 'mx.hoster.example', '*.mx.xn--bcher-kva.example']);
patterns.add('other', ['*.mx.other.example']);

t.test('DNS server addresses: an IP address with an optional port', async (t) => {
  t.same(parseDnsServer('127.0.0.1:5353'), { address: '127.0.0.1', port: 5353 });
  t.same(parseDnsServer('192.0.2.1'), { address: '192.0.2.1', port: 53 });
  t.same(parseDnsServer('[::1]:5353'), { address: '::1', port: 5353 });
  t.same(parseDnsServer('::1'), { address: '::1', port: 53 });
  t.equal(parseDnsServer('dns.example:53'), null, 'a name would need a resolver to find the resolver');
  t.equal(parseDnsServer('127.0.0.1:70000'), null);
  t.throws(() => new MxResolver({ servers: ['nonsense'] }), /DNS server "nonsense" is not an IP address/);
});

t.test('the most preferred MX: lowest preference, ties by name', async (t) => {
  t.same(mostPreferred([{ preference: 20, host: 'a.example' }, { preference: 10, host: 'z.example' }]).host, 'z.example');
  t.same(mostPreferred([{ preference: 10, host: 'Z.example' }, { preference: 10, host: 'b.example' }, { preference: 10, host: 'c.example' }]).host, 'b.example');
});

const missing = dnsmasqMissing();
if (missing !== undefined) {
  t.skip(missing, async () => {});
} else {
  let dnsmasq: Dnsmasq;
  const resolver = (options: MxResolverOptions = {}): MxResolver => new MxResolver({ servers: [dnsmasq.server], timeoutMs: 2000, ...options });

  t.before(async () => {
    dnsmasq = await startDnsmasq(t, {
      zone: 'example',
      ttl: 300,
      mx: [
        { domain: 'kunde1.example', host: 'mx01.mx.hoster.example' },
        { domain: 'kunde2.example', host: 'MX02.MX.Hoster.Example' },
        { domain: 'elsewhere.example', host: 'mail.elsewhere.example' },
        { domain: 'tie.example', host: 'zz.mx.other.example', preference: 10 },
        { domain: 'tie.example', host: 'aa.mx.hoster.example', preference: 10 },
        { domain: 'tie.example', host: 'backup.mx.other.example', preference: 5 },
        { domain: 'idn.example', host: 'mx1.mx.bücher.example' },
        ...Array.from({ length: 6 }, (_, i) => ({ domain: `cache${i}.example`, host: 'mx.hoster.example' })),
        { domain: 'crowd.example', host: 'mx07.mx.hoster.example' },
      ],
      extraArguments: ['--txt-record=nomx.example,v=spf1 -all'],
    });
  });

  t.test('a customer domain whose MX matches a pattern: the provider, and a second lookup asks nobody', async (t) => {
    const mx = resolver();
    const first = matchMx(await mx.resolve('kunde1.example'), patterns);
    t.same(first, { kind: 'matched', owner: 'hoster', mxHost: 'mx01.mx.hoster.example' });
    t.equal(httpStatusOf(first), 200);
    t.equal(await dnsmasq.queries('kunde1.example'), 1, 'one query at the server');
    t.same(matchMx(await mx.resolve('KUNDE1.example.'), patterns), first, 'the same domain written otherwise is the cache entry');
    t.equal(await dnsmasq.queries('kunde1.example'), 1, 'still one query: the answer came from the cache');
    t.match(mx.stats(), { cacheHits: 1, queries: 1, cached: 1 });
  });

  t.test('MX hosts in upper case, as IDN, and ties are normalised and decided', async (t) => {
    const mx = resolver();
    t.same(matchMx(await mx.resolve('kunde2.example'), patterns), { kind: 'matched', owner: 'hoster', mxHost: 'mx02.mx.hoster.example' });
    t.same(matchMx(await mx.resolve('idn.example'), patterns), { kind: 'matched', owner: 'hoster', mxHost: 'mx1.mx.xn--bcher-kva.example' });
    t.same(matchMx(await mx.resolve('tie.example'), patterns), { kind: 'matched', owner: 'other', mxHost: 'backup.mx.other.example' }, 'lowest preference');
  });

  t.test('no match, no MX, NXDOMAIN: 404 answers, cached as the SOA says', async (t) => {
    const mx = resolver();
    const other = matchMx(await mx.resolve('elsewhere.example'), patterns);
    t.match(other, { kind: 'noMatch', mxHost: 'mail.elsewhere.example', reason: /mail server mail.elsewhere.example belongs to no provider/ });
    t.equal(httpStatusOf(other), 404);

    const noMx = matchMx(await mx.resolve('nomx.example'), patterns);
    t.match(noMx, { kind: 'noMatch', mxHost: null, reason: /nomx.example has no MX record/ });

    const nx = matchMx(await mx.resolve('gibtsnicht.example'), patterns);
    t.match(nx, { kind: 'nxdomain', reason: /gibtsnicht.example does not exist \(NXDOMAIN\)/ });
    t.equal(httpStatusOf(nx), 404);

    await mx.resolve('nomx.example');
    await mx.resolve('gibtsnicht.example');
    t.equal(await dnsmasq.queries('gibtsnicht.example'), 1, 'NXDOMAIN is cached (negative caching)');
    t.equal(await dnsmasq.queries('nomx.example'), 1, 'no MX is cached too');
    t.match(mx.stats(), { cacheHits: 2, cached: 3 });
  });

  t.test('answers expire: after the TTL, and after the configured maximum', async (t) => {
    const short = await startDnsmasq(t, { zone: 'example', ttl: 1, mx: [{ domain: 'short.example', host: 'mx.hoster.example' }] });
    const mx = new MxResolver({ servers: [short.server], timeoutMs: 2000 });
    await mx.resolve('short.example');
    await mx.resolve('short.example');
    t.equal(await short.queries('short.example'), 1, 'within the TTL: cached');
    await sleep(1100);
    t.same(await mx.resolve('short.example'), { kind: 'mx', host: 'mx.hoster.example', reason: 'the most preferred MX host of short.example is mx.hoster.example' });
    t.equal(await short.queries('short.example'), 2, 'after the TTL of 1 s: asked again');

    const capped = resolver({ maxCacheSeconds: 1, maxNegativeCacheSeconds: 1 });
    await capped.resolve('cache0.example');
    await capped.resolve('gone.example');
    await sleep(1100);
    await capped.resolve('cache0.example');
    await capped.resolve('gone.example');
    t.equal(await dnsmasq.queries('cache0.example'), 2, 'a TTL of 300 s is kept 1 s when the maximum says so');
    t.equal(await dnsmasq.queries('gone.example'), 2, 'and so is a negative answer');
  });

  t.test('the cache holds a bounded number of domains, the oldest leaving first', async (t) => {
    const mx = resolver({ cacheSize: 2 });
    for (const domain of ['cache1.example', 'cache2.example', 'cache3.example']) await mx.resolve(domain);
    t.equal(mx.stats().cached, 2);
    await mx.resolve('cache3.example');
    await mx.resolve('cache1.example');
    t.equal(await dnsmasq.queries('cache3.example'), 1, 'a kept domain: no query');
    t.equal(await dnsmasq.queries('cache1.example'), 2, 'the oldest was dropped: asked again');
  });

  t.test('100 lookups at once for one new domain make one query', async (t) => {
    const mx = resolver();
    const answers = await Promise.all(Array.from({ length: 100 }, () => mx.resolve('crowd.example')));
    t.equal(await dnsmasq.queries('crowd.example'), 1, 'one query at the server');
    t.ok(answers.every((a) => a.kind === 'mx' && a.host === 'mx07.mx.hoster.example'), 'all got the answer');
    t.match(mx.stats(), { coalesced: 99, queries: 1, inFlight: 0 });
  });

  t.test('a DNS server that answers nothing: timeout within the configured time', async (t) => {
    const hole = await startFakeDnsServer(t, blackHole);
    const mx = new MxResolver({ servers: [hole.server], timeoutMs: 1500, failureCacheSeconds: 0 });
    const started = performance.now();
    const answer = await mx.resolve('kunde1.example');
    const elapsed = performance.now() - started;
    t.match(answer, { kind: 'timeout', reason: /no DNS server answered within 1500 ms/ });
    t.equal(httpStatusOf(matchMx(answer, patterns)), 503);
    t.ok(elapsed >= 1450 && elapsed < 1500 + 300, `answered after ${elapsed.toFixed(0)} ms (timeout 1500 ms)`);
    t.equal(hole.received(), 2, 'asked again halfway, as resolvers do');

    const fallback = new MxResolver({ servers: [hole.server, dnsmasq.server], timeoutMs: 1500 });
    const fallbackStart = performance.now();
    t.match(await fallback.resolve('kunde1.example'), { kind: 'mx', host: 'mx01.mx.hoster.example' }, 'the second server answers');
    const fallbackMs = performance.now() - fallbackStart;
    t.ok(fallbackMs >= 700 && fallbackMs < 1100, `after one attempt's share of the timeout (${fallbackMs.toFixed(0)} ms)`);
    figure(`MX lookup: a silent DNS server gives "timeout" after ${elapsed.toFixed(0)} ms (timeout 1500 ms); with a second server, its answer after ${fallbackMs.toFixed(0)} ms`);
  });

  t.test('SERVFAIL, REFUSED and garbage: defined answers at once, briefly kept', async (t) => {
    const servfail = await startFakeDnsServer(t, rcodeAnswer('SERVFAIL'));
    const mx = new MxResolver({ servers: [servfail.server], timeoutMs: 2000, failureCacheSeconds: 5 });
    const started = performance.now();
    const answer = await mx.resolve('kunde1.example');
    t.match(answer, { kind: 'servfail', reason: new RegExp(`${servfail.server} answered SERVFAIL`) });
    t.ok(performance.now() - started < 500, 'without waiting for the timeout');
    t.equal(httpStatusOf(matchMx(answer, patterns)), 503);
    await mx.resolve('kunde1.example');
    t.equal(servfail.received(), 1, 'kept for failureCacheSeconds (RFC 2308 §7)');

    const refused = await startFakeDnsServer(t, rcodeAnswer('REFUSED'));
    t.match(await new MxResolver({ servers: [refused.server] }).resolve('kunde1.example'), { kind: 'servfail', reason: /answered REFUSED/ });

    const junk = await startFakeDnsServer(t, garbage);
    const junkStart = performance.now();
    const junkAnswer = await new MxResolver({ servers: [junk.server], timeoutMs: 2000 }).resolve('kunde1.example');
    t.match(junkAnswer, { kind: 'garbage', reason: /answered with 15 bytes that are not a DNS message/ });
    t.ok(performance.now() - junkStart < 500, 'without waiting for the timeout');
    t.equal(httpStatusOf(matchMx(junkAnswer, patterns)), 503);

    const wrongId = await startFakeDnsServer(t, (query, raw) => mxAnswer([{ host: 'mx.hoster.example', preference: 1 }], 60)({ ...query, id: (query.id! + 1) & 0xffff }, raw));
    t.match(await new MxResolver({ servers: [wrongId.server] }).resolve('kunde1.example'), { kind: 'garbage', reason: /a response to another query/ });

    const otherQuestion = await startFakeDnsServer(t, (query, raw) => mxAnswer([{ host: 'mx.hoster.example', preference: 1 }], 60)({ ...query, questions: [{ type: 'MX', name: 'evil.example' }] }, raw));
    t.match(await new MxResolver({ servers: [otherQuestion.server] }).resolve('kunde1.example'), { kind: 'garbage', reason: /a response to another question/ });

    const failover = new MxResolver({ servers: [junk.server, dnsmasq.server], timeoutMs: 2000 });
    t.match(await failover.resolve('kunde2.example'), { kind: 'mx', host: 'mx02.mx.hoster.example' }, 'garbage from one server: the next is asked at once');
  });

  t.test('answers from the internet: trailing dot, upper case and Unicode; null MX; truncated → TCP', async (t) => {
    const unicode = await startFakeDnsServer(t, mxAnswer([{ host: 'MX1.MX.Bücher.Example.', preference: 10 }, { host: 'mx9.mx.other.example', preference: 20 }], 60));
    t.same(matchMx(await new MxResolver({ servers: [unicode.server] }).resolve('kunde.example'), patterns),
      { kind: 'matched', owner: 'hoster', mxHost: 'mx1.mx.xn--bcher-kva.example' });

    const nullMx = await startFakeDnsServer(t, mxAnswer([{ host: '.', preference: 0 }], 60));
    t.match(matchMx(await new MxResolver({ servers: [nullMx.server] }).resolve('nomail.example'), patterns),
      { kind: 'noMatch', mxHost: null, reason: /accepts no mail \(null MX, RFC 7505\)/ });

    const records = [{ host: 'mx2.mx.hoster.example', preference: 10 }];
    const truncating = await startFakeDnsServer(t, mxAnswer(records, 60, dnsPacket.TRUNCATED_RESPONSE), mxAnswer(records, 60));
    const mx = new MxResolver({ servers: [truncating.server] });
    t.match(await mx.resolve('big.example'), { kind: 'mx', host: 'mx2.mx.hoster.example' });
    t.equal(truncating.received(), 2, 'one UDP question, then the same over TCP');
    t.equal(mx.stats().queries, 2);
  });

  t.test('beyond the cap on lookups in flight: busy at once, with a Retry-After', async (t) => {
    const hole = await startFakeDnsServer(t, blackHole);
    const mx = new MxResolver({ servers: [hole.server], timeoutMs: 800, maxInFlight: 2, busyRetryAfterSeconds: 3, failureCacheSeconds: 0 });
    const slow = [mx.resolve('one.example'), mx.resolve('two.example')];
    const started = performance.now();
    const busy = await mx.resolve('three.example');
    t.match(busy, { kind: 'busy', retryAfterSeconds: 3, reason: /2 MX lookups are in flight/ });
    t.ok(performance.now() - started < 50, 'without waiting');
    t.equal(httpStatusOf(matchMx(busy, patterns)), 503);
    t.equal((await mx.resolve('one.example')).kind, 'timeout', 'a domain already in flight joins it rather than being busy');
    await Promise.all(slow);
    t.equal(mx.stats().inFlight, 0);
    t.equal((await mx.resolve('three.example')).kind, 'timeout', 'room again: looked up');
    t.equal(mx.stats().busy, 1);
  });

  t.test('not a domain name: NXDOMAIN without a query', async (t) => {
    const mx = resolver();
    t.match(await mx.resolve('not a domain'), { kind: 'nxdomain', reason: /is not a domain name/ });
    t.equal(mx.stats().queries, 0);
  });

  t.test('latency: a lookup at the DNS server and one from the cache', async (t) => {
    const mx = resolver();
    const cold: number[] = [];
    for (let i = 0; i < 6; i++) {
      mx.clear();
      const started = performance.now();
      await mx.resolve(`cache${i}.example`);
      cold.push(performance.now() - started);
    }
    const rounds = 100_000;
    const started = performance.now();
    for (let i = 0; i < rounds; i++) await mx.resolve('cache5.example');
    const warmMicros = ((performance.now() - started) * 1000) / rounds;
    cold.sort((a, b) => a - b);
    t.ok(warmMicros < 50, `a cached answer takes ${warmMicros.toFixed(2)} µs`);
    figure(`MX lookup against dnsmasq on loopback: median ${cold[3]!.toFixed(2)} ms cold (6 domains), ${warmMicros.toFixed(2)} µs from the cache`);
  });
}
