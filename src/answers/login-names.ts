/**
 * The mailbox's log-in name from the provider's directory (a provider's
 * `lookup`): the step between finding the provider and rendering, for the
 * answers that carry a mailbox (Thunderbird with ?emailaddress, Outlook,
 * Apple, the setup page).
 *
 * A found name is given to the renderers as a view of the provider in which
 * every server's user name (mail, calendars, contacts) is LOOKED_UP_LOGIN,
 * filled from the mailbox: the renderers stay pure functions of a provider
 * and a mailbox, and a view is one object per provider, so their prepared
 * documents are made once for it as for any provider. Not found, failed or
 * timed out: the lookup as it was, so the answer is exactly the one without
 * a directory; every answer waits for the lookup's timing floor, so neither
 * the bytes nor the time tell which addresses exist (directory/lookup.ts).
 */
import type { DavServer, Provider, Server } from '../catalog/model.js';
import { thunderbirdAlters } from '../formats/thunderbird.js';
import { LOOKED_UP_LOGIN } from '../mailbox.js';
import type { ServerContext } from './context.js';
import { Refusal } from './exchange.js';
import type { Lookup } from './lookup.js';

/** The lookup with the mailbox's log-in name (and name) where the provider's directory has them. */
export function withLoginName(context: ServerContext, found: Lookup | Refusal): Lookup | Refusal | Promise<Lookup> {
  if (found instanceof Refusal || found.mailbox === undefined) return found;
  const lookup = context.logins?.for(found.provider);
  if (lookup === undefined) return found;
  const mailbox = found.mailbox;
  return lookup.findSettled(mailbox.address).then((name) => {
    if (name === undefined || !usable(name.login)) return found;
    const displayName = name.displayName?.trim();
    return {
      provider: withLookedUpLogin(found.provider),
      domain: found.domain,
      mailbox: { ...mailbox, login: name.login, ...(displayName !== undefined && usable(displayName) ? { displayName } : {}) },
    };
  });
}

/**
 * A directory's value that every format can carry: not empty, not
 * absurdly long, no control characters or code points no document may
 * hold (XML 1.0, plists). Anything else is as if nothing had been found.
 */
function usable(value: string): boolean {
  return value.length > 0 && value.length <= 256 && value.trim() === value && !UNUSABLE.test(value);
}
const UNUSABLE = /[\p{Cc}\p{Cs}\u2028\u2029\ufffe\uffff]/u;

/**
 * The provider as Thunderbird is told it: a looked-up log-in name that its
 * JXON would alter ("012345" read as 12345; see keepJxonSafe) cannot be
 * sent, and no template stands for it, so Thunderbird is told in words to
 * type it, as when it cannot be derived (the setup page shows the name).
 */
export function forThunderbird(lookup: Lookup): Provider {
  return lookup.mailbox?.login !== undefined && thunderbirdAlters(lookup.mailbox.login) ? withLoginAsked(lookup.provider) : lookup.provider;
}

const lookedUpViews = new WeakMap<Provider, Provider>();
const askedViews = new WeakMap<Provider, Provider>();

/** `provider` with the looked-up log-in name as every server's user name. */
export function withLookedUpLogin(provider: Provider): Provider {
  return view(lookedUpViews, provider, LOOKED_UP_LOGIN);
}

/**
 * `provider` with every user name to be asked for: what Thunderbird gets
 * when it would alter the looked-up name (keepJxonSafe: "012345" would
 * arrive as 12345), so it is told in words to type it instead.
 */
export function withLoginAsked(provider: Provider): Provider {
  return view(askedViews, provider, null);
}

/** The provider a view was made of (the catalog's); a provider that is no view is its own. */
export function withoutLookup(provider: Provider): Provider {
  return originals.get(provider) ?? provider;
}
const originals = new WeakMap<Provider, Provider>();

function view(views: WeakMap<Provider, Provider>, provider: Provider, username: string | null): Provider {
  let made = views.get(provider);
  if (made === undefined) {
    const server = <S extends Server>(s: S): S => ({ ...s, username });
    const dav = (d: DavServer): DavServer => ({ ...d, username });
    made = {
      ...provider,
      incoming: provider.incoming.map(server),
      outgoing: provider.outgoing.map(server),
      ...(provider.caldav ? { caldav: dav(provider.caldav) } : {}),
      ...(provider.carddav ? { carddav: dav(provider.carddav) } : {}),
    };
    views.set(provider, made);
    originals.set(made, withoutLookup(provider));
  }
  return made;
}
