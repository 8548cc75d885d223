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

/** One client's section of a setup page. */
function section(html: string, id: string): string {
  const found = new RegExp(`<section id="client-${id}"[\\s\\S]*?</section>`).exec(html)?.[0];
  if (found === undefined) throw new Error(`no section client-${id}`);
  return found;
}
const CLIENTS = ['tb', 'outlook', 'outlook-new', 'outlook-mac', 'outlook-mobile', 'apple', 'android', 'generic'] as const;
const AUTO = { en: '<p class="auto"><strong>Sets itself up:</strong>', de: '<p class="auto"><strong>Richtet sich selbst ein:</strong>' };
const NOT_AUTO = { en: '<p class="auto"><strong>Does not set itself up:</strong>', de: '<p class="auto"><strong>Richtet sich nicht selbst ein:</strong>' };
const WARNING = { en: '<p class="warning"><strong>Important:</strong>', de: '<p class="warning"><strong>Wichtig:</strong>' };

t.test('log-in name not derivable: every section says which field to correct and what to type, en and de', async (t) => {
  const ask = 'id: ask\nname: Ask Mail\ndomains: [ask.example]\nusername: ask\nusernameHint: { en: your customer number K-NNNNNN, de: Ihre Kundennummer K-NNNNNN }\nincoming:\n  - { type: imap, host: imap.ask.example }\noutgoing:\n  - { host: smtp.ask.example, socketType: starttls }\n';
  const { url } = await startServer(t, { sources: [{ file: 'ask.yaml', text: ask }] });
  const expected = {
    en: {
      partly: '<p class="auto"><strong>Sets itself up, except the user name:</strong>',
      hint: 'your customer number K-NNNNNN',
      tb: ['click Edit configuration', 'for the incoming and the outgoing server, replace the Username “Enter your user name” with your customer number K-NNNNNN'],
      android: ['tap Edit configuration', 'under Incoming server settings and Outgoing server settings, replace the Username “Enter your user name” with your customer number K-NNNNNN'],
      outlook: ['When Outlook asks for your user name and password, do not type your e-mail address as user name but your customer number K-NNNNNN'],
      apple: ['When you install the profile, the device asks for the user name: type your customer number K-NNNNNN'],
      family: 'do not type your e-mail address as user name but your customer number K-NNNNNN',
      generic: 'User name for incoming and outgoing mail: not your e-mail address but your customer number K-NNNNNN',
    },
    de: {
      partly: '<p class="auto"><strong>Richtet sich selbst ein, bis auf den Benutzernamen:</strong>',
      hint: 'Ihre Kundennummer K-NNNNNN',
      tb: ['Schaltfläche zum Bearbeiten der Konfiguration', 'den Benutzernamen „Benutzernamen eintragen“ ersetzen durch Ihre Kundennummer K-NNNNNN'],
      android: ['Konfiguration bearbeiten tippen', 'Einstellungen des Postausgangsservers den Benutzernamen „Benutzernamen eintragen“ ersetzen durch Ihre Kundennummer K-NNNNNN'],
      outlook: ['als Benutzernamen nicht Ihre E-Mail-Adresse eingeben, sondern Ihre Kundennummer K-NNNNNN'],
      apple: ['Beim Installieren des Profils fragt das Gerät nach dem Benutzernamen; einzugeben ist Ihre Kundennummer K-NNNNNN'],
      family: 'nicht Ihre E-Mail-Adresse eingeben, sondern Ihre Kundennummer K-NNNNNN',
      generic: 'Benutzername für Posteingang und Postausgang: nicht Ihre E-Mail-Adresse, sondern Ihre Kundennummer K-NNNNNN',
    },
  } as const;
  for (const language of ['en', 'de'] as const) {
    const html = (await request(`${url}/setup?emailaddress=k1%40ask.example&lang=${language}`)).text;
    const e = expected[language];
    for (const id of CLIENTS) t.notMatch(section(html, id), AUTO[language], `${language} ${id}: no "sets itself up" without the user name`);
    for (const id of ['tb', 'outlook', 'apple', 'android'] as const) {
      t.match(section(html, id), e.partly, `${language} ${id}: sets itself up except the user name`);
      for (const text of e[id]) t.match(section(html, id), text, `${language} ${id}: ${text.slice(0, 40)}`);
    }
    for (const id of ['outlook-new', 'outlook-mac', 'outlook-mobile'] as const) {
      t.match(section(html, id), WARNING[language], `${language} ${id}: a warning`);
      t.match(section(html, id), e.family, `${language} ${id}: the user name to type`);
    }
    t.match(section(html, 'generic'), e.generic, `${language} generic: the user name to type`);
  }
});

