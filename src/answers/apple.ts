/**
 * Apple configuration profiles: GET /mobileconfig?emailaddress=… (also
 * email=, name=, and the /email.mobileconfig alias), signed when a signing
 * certificate is configured.
 */
import { appleUnavailableReason, capabilities } from '../clients/capabilities.js';
import { APPLE_CONTENT_TYPE, parseFullName, profileFileName, renderApple } from '../formats/apple.js';
import type { ProfileSigner } from '../formats/signing.js';
import { SignedProfileCache } from './signed-profiles.js';
import type { ServerContext } from './context.js';
import { queryParameter, Refusal, refusalAnswer, type Answer, type Respond } from './exchange.js';
import { lookupMailbox, mailboxFrom, settle } from './lookup.js';

/**
 * The profile answer with its own cache of signed profiles (one per
 * application, shared by every listener of it). Synchronous unless a
 * profile has to be signed.
 */
export function appleAnswer(context: ServerContext): Respond {
  const signed = new SignedProfileCache();
  return (exchange) => {
    const refuse = (refusal: Refusal, domain?: string) => refusalAnswer(refusal, { format: 'apple', ...(domain !== undefined ? { domain } : {}) });
    const address = queryParameter(exchange.query, ['emailaddress', 'email']);
    if (address instanceof Refusal) return refuse(address);
    // A profile without an address cannot tell two users of one device apart.
    if (address === undefined) return refuse(new Refusal(400, 'add ?emailaddress=<your address> to the URL'));
    const mailbox = mailboxFrom(address);
    if (mailbox instanceof Refusal) return refuse(mailbox);
    const rawName = queryParameter(exchange.query, ['name']);
    if (rawName instanceof Refusal) return refuse(rawName);
    let fullName: string | undefined;
    if (rawName !== undefined && rawName.trim() !== '') {
      const parsed = parseFullName(rawName);
      if (!parsed.ok) return refuse(new Refusal(400, `invalid name: ${parsed.reason}`));
      fullName = parsed.value;
    }
    return settle(lookupMailbox(context, mailbox, exchange.host), (lookup): Answer | Promise<Answer> => {
      if (lookup instanceof Refusal) return refuse(lookup);
      const choice = capabilities(lookup.provider).apple;
      if (!choice.ok) return refuse(new Refusal(409, appleUnavailableReason(lookup.provider, choice.missing, 'en')), lookup.domain);

      const profile = (body: Buffer): Answer => ({
        status: 200,
        headers: {
          'content-type': APPLE_CONTENT_TYPE,
          'content-disposition': `attachment; filename="${profileFileName(lookup.provider)}"`,
          'cache-control': 'no-store',
          'x-content-type-options': 'nosniff',
        },
        body,
        served: { format: 'apple', domain: lookup.domain },
      });
      // The name given in the link wins over the directory's.
      const name = fullName ?? lookup.mailbox?.displayName;
      const options = { identifierPrefix: context.identifierPrefix, ...(name !== undefined ? { fullName: name } : {}) };
      // The mailbox as found: with the log-in name where the provider's directory gave one.
      const found = lookup.mailbox ?? mailbox;
      const unsigned = () => renderApple(lookup.provider, found, choice.servers, options);
      if (!context.signer) return profile(unsigned());
      // What the unsigned profile is made of besides the provider (see SignedProfileCache).
      const variant = `${options.identifierPrefix}\0${mailbox.address}\0${name ?? ''}\0${lookup.mailbox?.login ?? ''}`;
      const finish = (signer: ProfileSigner | undefined): Answer | Promise<Answer> => {
        if (!signer) return profile(unsigned());
        const hit = signed.get(signer, lookup.provider, variant);
        return hit ? profile(hit) : signed.sign(signer, lookup.provider, variant, unsigned()).then(profile);
      };
      const signer = context.signer.now();
      return signer instanceof Promise ? signer.then(finish) : finish(signer);
    });
  };
}
