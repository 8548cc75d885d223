import t from 'tap';
import * as plist from 'plist';
import { buildCatalog } from '../src/catalog/catalog.js';
import { capabilities } from '../src/clients/capabilities.js';
import { appleIdentity, renderApple } from '../src/formats/apple.js';
import { fillDomain, fillTemplate } from '../src/mailbox.js';
import { parseAddress } from '../src/mailbox.js';
import { APPLE_SCHEMA_MISSING, validateProfile } from './helpers/apple-validator.js';
import { IDENTIFIER_PREFIX, request, startServer } from './helpers/server.js';

const VARIANTS = `id: variants
name: "Ä & B <Mail> \\"Q\\""
domains: [variants.example]
incoming:
  - { type: pop3, host: pop.variants.example, socketType: starttls }
outgoing:
  - { host: smtp.variants.example, socketType: starttls, authentication: [password-encrypted] }
caldav: { url: "https://cal.variants.example:8443/dav/calendars/" }
carddav: { url: "https://Contacts.variants.example/card/", username: ask }
`;
const STARTTLS_IMAP = `id: starttls-only
name: StartTLS Only
domains: [starttls.example]
incoming:
  - { type: imap, host: mail.%EMAILDOMAIN%, socketType: starttls, authentication: ntlm }
outgoing:
  - { host: mail.%EMAILDOMAIN%, socketType: starttls }
`;
const OAUTH_ONLY = `id: oauth-only
name: OAuth Only
domains: [oauth.example]
authentication: oauth2
incoming:
  - { type: imap, host: imap.oauth.example }
outgoing:
  - { host: smtp.oauth.example }
`;
const SOURCES = [
  { file: 'variants.yaml', text: VARIANTS },
  { file: 'starttls.yaml', text: STARTTLS_IMAP },
  { file: 'oauth.yaml', text: OAUTH_ONLY },
];

async function profile(url: string, query: string) {
  return request(`${url}/mobileconfig?${query}`);
}

t.test('every profile the service makes passes Apple\'s schema', { skip: APPLE_SCHEMA_MISSING }, async (t) => {
  const { url: bundled } = await startServer(t);
  const { url: variants } = await startServer(t, { sources: SOURCES });
  const cases: [string, string][] = [
    [bundled, 'emailaddress=alice%40example.com'],
    [bundled, 'email=alice%40example.net&name=Alice%20M%C3%BCller%20%26%20%22Co%22'],
    [bundled, `emailaddress=${encodeURIComponent('kunde@bücher.example')}`],
    [bundled, 'emailaddress=k123%40example.org'],
    [variants, 'emailaddress=bob%40variants.example&name=J%C3%B6rg%20O%27Brien'],
    [variants, 'emailaddress=carol%40starttls.example'],
  ];
  for (const [url, query] of cases) {
    const response = await profile(url, query);
    t.equal(response.status, 200, query);
    const verdict = validateProfile(response.text);
    t.same(verdict.errors, [], `${query}: valid`);
    t.same(verdict.warnings, [], `${query}: no keys unsupported on iOS or macOS`);
    t.notMatch(response.text, /<key>(IncomingPassword|OutgoingPassword|PreventMove|PreventAppSheet|SMIMEEnabled)<\/key>/);
  }
});

t.test('headers: aspen-config, attachment with an ASCII .mobileconfig name, no-store, nosniff', async (t) => {
  const { url } = await startServer(t);
  for (const path of ['/mobileconfig?emailaddress=alice%40example.com', '/email.mobileconfig?email=alice%40example.com']) {
    const response = await request(url + path);
    t.equal(response.headers['content-type'], 'application/x-apple-aspen-config');
    t.equal(response.headers['content-disposition'], 'attachment; filename="example-mail.mobileconfig"');
    t.equal(response.headers['cache-control'], 'no-store');
    t.equal(response.headers['x-content-type-options'], 'nosniff');
  }
});

