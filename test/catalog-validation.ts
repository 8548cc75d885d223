import t, { type Test } from 'tap';
import { buildCatalog, loadCatalog } from '../src/catalog/catalog.js';
import { loadProvider } from '../src/catalog/load.js';
import { formatProblem } from '../src/catalog/problems.js';
import { BUNDLED_PROVIDERS_DIR } from '../src/paths.js';
import { expectLoadError } from './helpers/problems.js';

const GOOD = `id: good
name: Good Mail
domains: [good.example]
incoming:
  - { type: imap, host: imap.good.example }
outgoing:
  - { host: smtp.good.example }
`;

const expectError = (t: Test, text: string, line: number, column: number, pattern: RegExp): void => expectLoadError(t, 'broken.yaml', text, line, column, pattern);

t.test('a minimal provider loads with the documented defaults', async (t) => {
  const { provider, problems } = loadProvider('good.yaml', GOOD);
  t.same(problems, []);
  t.ok(provider);
  t.same(provider!.incoming[0], {
    protocol: 'imap', host: 'imap.good.example', port: 993, socketType: 'ssl',
    authentication: ['password-cleartext'], username: '%EMAILADDRESS%', sameLoginAsIncoming: true,
  });
  t.same(provider!.outgoing[0]!.port, 465);
  t.same(provider!.name, { en: 'Good Mail' });
});

t.test('schema and rule violations name file, line and column', async (t) => {
  t.test('YAML syntax error', async (t) =>
    expectError(t, 'id: x\nname: [unclosed\ndomains: [a.example]\n', 3, 1, /YAML/));
  t.test('missing required key', async (t) =>
    expectError(t, GOOD.replace('domains: [good.example]\n', ''), 1, 1, /missing required key "domains"/));
  t.test('unknown key with a suggestion', async (t) =>
    expectError(t, GOOD.replace('{ type: imap, host: imap.good.example }', '{ type: imap, hostname: imap.good.example }'), 5, 19, /unknown key "hostname".*did you mean "host"/));
  t.test('socket type written as TLS', async (t) =>
    expectError(t, GOOD.replace('{ host: smtp.good.example }', '{ host: smtp.good.example, socketType: TLS }'), 7, 44, /"TLS" is not one of ssl, starttls, plain \(implicit TLS/));
  t.test('port outside 1-65535', async (t) =>
    expectError(t, GOOD.replace('{ host: smtp.good.example }', '{ host: smtp.good.example, port: 70000 }'), 7, 38, /70000 is outside 1–65535/));
  t.test('port of the wrong type', async (t) =>
    expectError(t, GOOD.replace('{ host: smtp.good.example }', '{ host: smtp.good.example, port: "abc" }'), 7, 38, /expected a whole number, found text "abc"/));
  t.test('unknown authentication', async (t) =>
    expectError(t, GOOD.replace('{ host: smtp.good.example }', '{ host: smtp.good.example, authentication: CRAM-MD5 }'), 7, 48, /"CRAM-MD5" is not one of .*password-encrypted/));
  t.test('unknown placeholder', async (t) =>
    expectError(t, GOOD.replace('{ type: imap, host: imap.good.example }', '{ type: imap, host: imap.good.example, username: "%EMAILADRESS%" }'), 5, 54, /unknown placeholder "%EMAILADRESS%"/));
  // The looked-up log-in name's template is the service's own: a provider file cannot claim it.
  t.test('the looked-up log-in name placeholder', async (t) =>
    expectError(t, GOOD.replace('{ type: imap, host: imap.good.example }', '{ type: imap, host: imap.good.example, username: "%LOGINNAME%" }'), 5, 54, /unknown placeholder "%LOGINNAME%"/));
  t.test('plain socket without allowInsecureTransport', async (t) =>
    expectError(t, GOOD.replace('{ type: imap, host: imap.good.example }', '{ type: imap, host: imap.good.example, socketType: plain }'), 5, 56, /allowInsecureTransport/));
  t.test('invalid domain name', async (t) =>
    expectError(t, GOOD.replace('[good.example]', '[good.example, "not a domain"]'), 3, 25, /"not a domain" is not a valid domain name/));
  t.test('invalid host name', async (t) =>
    expectError(t, GOOD.replace('host: smtp.good.example', 'host: "smtp good"'), 7, 13, /"smtp good" is not a valid host name/));
  t.test('incoming server with no authentication', async (t) =>
    expectError(t, GOOD.replace('{ type: imap, host: imap.good.example }', '{ type: imap, host: imap.good.example, authentication: none }'), 5, 60, /only possible for outgoing servers/));
  t.test('username without placeholder', async (t) =>
    expectError(t, GOOD.replace('domains: [good.example]', 'domains: [good.example]\nusername: postmaster'), 4, 11, /has no placeholder/));
  t.test('id with capitals and spaces', async (t) => expectError(t, GOOD.replace('id: good', 'id: Good Mail'), 1, 5, /id must be lower-case/));
  t.test('display name too long', async (t) => expectError(t, GOOD.replace('name: Good Mail', `name: ${'x'.repeat(61)}`), 2, 7, /at most 60 characters/));
  t.test('empty file', async (t) => expectError(t, '', 1, 1, /the file is empty/));
});

t.test('a well-known port with the other socket type is a warning, not an error', async (t) => {
  const { provider, problems } = loadProvider('w.yaml', GOOD.replace('{ host: smtp.good.example }', '{ host: smtp.good.example, port: 587 }'));
  t.ok(provider);
  t.match(problems, [{ severity: 'warning', line: 7, message: /port 587 is the SMTP STARTTLS submission port, but socketType is ssl/ }]);
});

t.test('a domain served by two providers: the later file is rejected, naming the first', async (t) => {
  const catalog = buildCatalog([
    { file: 'b.yaml', text: GOOD.replace('id: good', 'id: other').replace('[good.example]', '[other.example, GOOD.example]') },
    { file: 'a.yaml', text: GOOD },
  ]);
  t.same(catalog.providers.map((p) => p.id), ['good']);
  t.same(catalog.rejectedFiles, ['b.yaml']);
  t.match(catalog.problems, [{ file: 'b.yaml', line: 3, column: 26, message: /domain good.example is already served by a.yaml/ }]);
});

t.test('a broken file next to good ones: the good ones are served', async (t) => {
  const catalog = buildCatalog([
    { file: 'good.yaml', text: GOOD },
    { file: 'broken.yaml', text: 'id: broken\nname: [\n' },
    { file: 'also-good.yaml', text: GOOD.replace('id: good', 'id: also').replace('good.example]', 'also.example]') },
  ]);
  t.same(catalog.providers.map((p) => p.id).sort(), ['also', 'good']);
  t.same(catalog.rejectedFiles, ['broken.yaml']);
  t.ok(catalog.byDomain('good.example'));
  t.equal(catalog.byDomain('broken.example'), undefined);
});

t.test('IDN domains are indexed in ASCII, case-insensitively', async (t) => {
  const catalog = buildCatalog([{ file: 'idn.yaml', text: GOOD.replace('[good.example]', '[BÜCHER.example]') }]);
  t.ok(catalog.byDomain('xn--bcher-kva.example'));
});

t.test('the bundled providers are valid', async (t) => {
  const catalog = await loadCatalog([BUNDLED_PROVIDERS_DIR]);
  t.same(catalog.problems.map(formatProblem), []);
  t.same(catalog.providers.map((p) => p.id).sort(), ['example', 'hoster-example']);
  t.same(catalog.byDomain('example.net')?.id, 'example');
  t.same(catalog.byDomain('xn--bcher-kva.example')?.id, 'hoster-example');
});
