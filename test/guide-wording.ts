/** Each client's own words for each TLS mode and authentication (research: client-labels.md). */
import t from 'tap';
import { clientWording } from '../src/formats/guide-wording.js';

t.test('implicit TLS and STARTTLS, per client and language', async (t) => {
  const cases: [Parameters<typeof clientWording>[0], string, string, string, string][] = [
    // client, language, label, implicit TLS, STARTTLS
    ['tb', 'en', 'Connection security', 'SSL/TLS', 'STARTTLS'],
    ['tb', 'de', 'Verbindungssicherheit', 'SSL/TLS', 'STARTTLS'],
    ['outlook', 'en', 'Use the following type of encrypted connection', 'SSL/TLS (older versions: SSL)', 'STARTTLS (older versions: TLS)'],
    ['outlook', 'de', 'Verwenden Sie den folgenden verschlüsselten Verbindungstyp', 'SSL/TLS (ältere Versionen: SSL)', 'STARTTLS (ältere Versionen: TLS)'],
    ['apple', 'en', 'Use SSL', 'on', 'on'],
    ['apple', 'de', 'SSL', 'ein', 'ein'],
    ['android', 'en', 'Security', 'SSL/TLS', 'StartTLS'],
    ['android', 'de', 'Sicherheit', 'SSL/TLS', 'StartTLS'],
  ];
  for (const [client, language, label, ssl, starttls] of cases) {
    t.equal(clientWording(client, language, 'ssl', 'password-cleartext').securityLabel, label, `${client} ${language} label`);
    t.equal(clientWording(client, language, 'ssl', 'password-cleartext').security, ssl, `${client} ${language} implicit TLS`);
    t.equal(clientWording(client, language, 'starttls', 'password-cleartext').security, starttls, `${client} ${language} STARTTLS`);
  }
  t.equal(clientWording('apple', 'en', 'plain', 'password-cleartext').security, 'off', 'Apple: Use SSL off only without TLS');
});

t.test('password, CRAM-MD5 and NTLM, per client and language', async (t) => {
  const cases: [Parameters<typeof clientWording>[0], string, string, string, string][] = [
    // client, language, password, CRAM-MD5, NTLM
    ['tb', 'en', 'Normal password', 'Encrypted password', 'NTLM'],
    ['tb', 'de', 'Passwort, normal', 'Verschlüsseltes Passwort', 'NTLM'],
    ['apple', 'en', 'Password', 'MD5 Challenge-Response', 'NTLM'],
    ['apple', 'de', 'Passwort', 'MD5 Challenge-Response', 'NTLM'],
    ['android', 'en', 'Normal password', 'Encrypted password', '(not available: use another app)'],
    ['android', 'de', 'Normales Passwort', 'Verschlüsseltes Passwort', '(nicht verfügbar: bitte eine andere App nehmen)'],
  ];
  for (const [client, language, password, cram, ntlm] of cases) {
    t.equal(clientWording(client, language, 'ssl', 'password-cleartext').authentication, password, `${client} ${language} password`);
    t.equal(clientWording(client, language, 'ssl', 'password-encrypted').authentication, cram, `${client} ${language} CRAM-MD5`);
    t.equal(clientWording(client, language, 'ssl', 'ntlm').authentication, ntlm, `${client} ${language} NTLM`);
  }
  // Outlook has no method list, only the SPA box: unticked for passwords, ticked for NTLM.
  t.match(clientWording('outlook', 'en', 'ssl', 'password-cleartext').authentication, /^Leave Require logon using Secure Password Authentication \(SPA\) unticked/);
  t.match(clientWording('outlook', 'en', 'ssl', 'password-encrypted').authentication, /unticked/);
  t.match(clientWording('outlook', 'en', 'ssl', 'ntlm').authentication, /^Tick Require logon using Secure Password Authentication \(SPA\)/);
  t.match(clientWording('outlook', 'de', 'ssl', 'password-cleartext').authentication, /gesicherten Kennwortauthentifizierung \(SPA\) erforderlich nicht ankreuzen/);
});

t.test('every message exists in English and German, with the same {parameters}', async (t) => {
  const { readFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { MESSAGES_DIR } = await import('../src/messages.js');
  const read = (language: string) => JSON.parse(readFileSync(join(MESSAGES_DIR, `${language}.json`), 'utf8')) as Record<string, string>;
  const en = read('en');
  const de = read('de');
  t.same(Object.keys(de).filter((k) => !(k in en)), [], 'no German key without English');
  t.same(Object.keys(en).filter((k) => !(k in de)), [], 'no English key without German');
  const parameters = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
  for (const key of Object.keys(en)) {
    t.ok(en[key]!.trim() !== '' && (de[key] ?? '').trim() !== '', `${key}: not empty`);
    t.same(parameters(de[key] ?? ''), parameters(en[key]!), `${key}: the same parameters`);
  }
  // Issue 19: the setup page's warnings, and the Thunderbird placeholder another format serves.
  const added = [
    'tb.username.placeholder', 'clients.warning', 'clients.autoPartly', 'clients.notAuto', 'setup.direction.incoming', 'setup.direction.outgoing', 'setup.and',
    'instead.lead', 'instead.clients', 'instead.webmail', 'instead.docs', 'instead.ask', 'instead.or', 'name.tb', 'name.outlook', 'name.apple', 'name.android',
    'tb.auto.username', 'tb.refused.oauth2', 'outlook.auto.username', 'outlook.refused', 'outlook.simplified', 'outlook.username.manual',
    'outlookNew.title', 'outlookNew.path', 'outlookNew.label.security', 'outlookNew.security.ssl', 'outlookNew.security.starttls', 'outlookNew.cloud',
    'outlookMac.title', 'outlookMac.path', 'outlookMobile.title', 'outlookMobile.path', 'outlookFamily.refused', 'outlookFamily.username',
    'apple.username', 'apple.plain', 'android.auto.username', 'android.refused.method', 'android.refused.plain', 'android.refused.protocol', 'generic.username',
  ];
  for (const key of added) t.ok(key in en && key in de, `${key}: in en and de`);
  t.equal(en['tb.username.placeholder'], 'Enter your user name');
  t.equal(de['tb.username.placeholder'], 'Benutzernamen eintragen');
});
