import t from 'tap';
import { request, startServer } from './helpers/server.js';

t.test('the form works without JavaScript and follows Accept-Language', async (t) => {
  const { url } = await startServer(t);
  const en = await request(`${url}/`);
  t.equal(en.status, 200);
  t.match(en.text, '<form method="get" action="/setup"');
  t.match(en.text, '<label for="emailaddress">E-mail address</label>');
  t.notMatch(en.text, /<script/i, 'no script at all');
  const de = await request(`${url}/`, { headers: { 'accept-language': 'de-CH,de;q=0.9,en;q=0.5' } });
  t.match(de.text, '<html lang="de">');
  t.match(de.text, 'E-Mail-Adresse');
  t.equal(de.headers['content-language'], 'de');
  const forced = await request(`${url}/?lang=en`, { headers: { 'accept-language': 'de' } });
  t.match(forced.text, '<html lang="en">', '?lang= wins');
  const unknownLang = await request(`${url}/?lang=xx`, { headers: { 'accept-language': 'fr' } });
  t.match(unknownLang.text, '<html lang="en">', 'fallback to English');
});

t.test('the setup page: headers, table, client sections, profile link and QR code', async (t) => {
  const { url } = await startServer(t, { publicBaseUrl: 'https://autoconfig.example.net' });
  const page = await request(`${url}/setup?emailaddress=alice%40example.com`);
  t.equal(page.status, 200);
  t.equal(page.headers['content-type'], 'text/html; charset=utf-8');
  t.match(page.headers['content-security-policy'], "default-src 'none'; style-src 'self'");
  t.notMatch(page.headers['content-security-policy'], /unsafe-inline/);
  t.equal(page.headers['x-content-type-options'], 'nosniff');
  t.equal(page.headers['referrer-policy'], 'no-referrer');
  t.notMatch(page.text, /<(script|img|iframe|object)\b/i);
  t.notMatch(page.text, /<link[^>]+href="https?:/i, 'no external style sheets or fonts');
  for (const text of ['imap.example.com', '993', 'SSL/TLS (implicit TLS)', 'alice@example.com', 'smtp.example.com', '587', 'STARTTLS']) t.match(page.text, text);
  for (const id of ['client-tb', 'client-outlook', 'client-apple', 'client-android', 'client-generic']) t.match(page.text, `id="${id}"`);
  t.match(page.text, 'href="https://autoconfig.example.net/mobileconfig?emailaddress=alice%40example.com"');
  t.match(page.text, /<div id="profile-qr"[^>]*><svg/);
  t.match(page.text, 'Leave Require logon using Secure Password Authentication (SPA) unticked');
  t.match(page.text, 'tick My outgoing server (SMTP) requires authentication and choose Use same settings as my incoming mail server');
  t.match(page.text, '550 relay not permitted');
  t.match(page.text, 'Messages can be at most 50 MiB');
  t.match(page.text, 'Example Mail recommends keeping messages on the server for 14 days');
  t.match(page.text, 'href="https://webmail.example.com/"');
  t.match(page.text, 'Setting up your mail program');

  const hoster = await request(`${url}/setup?emailaddress=kunde%40b%C3%BCcher.example&lang=de`);
  t.match(hoster.text, 'Einstellungen für kunde@bücher.example', 'the domain as people write it');
  t.match(hoster.text, 'Ihre Kundennummer (zum Beispiel K-123456)', 'not derivable: the hint instead of a user name');
  t.match(hoster.text, 'STARTTLS (ältere Versionen: TLS)', 'the hoster prefers STARTTLS for SMTP');
});

t.test('unknown domain: a friendly 404 page; malformed address: the form with the error', async (t) => {
  const { url } = await startServer(t);
  const unknown = await request(`${url}/setup?emailaddress=a%40unknown.example`);
  t.equal(unknown.status, 404);
  t.match(unknown.text, 'This address is not served here');
  t.match(unknown.text, 'There are no settings for unknown.example on this service');
  const bad = await request(`${url}/setup?emailaddress=not-an-address`);
  t.equal(bad.status, 400);
  t.match(bad.text, /aria-invalid="true" aria-describedby="emailaddress-error"/);
  t.match(bad.text, /<p id="emailaddress-error" class="error" role="alert">invalid e-mail address: the e-mail address has no @<\/p>/);
  t.match(bad.text, 'value="not-an-address"', 'the input is kept');
  const badDe = await request(`${url}/setup?emailaddress=a%40b%40example.com&lang=de`);
  t.match(badDe.text, 'ungültige E-Mail-Adresse: die E-Mail-Adresse hat mehr als ein @', 'the reason in the page language');
  const empty = await request(`${url}/setup`);
  t.equal(empty.status, 400);
});

t.test('input is never reflected unescaped', async (t) => {
  const { url } = await startServer(t);
  const attacks = [
    `/setup?emailaddress=${encodeURIComponent('<script>alert(1)</script>@example.com')}`,
    `/setup?emailaddress=${encodeURIComponent('"><script>alert(1)</script>')}`,
    `/setup?emailaddress=${encodeURIComponent('"x"@example.com')}&lang=${encodeURIComponent('<script>alert(1)</script>')}`,
    `/?lang=${encodeURIComponent('"><script>alert(1)</script>')}`,
    `/setup?emailaddress=${encodeURIComponent('a@<script>.example')}`,
  ];
  for (const path of attacks) {
    const response = await request(url + path);
    t.ok(response.status < 500, `${path}: ${response.status}`);
    t.notMatch(response.text, /<script/i, `${path}: no script element`);
    t.notMatch(response.text, /"><script/, 'no attribute break-out');
  }
  const quoted = await request(`${url}/setup?emailaddress=${encodeURIComponent('"a<b>"@example.com')}`);
  t.equal(quoted.status, 200);
  t.match(quoted.text, '&quot;a&lt;b&gt;&quot;@example.com');
});

t.test('a provider without a profile says why, in the page\'s language', async (t) => {
  const oauthOnly = 'id: oauth-only\nname: OAuth Only\ndomains: [oauth.example]\nauthentication: oauth2\nincoming:\n  - { type: imap, host: imap.oauth.example }\noutgoing:\n  - { host: smtp.oauth.example }\n';
  const { url } = await startServer(t, { sources: [{ file: 'oauth.yaml', text: oauthOnly }] });
  const de = await request(`${url}/setup?emailaddress=dave%40oauth.example&lang=de`);
  t.equal(de.status, 200);
  t.match(de.text, 'OAuth Only hat keinen Server für eingehende E-Mails mit einer Anmeldung, die Apple Mail unterstützt');
  t.notMatch(de.text, 'cannot be set up', 'no English sentence on the German page');
  const en = await request(`${url}/setup?emailaddress=dave%40oauth.example&lang=en`);
  t.match(en.text, 'OAuth Only has no incoming server with an authentication Apple Mail supports');
});

t.test('pages prepared once per provider carry each mailbox\'s own values, escaped', async (t) => {
  // User name and host names from templates: the holes of the prepared page.
  const hosted = 'id: hosted\nname: Hosted\ndomains: [one.example, zwei.example, bücher.example]\nusername: "%EMAILLOCALPART%"\nincoming:\n  - { type: imap, host: "mail.%EMAILDOMAIN%" }\noutgoing:\n  - { host: "smtp.%EMAILDOMAIN%" }\n';
  const { url } = await startServer(t, { sources: [{ file: 'hosted.yaml', text: hosted }], publicBaseUrl: 'https://autoconfig.example.net' });
  const page = async (address: string, lang = 'en') => (await request(`${url}/setup?emailaddress=${encodeURIComponent(address)}&lang=${lang}`)).text;
  const qr = (html: string) => /<div id="profile-qr"[^>]*>(<svg[\s\S]*?<\/svg>)/.exec(html)?.[1];

  const first = await page("o'brien&co@one.example");
  t.match(first, 'Settings for o&#39;brien&amp;co@one.example', 'the address, escaped as the template escapes');
  t.match(first, '<td data-label="Server" class="value host">mail.one.example</td>', 'host name filled with the domain');
  t.match(first, '<td data-label="User name" class="value">o&#39;brien&amp;co</td>', 'user name filled with the local part');
  t.match(first, 'href="https://autoconfig.example.net/mobileconfig?emailaddress=o%27brien%26co%40one.example"');
  t.match(first, 'href="/setup?emailaddress=o%27brien%26co%40one.example&amp;lang=de"', 'the language link keeps the address');

  const second = await page('kunde@bücher.example', 'de');
  t.match(second, 'Einstellungen für kunde@bücher.example', 'the domain as people write it');
  t.match(second, 'mail.xn--bcher-kva.example', 'host names in the ASCII form clients use');
  for (const value of ['brien', 'one.example']) t.notMatch(second, value, `nothing of the previous mailbox: ${value}`);
  t.not(qr(first), undefined, 'a QR code on the page');
  t.not(qr(second), qr(first), 'each mailbox its own QR code');

  t.equal(await page("o'brien&co@one.example"), first, 'the same mailbox again: the same bytes');
  for (const html of [first, second]) t.notMatch(html, /H[0-9a-f]{24}x\d+x/, 'no hole left unfilled');
});