t.test('the mail payload: preferred servers, UseSSL, authentication, user names', async (t) => {
  const { url } = await startServer(t, { sources: SOURCES });
  const { url: bundled } = await startServer(t);
  const read = async (u: string, q: string) => (plist.parse((await profile(u, q)).text) as any).PayloadContent[0];

  const example = await read(bundled, 'emailaddress=alice%40example.com');
  t.match(example, {
    EmailAccountType: 'EmailTypeIMAP', EmailAddress: 'alice@example.com',
    IncomingMailServerHostName: 'imap.example.com', IncomingMailServerPortNumber: 993, IncomingMailServerUseSSL: true,
    IncomingMailServerAuthentication: 'EmailAuthPassword', IncomingMailServerUsername: 'alice@example.com',
    OutgoingMailServerHostName: 'smtp.example.com', OutgoingMailServerPortNumber: 465, OutgoingMailServerUseSSL: true,
    OutgoingMailServerAuthentication: 'EmailAuthPassword', OutgoingMailServerUsername: 'alice@example.com',
    OutgoingPasswordSameAsIncomingPassword: true,
  });

  const hoster = await read(bundled, 'emailaddress=k1%40example.org');
  t.equal(hoster.OutgoingMailServerPortNumber, 465, 'implicit TLS preferred over the provider\'s first (STARTTLS) entry');
  t.notOk('IncomingMailServerUsername' in hoster, 'customer numbers: the device asks');
  t.notOk('OutgoingMailServerUsername' in hoster);

  const pop = await read(url, 'emailaddress=bob%40variants.example');
  t.match(pop, { EmailAccountType: 'EmailTypePOP', IncomingMailServerPortNumber: 110, IncomingMailServerUseSSL: true, OutgoingMailServerAuthentication: 'EmailAuthCRAMMD5' });

  const starttls = await read(url, 'emailaddress=carol%40starttls.example');
  t.match(starttls, {
    IncomingMailServerHostName: 'mail.starttls.example', IncomingMailServerPortNumber: 143, IncomingMailServerUseSSL: true,
    IncomingMailServerAuthentication: 'EmailAuthNTLM', OutgoingMailServerPortNumber: 587, OutgoingMailServerUseSSL: true,
  });
});

t.test('types are right by construction: integers, booleans, escaped text', async (t) => {
  const { url } = await startServer(t, { sources: SOURCES });
  const text = (await profile(url, 'emailaddress=bob%40variants.example&name=A%20%26%20B')).text;
  t.match(text, '<key>PayloadVersion</key>\n    <integer>1</integer>');
  t.match(text, /<key>IncomingMailServerPortNumber<\/key>\s*<integer>110<\/integer>/);
  t.match(text, /<key>IncomingMailServerUseSSL<\/key>\s*<true\/>/);
  t.match(text, '<string>Ä &amp; B &lt;Mail&gt; "Q"</string>');
  t.match(text, '<string>A &amp; B</string>');
});

t.test('stable identity: same input, same bytes; other mailbox, other identifiers; no personal data', async (t) => {
  const catalog = buildCatalog(SOURCES);
  const provider = catalog.byDomain('variants.example')!;
  const choice = capabilities(provider).apple;
  if (!choice.ok) throw new Error(`no ${choice.missing} server for Apple Mail`);
  const mailbox = (address: string) => {
    const parsed = parseAddress(address);
    if (!parsed.ok) throw new Error(parsed.reason);
    return parsed.value;
  };
  const options = { identifierPrefix: IDENTIFIER_PREFIX };
  const a = renderApple(provider, mailbox('bob@variants.example'), choice.servers, options);
  t.ok(a.equals(renderApple(provider, mailbox('bob@variants.example'), choice.servers, options)), 'byte-identical');
  const profileA = plist.parse(a.toString()) as any;
  const profileB = plist.parse(renderApple(provider, mailbox('carol@variants.example'), choice.servers, options).toString()) as any;
  t.not(profileA.PayloadUUID, profileB.PayloadUUID);
  t.not(profileA.PayloadIdentifier, profileB.PayloadIdentifier);
  t.match(profileA.PayloadIdentifier, /^org\.example\.autoconfig-test\.variants\.[0-9a-f-]{36}$/, 'reverse-DNS');
  t.notMatch(profileA.PayloadIdentifier, /bob/, 'no address in identifiers');
  t.not(profileA.PayloadUUID, profileA.PayloadContent[0].PayloadUUID, 'unique within the profile');
  t.equal(profileA.PayloadContent[0].PayloadIdentifier, `${profileA.PayloadIdentifier}.mail`);
  t.match(profileA.ConsentText, { default: /bob@variants\.example/, en: /pop\.variants\.example \(port 110, encrypted\)/, de: /Posteingang/ });
});

