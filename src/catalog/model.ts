/**
 * The typed provider model: what a provider YAML file means once it has been
 * validated and its defaults filled in. Every client format is rendered from
 * this model alone, so no format has settings the others cannot see.
 */

/** ssl = implicit TLS from the first byte; starttls = upgrade; plain = none. */
export type SocketType = 'ssl' | 'starttls' | 'plain';

export type Authentication =
  | 'password-cleartext'
  | 'password-encrypted'
  | 'ntlm'
  | 'gssapi'
  | 'oauth2'
  | 'none';

export type IncomingProtocol = 'imap' | 'pop3';
export type Protocol = IncomingProtocol | 'smtp';

/** A language code ("en", "de") mapped to text; always has at least one entry. */
export type LocalizedText = Readonly<Record<string, string>>;

/** The language every localized text falls back to. */
export const FALLBACK_LANGUAGE = 'en';

/** Pick the text for a language, falling back to English, then to any text. */
export function localize(text: LocalizedText, language: string): string {
  return text[language] ?? text[FALLBACK_LANGUAGE] ?? Object.values(text)[0] ?? '';
}

export interface Server {
  readonly protocol: Protocol;
  /** Host name in ASCII; may contain %EMAILDOMAIN%, filled per mail domain. */
  readonly host: string;
  readonly port: number;
  readonly socketType: SocketType;
  /** Methods the server accepts, most preferred first (never empty). */
  readonly authentication: readonly Authentication[];
  /**
   * Login name template (%EMAILADDRESS%, %EMAILLOCALPART%, %EMAILDOMAIN%), or
   * null when it cannot be derived from the address (clients must ask).
   */
  readonly username: string | null;
  /** SMTP only: same login and password as incoming mail (SMTP-AUTH). */
  readonly sameLoginAsIncoming: boolean;
}

export interface IncomingServer extends Server {
  readonly protocol: IncomingProtocol;
}

export interface OutgoingServer extends Server {
  readonly protocol: 'smtp';
}

export type DavProtocol = 'caldav' | 'carddav';

/** A calendar (CalDAV, RFC 4791) or contacts (CardDAV, RFC 6352) service of the provider. */
export interface DavServer {
  readonly protocol: DavProtocol;
  /** An absolute https URL with the service's path (normalised by the URL parser). */
  readonly url: string;
  /** Login name template as for mail servers, or null when it cannot be derived (clients ask). */
  readonly username: string | null;
}

export interface DocumentationLink {
  readonly url: string;
  readonly description: LocalizedText;
}

export interface OAuth2Endpoints {
  readonly issuer: string;
  readonly scope: string;
  readonly authURL: string;
  readonly tokenURL: string;
}

export interface Provider {
  readonly id: string;
  readonly name: LocalizedText;
  readonly shortName: string;
  /** ASCII (punycode), lower case, no trailing dot; unique across the catalog. */
  readonly domains: readonly string[];
  readonly incoming: readonly IncomingServer[];
  readonly outgoing: readonly OutgoingServer[];
  readonly allowInsecureTransport: boolean;
  readonly usernameHint?: LocalizedText;
  readonly pop3?: { readonly leaveMessagesOnServer?: boolean; readonly daysToLeaveMessagesOnServer?: number };
  readonly webmail?: string;
  /** Bytes. */
  readonly maxMessageSize?: number;
  readonly documentation: readonly DocumentationLink[];
  readonly notes?: LocalizedText;
  readonly oauth2?: OAuth2Endpoints;
  /** Calendars and contacts (src/catalog/dav-keys.ts). */
  readonly caldav?: DavServer;
  readonly carddav?: DavServer;
  /**
   * Host names of the provider's own (autoconfig.hoster.example): a request
   * arriving on one is answered with this provider for any address's domain.
   * ASCII, lower case, no trailing dot.
   */
  readonly serviceHosts: readonly string[];
  /**
   * MX host patterns, normalised like domains: an exact host name, or
   * "*.suffix" for one or more labels in front of suffix (see src/sources/mx.ts).
   */
  readonly mxPatterns: readonly string[];
  /** Absolute path of a plain text domain list (src/catalog/domain-list.ts). */
  readonly domainsFile?: string;
  readonly domainsQuery?: DomainsQuery;
  /** Log-in names looked up in the provider's directory (src/catalog/lookup-keys.ts, src/directory/). */
  readonly lookup?: LoginLookupConfig;
  /** The file the provider was loaded from (for messages, never for output). */
  readonly source: string;
}

/** Where a PostgreSQL password comes from; the password itself is never in the model. */
export type PasswordSource = { readonly file: string } | { readonly env: string };

/** Domains read from PostgreSQL (src/sources/postgres-domains.ts). */
export interface DomainsQuery {
  /** postgresql:// URL without a password. */
  readonly connection: string;
  /** Absent: no password (certificate or trust authentication). Files are absolute paths. */
  readonly password?: PasswordSource;
  /** Returns one column of domain names. */
  readonly query: string;
  /** LISTEN channel whose NOTIFY makes the query run again. */
  readonly listen?: string;
  readonly refreshSeconds: number;
  /** Bounds a connection attempt and the query alike. */
  readonly timeoutSeconds: number;
}

/**
 * Where a provider looks log-in names up by address (issue 22): one
 * directory and the cache in front of it. Passwords are never in the model,
 * only where they come from.
 */
export interface LoginLookupConfig {
  readonly directory: LdapDirectoryConfig | SqlDirectoryConfig;
  readonly cache: LookupCacheConfig;
  /** Bounds one lookup, connection included. */
  readonly timeoutSeconds: number;
}

export interface LdapDirectoryConfig {
  readonly kind: 'ldap';
  /** ldap://host[:port] or ldaps://host[:port]. */
  readonly url: string;
  /** STARTTLS on an ldap:// connection before the bind. */
  readonly startTls: boolean;
  readonly bindDn: string;
  readonly password: PasswordSource;
  readonly baseDn: string;
  /** RFC 4515 filter with %EMAILADDRESS%, %EMAILLOCALPART% or %EMAILDOMAIN%, filled escaped. */
  readonly filter: string;
  readonly loginAttribute: string;
  readonly displayNameAttribute?: string;
  /** Absolute path of the PEM CA file for ldaps:// and STARTTLS (default: the system's). */
  readonly caFile?: string;
}

export type SqlDirectoryConfig =
  | {
      readonly kind: 'postgresql';
      /** postgresql:// URL without a password. */
      readonly connection: string;
      readonly password?: PasswordSource;
      /** One parameter, $1: the address. */
      readonly query: string;
    }
  | {
      readonly kind: 'sqlite';
      /** Absolute path of the database file. */
      readonly file: string;
      /** One parameter, ?: the address. */
      readonly query: string;
    };

export interface LookupCacheConfig {
  /** How long a found log-in name is kept. */
  readonly ttlSeconds: number;
  /** How long "not found" is kept, and how long a failed directory is left alone. */
  readonly negativeTtlSeconds: number;
  readonly maxEntries: number;
}

/** Standard ports (IANA; RFC 8314 for implicit TLS submission on 465). */
export function defaultPort(protocol: Protocol, socketType: SocketType): number {
  switch (protocol) {
    case 'imap':
      return socketType === 'ssl' ? 993 : 143;
    case 'pop3':
      return socketType === 'ssl' ? 995 : 110;
    case 'smtp':
      return socketType === 'ssl' ? 465 : socketType === 'starttls' ? 587 : 25;
  }
}
