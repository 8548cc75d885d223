/**
 * LDAP log-in lookups against a real OpenLDAP (issue 22): RFC 4515 escaping,
 * found / not found / alias, hostile addresses, TLS both ways, one reused
 * bound connection, reconnecting, and the timeout of a frozen server.
 */
import t from 'tap';
import { DirectoryAnswerError } from '../src/directory/directory.js';
import { escapeFilterValue, fillFilter, LdapDirectory, type LdapDirectoryOptions } from '../src/directory/ldap.js';
import { PEOPLE, person, slapdSuite } from './helpers/slapd.js';

t.test('RFC 4515 escaping of assertion values', async (t) => {
  t.equal(escapeFilterValue('alice@example.com'), 'alice@example.com', 'an ordinary address stays as it is');
  t.equal(escapeFilterValue('*'), '\\2a');
  t.equal(escapeFilterValue('('), '\\28');
  t.equal(escapeFilterValue(')'), '\\29');
  t.equal(escapeFilterValue('\\'), '\\5c');
  t.equal(escapeFilterValue('\0'), '\\00');
  t.equal(escapeFilterValue('*)(uid=*'), '\\2a\\29\\28uid=\\2a');
  t.equal(escapeFilterValue('jörg@bücher.example'), 'jörg@bücher.example', 'UTF-8 stands for itself (UTFMB)');
  t.equal(escapeFilterValue('\\2a'), '\\5c2a', 'an escape sequence in the input is escaped, not passed on');
  t.equal(fillFilter('(|(mail=%EMAILADDRESS%)(uid=%EMAILLOCALPART%))', 'a*b@x.example'), '(|(mail=a\\2ab@x.example)(uid=a\\2ab))');
  t.equal(fillFilter('(&(mail=%EMAILADDRESS%)(o=%EMAILDOMAIN%))', '%EMAILDOMAIN%@x.example'), '(&(mail=%EMAILDOMAIN%@x.example)(o=x.example))',
    'one pass: a placeholder inside the address is not filled again');
});

