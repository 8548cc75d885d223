/** Each client's own words for each TLS mode and authentication (research: client-labels.md). */
import t from 'tap';
import { clientWording } from '../src/formats/guide.js';

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
