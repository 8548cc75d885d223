/** Item 9 of issue 20: the rate limiter never fails open, its memory is bounded, IPv6 clients count per /64. */
import t from 'tap';
import { RateLimiter } from '../src/server/rate-limit.js';

t.test('after 100,000 distinct clients in a minute, a new client is still limited', async (t) => {
  const limiter = new RateLimiter(5);
  const now = 1_000_000;
  for (let i = 0; i < 120_000; i++) limiter.take(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, now);
  const answers = Array.from({ length: 8 }, () => limiter.take('192.0.2.1', now + 1));
  t.same(answers.map((wait) => wait > 0), [false, false, false, false, false, true, true, true], 'the sixth request of a new client waits');
  t.ok(limiter.trackedClients() <= 100_000, `at most 100,000 clients kept exactly (${limiter.trackedClients()})`);
});

t.test('clients already known keep their exact count when the table is full', async (t) => {
  const limiter = new RateLimiter(3, 10);
  const now = 5_000_000;
  limiter.take('192.0.2.1', now);
  for (let i = 0; i < 50; i++) limiter.take(`198.51.100.${i}`, now);
  t.same([limiter.take('192.0.2.1', now), limiter.take('192.0.2.1', now), limiter.take('192.0.2.1', now) > 0], [0, 0, true]);
});

t.test('IPv6 addresses of one /64 share a count; other /64s do not', async (t) => {
  const limiter = new RateLimiter(2);
  const now = 9_000_000;
  t.equal(limiter.take('2001:db8:1:2::1', now), 0);
  t.equal(limiter.take('2001:db8:1:2:aaaa:bbbb:cccc:dddd', now), 0);
  t.ok(limiter.take('2001:0db8:0001:0002:0:0:0:ffff', now) > 0, 'the third address in the same /64 is limited');
  t.equal(limiter.take('2001:db8:1:3::1', now), 0, 'the next /64 has its own count');
  t.equal(limiter.take('::ffff:192.0.2.9', now), 0, 'IPv4-mapped addresses count as IPv4');
  t.equal(limiter.take('192.0.2.9', now), 0);
  t.ok(limiter.take('192.0.2.9', now) > 0, 'and share the count of the IPv4 address');
});