slapdSuite(t, 'against slapd', async (t, slapd) => {
  await slapd.add([
    person('u100', ['alice@example.com', 'a.smith@example.com'], 'Alice Smith'),
    person('k-204711', ['bob@example.com']),
    person('twin1', ['twin@example.com']),
    person('twin2', ['twin@example.com']),
    // Would be found by an unescaped "*" or "*)(uid=*".
    person('star', ['*@example.com']),
  ].join('\n'));
  const directories: LdapDirectory[] = [];
  t.teardown(() => Promise.all(directories.map((d) => d.close())));
  const directory = (overrides: Partial<LdapDirectoryOptions> = {}): LdapDirectory => {
    const made = new LdapDirectory({
      url: slapd.url,
      startTls: false,
      bindDn: slapd.bindDn,
      password: async () => slapd.bindPassword,
      baseDn: PEOPLE,
      filter: '(&(objectClass=inetOrgPerson)(mail=%EMAILADDRESS%))',
      loginAttribute: 'uid',
      displayNameAttribute: 'displayName',
      timeoutMs: 1000,
      ...overrides,
    });
    directories.push(made);
    return made;
  };

  t.test('found, with the display name; found without one; not found', async (t) => {
    const ldap = directory();
    t.same(await ldap.find('alice@example.com'), { login: 'u100', displayName: 'Alice Smith' });
    t.same(await ldap.find('bob@example.com'), { login: 'k-204711' }, 'no displayName attribute: no display name');
    t.equal(await ldap.find('nobody@example.com'), undefined);
  });

  t.test('an alias: two addresses, one login', async (t) => {
    const ldap = directory();
    t.equal((await ldap.find('a.smith@example.com'))?.login, 'u100');
    t.equal((await ldap.find('alice@example.com'))?.login, 'u100');
  });

  t.test('RFC 4515 specials match nothing, and reach the server escaped', async (t) => {
    const ldap = directory({ filter: '(mail=%EMAILADDRESS%)' });
    for (const hostile of ['*)(uid=*', '*', 'alice@example.com)(|(uid=*', '*@example.com)(mail=*', 'x\\2a@example.com', 'al*@example.com', '\0@example.com', '(alice@example.com)']) {
      t.equal(await ldap.find(hostile), undefined, `${JSON.stringify(hostile)} finds nothing`);
    }
    t.ok(slapd.searches().includes('(mail=\\2A\\29\\28uid=\\2A)') || slapd.searches().includes('(mail=\\2a\\29\\28uid=\\2a)'),
      `the server got the literal value; it saw ${slapd.searches().slice(-8).join(' ')}`);
    t.same(await ldap.find('*@example.com'), { login: 'star' }, 'the literal address "*@example.com" is an address like any other');
  });

  t.test('two entries for one address: an answer error, not an outage', async (t) => {
    await t.rejects(directory().find('twin@example.com'), DirectoryAnswerError);
    await t.rejects(directory().find('twin@example.com'), /more than one entry/);
  });

  t.test('a wrong base DN is an answer error too', async (t) => {
    await t.rejects(directory({ baseDn: 'ou=nowhere,dc=example,dc=com' }).find('alice@example.com'), DirectoryAnswerError);
  });

  t.test('a wrong password: rejected, and the password is in no message', async (t) => {
    const error = await directory({ password: async () => 'wrong-secret-123' }).find('alice@example.com').then(() => undefined, (e: Error) => e);
    t.match(error?.message, /cannot bind to the directory: .*Invalid Credentials/i);
    t.notMatch(error?.message, /wrong-secret-123/);
    t.notMatch(error?.message, new RegExp(slapd.bindPassword));
  });

  t.test('ldaps:// and STARTTLS, with the test CA; without it the certificate is refused', async (t) => {
    const caFile = slapd.caFile;
    t.equal((await directory({ url: slapd.secureUrl, caFile }).find('alice@example.com'))?.login, 'u100', 'ldaps://');
    t.equal((await directory({ startTls: true, caFile }).find('alice@example.com'))?.login, 'u100', 'STARTTLS');
    await t.rejects(directory({ url: slapd.secureUrl }).find('alice@example.com'), /cannot bind.*(certificate|self.signed|issuer)/i, 'ldaps:// without the CA');
    await t.rejects(directory({ startTls: true }).find('alice@example.com'), /cannot bind.*(certificate|self.signed|issuer)/i, 'STARTTLS without the CA');
  });

  t.test('one bound connection serves every lookup, concurrent ones included', async (t) => {
    const ldap = directory();
    const before = slapd.binds().filter((dn) => dn === slapd.bindDn).length;
    const found = await Promise.all(Array.from({ length: 20 }, (_, i) => ldap.find(i % 2 ? 'alice@example.com' : 'bob@example.com')));
    t.same(new Set(found.map((f) => f?.login)), new Set(['u100', 'k-204711']));
    for (let i = 0; i < 5; i++) await ldap.find('alice@example.com');
    t.equal(slapd.binds().filter((dn) => dn === slapd.bindDn).length - before, 1, 'one bind for 25 lookups');
  });

  t.test('the server restarts: the next lookup binds again and finds', async (t) => {
    const ldap = directory();
    t.equal((await ldap.find('alice@example.com'))?.login, 'u100');
    await slapd.stop();
    await t.rejects(ldap.find('alice@example.com'), /ECONNREFUSED|cannot bind|closed|search failed/i, 'down: rejected');
    await slapd.start();
    t.equal((await ldap.find('alice@example.com'))?.login, 'u100', 'back: found again');
  });

  t.test('a frozen server: the lookup gives up within the timeout', async (t) => {
    const ldap = directory({ timeoutMs: 300 });
    t.equal((await ldap.find('alice@example.com'))?.login, 'u100', 'bound first');
    await slapd.pause();
    try {
      const started = performance.now();
      await t.rejects(ldap.find('alice@example.com'), /timed out|longer than/i, 'the search on the bound connection');
      const searchMs = performance.now() - started;
      t.ok(searchMs < 300 + 250, `gave up after ${searchMs.toFixed(0)} ms`);
      const again = performance.now();
      await t.rejects(ldap.find('bob@example.com'), /longer than|timed out|timeout/i, 'a new connection');
      const connectMs = performance.now() - again;
      t.ok(connectMs < 300 + 250, `gave up connecting after ${connectMs.toFixed(0)} ms`);
    } finally {
      slapd.resume();
    }
    t.equal((await ldap.find('alice@example.com'))?.login, 'u100', 'thawed: found again');
  });
});