t.test('refusals: no address, bad address, bad name, unknown domain, OAuth2 only', async (t) => {
  const { url } = await startServer(t, { sources: SOURCES });
  const cases: [string, number, RegExp][] = [
    ['', 400, /add \?emailaddress=/],
    ['emailaddress=nobody', 400, /invalid e-mail address: the e-mail address has no @/],
    ['emailaddress=a%40unknown.example', 404, /no mail provider is configured here for unknown\.example/],
    ['emailaddress=bob%40variants.example&name=%3Cscript%3E', 400, /invalid name/],
    [`emailaddress=bob%40variants.example&name=${'x'.repeat(101)}`, 400, /longer than 100/],
    ['emailaddress=dave%40oauth.example', 409, /OAuth2 cannot be set up by a profile/],
  ];
  for (const [query, status, reason] of cases) {
    const response = await profile(url, query);
    t.equal(response.status, status, query.slice(0, 60));
    t.match(response.text, reason);
    t.notMatch(response.text, /<script>/);
  }
});

t.test('each profile carries its own mailbox\'s values, escaped, in every place', async (t) => {
  const catalog = buildCatalog([...SOURCES, { file: 'ex.yaml', text: (await import('node:fs')).readFileSync(new URL('../providers/example.yaml', import.meta.url), 'utf8') }]);
  const cases: [string, string | undefined][] = [
    ['alice@example.com', undefined],
    ['"O\'Brien & <Co>"@example.com', 'Jörg O\'Brien & "Co"'],
    ['bob@variants.example', 'Ä B'],
    ['carol@starttls.example', undefined],
  ];
  for (const [address, fullName] of cases) {
    const parsed = parseAddress(address);
    if (!parsed.ok) throw new Error(parsed.reason);
    const mailbox = parsed.value;
    const provider = catalog.byDomain(mailbox.domain)!;
    const choice = capabilities(provider).apple;
    if (!choice.ok) throw new Error(`no ${choice.missing} server for Apple Mail`);
    const { incoming, outgoing } = choice.servers;
    const ids = appleIdentity(IDENTIFIER_PREFIX, provider, mailbox);
    const options = { identifierPrefix: IDENTIFIER_PREFIX, ...(fullName ? { fullName } : {}) };
    for (const language of ['en', 'de']) {
      const profile = plist.parse(renderApple(provider, mailbox, choice.servers, { ...options, language }).toString('utf8')) as Record<string, unknown>;
      const mail = (profile.PayloadContent as Record<string, unknown>[])[0]!;
      const name = `${address} ${language}`;
      t.equal(profile.PayloadIdentifier, ids.identifier, `${name}: the profile's identifier`);
      t.equal(profile.PayloadUUID, ids.uuid('profile'), `${name}: the profile's UUID`);
      t.equal(mail.PayloadIdentifier, `${ids.identifier}.mail`, `${name}: the mail payload's identifier`);
      t.equal(mail.PayloadUUID, ids.uuid('mail'), `${name}: the mail payload's UUID`);
      t.equal(mail.EmailAddress, mailbox.address, `${name}: the address`);
      t.equal(mail.EmailAccountName, fullName, `${name}: the name, or none`);
      t.equal(mail.IncomingMailServerHostName, fillDomain(incoming.host, mailbox.domain));
      t.equal(mail.OutgoingMailServerHostName, fillDomain(outgoing.host, mailbox.domain));
      t.equal(mail.IncomingMailServerUsername, incoming.username === null ? undefined : fillTemplate(incoming.username, mailbox), `${name}: the user name`);
      t.match(String(profile.PayloadDisplayName), mailbox.address, `${name}: the address in the texts`);
    }
  }
});

