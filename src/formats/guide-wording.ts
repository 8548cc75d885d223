/**
 * What each client calls a TLS mode and an authentication method, in its
 * own words (research: client-labels.md, which quotes each client's own
 * localisation files), for the setup page.
 */
import type { Authentication, SocketType } from '../catalog/model.js';
import { message } from '../messages.js';

/*
 * Where the client labels of the issue-19 texts come from (templates/messages):
 * Verified from the research:
 * - Thunderbird for Android: "Edit configuration" / "Konfiguration bearbeiten",
 *   "Incoming/Outgoing server settings" / "Einstellungen des Posteingangs-/
 *   Postausgangsservers", "Username" / "Benutzername", "Security None" /
 *   "Sicherheit Keine", "Protocol" (client-labels.md §5, TfA strings.xml [L10N]).
 * - Thunderbird desktop: "Username" / "Benutzername" (account-hub-result-
 *   username-label), "Encrypted password", "OAuth2", "Continue"/"Weiter" as
 *   before (client-labels.md §1 [L10N]).
 * - New Outlook for Windows: Settings › Accounts › Your accounts › Add account,
 *   "Show more" / "Mehr anzeigen", "IMAP Incoming Server", "SMTP Outgoing
 *   Server", "SMTP Username" / "SMTP-Benutzername", "SMTP Password" /
 *   "SMTP-Kennwort", "Secure connection type" / "Sicherer Verbindungstyp"
 *   (client-labels.md §2b, mailcow and OVH guides [provider]).
 * - Classic Outlook: the DisableOffice365SimplifiedAccountCreation value under
 *   HKCU\Software\Microsoft\Office\16.0\Outlook\Setup (Microsoft KB3189194, as
 *   quoted by several admin scripts) and "Test E-mail AutoConfiguration" via
 *   Ctrl + right-click on the tray icon (Microsoft KB text, quoted by hosters).
 * - Apple: "User Name" / "Benutzername", "Use SSL" (A-HT203995 [vendor]).
 * Not verified (written around, no label quoted):
 * - Thunderbird desktop's "Edit configuration" button: from tb-findings.md §1
 *   (read in email-config-found.mjs), not in client-labels.md; the German label
 *   is unknown, so the German text describes the button instead of naming it.
 * - New Outlook's German host-field labels (the sources disagree) and its
 *   sign-in methods (no SPA setting found; that NTLM cannot work is inferred).
 * - Outlook for Mac and Outlook for iOS/Android: no labels in the research;
 *   their steps name no field, and their fields use the page's own words.
 * - Classic Outlook's credential prompt and the German name of "Test E-mail
 *   AutoConfiguration" (one third-party source: "E-Mail-AutoKonfiguration testen").
 * - The German Apple "SSL verwenden" switch (client-labels.md: UNCONFIRMED; the
 *   page says "SSL" as before).
 */

/**
 * The clients whose own words the page uses. 'outlook' is classic Outlook;
 * 'outlook-new' new Outlook for Windows; 'outlook-other' Outlook for Mac,
 * iOS and Android, for which the research has no labels (client-labels.md
 * has none), so their fields use the page's own words.
 */
export type Client = 'tb' | 'outlook' | 'outlook-new' | 'outlook-other' | 'apple' | 'android';

export interface Wording {
  /** The field and the value to choose for the TLS mode. */
  readonly securityLabel: string;
  readonly security: string;
  /** The field and value for the authentication; Outlook has only the SPA box. */
  readonly authenticationLabel?: string;
  readonly authentication: string;
}

/** What a client calls a TLS mode and an authentication, in its own words. */
export function clientWording(client: Client, language: string, socketType: SocketType, authentication: Authentication): Wording {
  const t = (key: string) => message(language, key);
  switch (client) {
    case 'apple':
      return {
        securityLabel: t('apple.label.ssl'),
        security: t(socketType === 'plain' ? 'apple.ssl.off' : 'apple.ssl.on'),
        authenticationLabel: t('apple.label.auth'),
        authentication: t(`apple.auth.${authentication}`),
      };
    case 'outlook':
      return {
        securityLabel: t('outlook.label.encryption'),
        security: t(`outlook.security.${socketType}`),
        authentication: t(authentication === 'ntlm' ? 'outlook.spa.on' : 'outlook.spa.off'),
      };
    case 'outlook-new':
      // "Secure connection type: SSL/TLS · STARTTLS" (client-labels.md 2b:
      // mailcow and OVH guides agree, en and de); no sign-in method field.
      return {
        securityLabel: t('outlookNew.label.security'),
        security: t(socketType === 'plain' ? 'generic.encryption.plain' : `outlookNew.security.${socketType}`),
        authentication: '',
      };
    case 'outlook-other':
      return {
        securityLabel: t('setup.table.encryption'),
        security: t(`generic.encryption.${socketType}`),
        authenticationLabel: t('setup.table.authentication'),
        authentication: t(`generic.auth.${authentication}`),
      };
    case 'tb':
    case 'android':
      return {
        securityLabel: t(`${client}.label.security`),
        security: t(`${client}.security.${socketType}`),
        authenticationLabel: t(`${client}.label.auth`),
        authentication: t(`${client}.auth.${authentication}`),
      };
  }
}