t.test('a client that cannot use the provider\'s sign-in method is told so, never "sets itself up", en and de', async (t) => {
  const provider = (id: string, body: string) => ({ file: `${id}.yaml`, text: `id: ${id}\nname: ${id} Mail\ndomains: [${id}.example]\n${body}` });
  const sources = [
    provider('oauth', 'authentication: oauth2\nwebmail: https://webmail.oauth.example/\nincoming:\n  - { type: imap, host: imap.oauth.example }\noutgoing:\n  - { host: smtp.oauth.example }\n'),
    provider('cram', 'incoming:\n  - { type: imap, host: imap.cram.example }\noutgoing:\n  - { host: smtp.cram.example, authentication: password-encrypted }\n'),
    provider('ntlm', 'authentication: ntlm\nincoming:\n  - { type: imap, host: imap.ntlm.example }\noutgoing:\n  - { host: smtp.ntlm.example }\n'),
    provider('gssapi', 'incoming:\n  - { type: imap, host: imap.gssapi.example, authentication: gssapi }\noutgoing:\n  - { host: smtp.gssapi.example }\n'),
    provider('plain', 'allowInsecureTransport: true\nincoming:\n  - { type: imap, host: imap.plain.example, socketType: plain }\noutgoing:\n  - { host: smtp.plain.example, socketType: plain }\n'),
  ];
  const { url } = await startServer(t, { sources });
  const family = ['outlook-new', 'outlook-mac', 'outlook-mobile'];
  // Which sections are refused, and a text each refusal must carry (the method in the client's words), per language.
  const cases: Record<string, { refused: string[]; says: Record<string, Record<'en' | 'de', string>> }> = {
    oauth: {
      refused: ['tb', 'outlook', ...family, 'apple'],
      says: {
        tb: { en: 'OAuth2 is the only sign-in method of the incoming server of oauth Mail', de: 'OAuth2 ist die einzige Anmeldung des Posteingangsservers von oauth Mail' },
        outlook: { en: 'read and send mail in the browser at https://webmail.oauth.example/', de: 'E-Mails im Browser lesen und senden unter https://webmail.oauth.example/' },
        apple: { en: 'Instead: use Thunderbird for Android', de: 'Stattdessen: Thunderbird für Android verwenden' },
      },
    },
    cram: {
      refused: ['outlook', ...family],
      says: {
        outlook: { en: 'Outlook cannot use the sign-in method of the outgoing server of cram Mail: encrypted password (CRAM-MD5).', de: 'Outlook kann die Anmeldung des Postausgangsservers von cram Mail nicht verwenden: verschlüsseltes Passwort (CRAM-MD5).' },
        'outlook-mac': { en: 'use Thunderbird, Apple Mail or Thunderbird for Android', de: 'Thunderbird, Apple Mail oder Thunderbird für Android verwenden' },
      },
    },
    ntlm: {
      refused: [...family, 'android'],
      says: {
        android: { en: 'Thunderbird for Android cannot use the sign-in method of the incoming server of ntlm Mail: NTLM', de: 'Thunderbird für Android kann die Anmeldung des Posteingangsservers von ntlm Mail nicht verwenden: NTLM' },
        'outlook-new': { en: 'New Outlook for Windows cannot use', de: 'Neues Outlook für Windows kann die Anmeldung' },
      },
    },
    gssapi: {
      refused: ['outlook', ...family, 'apple', 'android'],
      says: {
        outlook: { en: ': Kerberos / GSSAPI.', de: ': Kerberos / GSSAPI.' },
        android: { en: 'Instead: use Thunderbird (see above or below) or ask gssapi Mail.', de: 'Stattdessen: Thunderbird verwenden (siehe oben oder unten) oder bei gssapi Mail nachfragen.' },
      },
    },
    plain: {
      refused: ['android'],
      says: {
        android: { en: 'By hand it works with Security None', de: 'Von Hand geht es mit Sicherheit Keine' },
        apple: { en: 'The profile turns Use SSL off for the incoming server and outgoing server of plain Mail', de: 'Das Profil schaltet SSL für die Verbindung des Posteingangsservers und Postausgangsservers von plain Mail aus' },
      },
    },
  };
  for (const [id, { refused, says }] of Object.entries(cases)) {
    for (const language of ['en', 'de'] as const) {
      const html = (await request(`${url}/setup?emailaddress=a%40${id}.example&lang=${language}`)).text;
      for (const client of CLIENTS.filter((c) => c !== 'generic')) {
        const text = section(html, client);
        const name = `${id} ${language} ${client}`;
        if (refused.includes(client)) {
          t.match(text, WARNING[language], `${name}: a warning`);
          t.notMatch(text, 'class="auto"', `${name}: no automatic set-up promised`);
        } else if (family.includes(client)) {
          t.match(text, NOT_AUTO[language], `${name}: sets up by hand`);
        } else {
          t.match(text, AUTO[language], `${name}: sets itself up`);
          if (!says[client]) t.notMatch(text, 'class="warning"', `${name}: no warning`);
        }
        if (says[client]) t.match(text, says[client]![language], `${name}: ${says[client]![language].slice(0, 40)}`);
      }
    }
  }
});