t.test('an internationalised domain: the texts a person reads in Unicode, the account in ASCII', async (t) => {
  // The hoster example serves bücher.example (providers/hoster-example.yaml); issue 19.
  const hosterYaml = (await import('node:fs')).readFileSync(new URL('../providers/hoster-example.yaml', import.meta.url), 'utf8');
  const provider = buildCatalog([{ file: 'hoster-example.yaml', text: hosterYaml }]).byDomain('xn--bcher-kva.example')!;
  const choice = capabilities(provider).apple;
  if (!choice.ok) throw new Error(`no ${choice.missing} server for Apple Mail`);
  const parsedAddress = parseAddress('kunde@bücher.example');
  if (!parsedAddress.ok) throw new Error(parsedAddress.reason);
  const { url } = await startServer(t);
  const served = (await profile(url, `emailaddress=${encodeURIComponent('kunde@bücher.example')}`)).text;
  const rendered = ['en', 'de'].map((language) => [language, renderApple(provider, parsedAddress.value, choice.servers, { identifierPrefix: IDENTIFIER_PREFIX, language }).toString('utf8')]);
  for (const [language, text] of [['served', served], ...rendered] as [string, string][]) {
    const parsed = plist.parse(text) as any;
    const mail = parsed.PayloadContent[0];
    for (const [name, shown] of [
      ['PayloadDisplayName', parsed.PayloadDisplayName],
      ['PayloadDescription', parsed.PayloadDescription],
      ['mail PayloadDisplayName', mail.PayloadDisplayName],
      ['ConsentText default', parsed.ConsentText.default],
      ['ConsentText de', parsed.ConsentText.de],
    ] as const) {
      t.match(shown, 'kunde@bücher.example', `${language} ${name}: the domain as people write it`);
      t.notMatch(shown, 'xn--', `${language} ${name}: no punycode`);
    }
    t.equal(mail.EmailAddress, 'kunde@xn--bcher-kva.example', `${language}: EmailAddress as configured (ASCII)`);
    t.equal(mail.IncomingMailServerHostName, 'secure-imap.hoster.example', `${language}: host names as configured`);
    t.notMatch(String(mail.EmailAccountDescription), /xn--|bücher/, `${language}: the account description names the provider, not the domain`);
  }
});

t.test('calendars and contacts: a CalDAV and a CardDAV payload, valid, with stable identifiers of their own', { skip: APPLE_SCHEMA_MISSING }, async (t) => {
  const { url: bundled } = await startServer(t);
  const { url: variants } = await startServer(t, { sources: SOURCES });
  const example = plist.parse((await profile(bundled, 'emailaddress=alice%40example.com')).text) as any;
  t.same(example.PayloadContent.map((p: any) => p.PayloadType), ['com.apple.mail.managed', 'com.apple.caldav.account', 'com.apple.carddav.account']);
  const [mail, caldav, carddav] = example.PayloadContent;
  t.match(caldav, { PayloadIdentifier: `${example.PayloadIdentifier}.caldav`, CalDAVHostName: 'dav.example.com', CalDAVPort: 443, CalDAVUseSSL: true, CalDAVPrincipalURL: 'https://dav.example.com/calendars/', CalDAVUsername: 'alice@example.com', CalDAVAccountDescription: 'Example Mail calendars' });
  t.match(carddav, { PayloadIdentifier: `${example.PayloadIdentifier}.carddav`, CardDAVHostName: 'dav.example.com', CardDAVPort: 443, CardDAVUseSSL: true, CardDAVUsername: 'alice@example.com' });
  t.equal(new Set([example.PayloadUUID, mail.PayloadUUID, caldav.PayloadUUID, carddav.PayloadUUID]).size, 4, 'four different UUIDs');
  const again = plist.parse((await profile(bundled, 'emailaddress=alice%40example.com&name=Alice')).text) as any;
  t.same(again.PayloadContent.slice(1).map((p: any) => p.PayloadUUID), [caldav.PayloadUUID, carddav.PayloadUUID], 'the same UUIDs again: installing replaces the accounts');
  const bob = plist.parse((await profile(bundled, 'emailaddress=bob%40example.com')).text) as any;
  t.not(bob.PayloadContent[1].PayloadUUID, caldav.PayloadUUID, 'another mailbox: other UUIDs');
  t.match(example.ConsentText, { en: /Also: calendars at https:\/\/dav\.example\.com\/calendars\/ and contacts at https:\/\/dav\.example\.com\/contacts\/\./, de: /Außerdem: Kalender unter .* und Kontakte unter / });

  const response = await profile(variants, 'emailaddress=bob%40variants.example');
  t.same(validateProfile(response.text).errors, []);
  const odd = (plist.parse(response.text) as any).PayloadContent;
  t.match(odd[1], { CalDAVHostName: 'cal.variants.example', CalDAVPort: 8443 }, 'the port from the URL');
  t.match(odd[2], { CardDAVHostName: 'contacts.variants.example', CardDAVPort: 443 });
  t.notOk('CardDAVUsername' in odd[2], 'username: ask leaves the user name out: the device asks');
  const plainMail = plist.parse((await profile(variants, 'emailaddress=carol%40starttls.example')).text) as any;
  t.equal(plainMail.PayloadContent.length, 1, 'no DAV keys, no DAV payloads');
  t.notMatch(plainMail.ConsentText.en, /Also/);
});
