/**
 * The provider keys of calendars and contacts (issue 23): `caldav` and
 * `carddav`, each a URL and a log-in name template as for mail. Checked here
 * with the same file:line:column problems as the rest of the file; the
 * formats that carry them are config-v1.1's root-level <calendar> and
 * <addressbook> (draft-ietf-mailmaint-autoconfig-06 §3.4), Apple's
 * com.apple.caldav.account / com.apple.carddav.account payloads, PACC's
 * protocols.caldav / .carddav, and the RFC 6764 redirects.
 */
import type { Report } from './load.js';
import type { DavProtocol, DavServer } from './model.js';

export interface RawDavServer {
  url: string;
  username?: string;
}

export interface RawDavKeys {
  caldav?: RawDavServer;
  carddav?: RawDavServer;
}

export interface DavKeys {
  readonly caldav?: DavServer;
  readonly carddav?: DavServer;
}

/** How the mail servers' user names are checked and defaulted (load.ts), shared so both read alike. */
export interface UsernameRules {
  readonly defaultUsername: string;
  check(template: string, path: (string | number)[], report: Report): void;
}

export function buildDavKeys(raw: RawDavKeys, usernames: UsernameRules, report: Report): DavKeys {
  const build = (protocol: DavProtocol): DavServer | undefined => {
    const server = raw[protocol];
    if (server === undefined) return undefined;
    if (server.username !== undefined) usernames.check(server.username, [protocol, 'username'], report);
    const template = server.username ?? usernames.defaultUsername;
    return { protocol, url: checkDavUrl(server.url, [protocol, 'url'], report), username: template === 'ask' ? null : template };
  };
  const caldav = build('caldav');
  const carddav = build('carddav');
  return { ...(caldav ? { caldav } : {}), ...(carddav ? { carddav } : {}) };
}

/**
 * An https URL with a path below the root: every format takes it as it is,
 * so it must say the context path (RFC 6764 §5: the service is never at the
 * root's .well-known itself; automx refuses bare origins for PACC's
 * WebDAV-family entries). No user name or password in it, no query or
 * fragment, and no placeholder (a URL cannot depend on the user).
 */
function checkDavUrl(text: string, path: (string | number)[], report: Report): string {
  const name = path[0];
  if (text.includes('%')) {
    report(path, 'error', `${String(name)} url must not contain placeholders or escapes`);
    return text;
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    report(path, 'error', `"${text}" is not a URL`);
    return text;
  }
  if (url.protocol !== 'https:') report(path, 'error', `${String(name)} url must use https (clients send the password to it)`);
  else if (url.username !== '' || url.password !== '') report(path, 'error', `${String(name)} url must not contain a user name or password`);
  else if (url.search !== '' || url.hash !== '') report(path, 'error', `${String(name)} url must not have a query or fragment`);
  else if (url.pathname === '/' || url.pathname === '') report(path, 'error', `${String(name)} url needs the path of the ${name === 'caldav' ? 'calendar' : 'address book'} service, e.g. https://dav.example.com/${name === 'caldav' ? 'calendars' : 'contacts'}/ (RFC 6764 §5)`);
  // The normalised form (lower-case host, IDN in ASCII, :443 dropped): what every format publishes.
  return url.href;
}
