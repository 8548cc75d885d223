/**
 * Apple configuration profile route: GET /mobileconfig?emailaddress=… (also
 * email=, name=, and the /email.mobileconfig alias), signed when a signing
 * certificate is configured.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { APPLE_CONTENT_TYPE, chooseAppleServers, parseFullName, profileFileName, renderApple } from '../../formats/apple.js';
import { SignedProfileCache } from '../../formats/signing.js';
import type { ServerContext } from '../context.js';
import { lookupMailbox, mailboxFrom, queryParameter, Refusal, refuse } from '../request.js';

export function appleRoutes(context: ServerContext) {
  return async function plugin(app: FastifyInstance): Promise<void> {
    const signed = new SignedProfileCache();
    const profile = async (request: FastifyRequest, reply: FastifyReply) => {
      request.served = { format: 'apple' };
      const address = queryParameter(request, ['emailaddress', 'email']);
      if (address instanceof Refusal) return refuse(reply, address);
      // A profile without an address cannot tell two users of one device apart.
      if (address === undefined) return refuse(reply, new Refusal(400, 'add ?emailaddress=<your address> to the URL'));
      const mailbox = mailboxFrom(address);
      if (mailbox instanceof Refusal) return refuse(reply, mailbox);
      const rawName = queryParameter(request, ['name']);
      if (rawName instanceof Refusal) return refuse(reply, rawName);
      let fullName: string | undefined;
      if (rawName !== undefined && rawName.trim() !== '') {
        const parsed = parseFullName(rawName);
        if (!parsed.ok) return refuse(reply, new Refusal(400, `invalid name: ${parsed.reason}`));
        fullName = parsed.value;
      }
      const lookup = lookupMailbox(context.catalog(), mailbox);
      if (lookup instanceof Refusal) return refuse(reply, lookup);
      request.served = { format: 'apple', domain: lookup.domain };
      const choice = chooseAppleServers(lookup.provider);
      if (!choice.ok) return refuse(reply, new Refusal(409, choice.reason));

      const unsigned = renderApple(lookup.provider, mailbox, choice.servers, {
        identifierPrefix: context.identifierPrefix,
        ...(fullName !== undefined ? { fullName } : {}),
      });
      const signer = await context.signer?.current();
      const body = signer ? await signed.sign(signer, unsigned) : unsigned;
      return reply
        .type(APPLE_CONTENT_TYPE)
        .header('Content-Disposition', `attachment; filename="${profileFileName(lookup.provider)}"`)
        .header('Cache-Control', 'no-store')
        .header('X-Content-Type-Options', 'nosniff')
        .send(body);
    };
    app.get('/mobileconfig', profile);
    app.get('/email.mobileconfig', profile);
  };
}