t.test('derivable log-in names and usable methods: no warning anywhere', async (t) => {
  const { url } = await startServer(t);
  for (const language of ['en', 'de'] as const) {
    const html = (await request(`${url}/setup?emailaddress=alice%40example.com&lang=${language}`)).text;
    t.notMatch(html, 'class="warning"', `${language}: no warning`);
    for (const id of ['tb', 'outlook', 'apple', 'android']) t.match(section(html, id), AUTO[language], `${language} ${id}: sets itself up`);
    for (const id of ['outlook-new', 'outlook-mac', 'outlook-mobile']) t.match(section(html, id), NOT_AUTO[language], `${language} ${id}: by hand (Microsoft's cloud AutoDetect)`);
    t.match(section(html, 'outlook'), language === 'en' ? 'DisableOffice365SimplifiedAccountCreation (DWORD 1)' : 'DisableOffice365SimplifiedAccountCreation (DWORD 1)');
    t.match(section(html, 'outlook'), language === 'en' ? 'choose Test E-mail AutoConfiguration' : 'Test der E-Mail-AutoKonfiguration');
  }
});

t.test('calendars and contacts: a section in each client\'s words, in English and German', async (t) => {
  const { url } = await startServer(t);
  const section = (html: string, id: string) => html.slice(html.indexOf(`<section id="client-${id}"`), html.indexOf('</section>', html.indexOf(`<section id="client-${id}"`)));
  const expected: Record<string, Record<string, string[]>> = {
    en: {
      tb: ['<h4 class="dav">Calendars and contacts</h4>', 'Calendar › New Calendar… › On the Network', 'Add CardDAV Address Book', '<dt>Location</dt><dd>https://dav.example.com/calendars/</dd>', '<dt>Username</dt><dd>alice@example.com</dd>'],
      apple: ['The profile above also sets up calendars (CalDAV) and contacts (CardDAV)', 'Add CalDAV Account', '<dt>Server</dt><dd>https://dav.example.com/contacts/</dd>', '<dt>User Name</dt><dd>alice@example.com</dd>'],
      android: ['DAVx⁵', 'Login with URL and user name', '<dt>Base URL</dt><dd>https://dav.example.com/calendars/</dd>'],
      outlook: ['Outlook cannot use calendars (CalDAV) and contacts (CardDAV): it supports neither CalDAV nor CardDAV'],
    },
    de: {
      tb: ['<h4 class="dav">Kalender und Kontakte</h4>', 'Kalender › Neuer Kalender… › Im Netzwerk', 'CardDAV-Adressbuch hinzufügen', '<dt>Adresse</dt><dd>https://dav.example.com/calendars/</dd>', '<dt>Benutzername</dt><dd>alice@example.com</dd>'],
      apple: ['Das Profil oben richtet auch Kalender (CalDAV) und Kontakte (CardDAV)', 'CalDAV-Account hinzufügen'],
      android: ['DAVx⁵', 'Mit URL und Benutzername anmelden', '<dt>Basis-URL</dt><dd>https://dav.example.com/contacts/</dd>'],
      outlook: ['Outlook kann Kalender (CalDAV) und Kontakte (CardDAV) nicht nutzen'],
    },
  };
  for (const [language, clients] of Object.entries(expected)) {
    const page = (await request(`${url}/setup?emailaddress=alice%40example.com&lang=${language}`)).text;
    for (const [id, texts] of Object.entries(clients)) for (const text of texts) t.match(section(page, id), text, `${language} ${id}: ${text}`);
    t.notMatch(section(page, 'outlook').split('class="dav"')[1], '<dl', `${language}: no DAV fields for Outlook`);
    t.notMatch(section(page, 'outlook-new'), 'class="dav"', `${language}: only the clients named`);
  }
  const hoster = (await request(`${url}/setup?emailaddress=k1%40example.org`)).text;
  t.notMatch(hoster, 'class="dav"', 'no DAV keys, no section');
});
