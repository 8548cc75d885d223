/**
 * The human pages: / (one field, works without JavaScript) and /setup (the
 * settings and each client's own words for one mailbox), English or German
 * by ?lang= or Accept-Language.
 */
import accepts from '@fastify/accepts';
import fastifyStatic from '@fastify/static';
import { join } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GUIDE_CONTENT_TYPE, LANGUAGES, renderGuide, renderPage } from '../../formats/guide.js';
import { message } from '../../messages.js';
import { TEMPLATES_DIR } from '../../paths.js';
import type { ServerContext } from '../context.js';
import { parseAddress } from '../../mailbox.js';
import { queryOf, queryParameter, Refusal, type Query } from '../exchange.js';
import { lookupMailbox } from '../request.js';

/** No script at all, styles only from here, nothing from elsewhere. */
const CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

export function webRoutes(context: ServerContext) {
  return async function plugin(app: FastifyInstance): Promise<void> {
    await app.register(accepts);
    await app.register(fastifyStatic, { root: join(TEMPLATES_DIR, 'static'), prefix: '/static/', index: false, maxAge: '1h', serve: true });

    const language = (request: FastifyRequest, query: Query): string => {
      const asked = queryParameter(query, ['lang']);
      if (typeof asked === 'string' && LANGUAGES.includes(asked)) return asked;
      const negotiated = request.languages([...LANGUAGES]);
      return typeof negotiated === 'string' ? negotiated : LANGUAGES[0]!;
    };
    const html = (reply: FastifyReply, status: number, body: Buffer, lang: string) =>
      reply
        .code(status)
        .type(GUIDE_CONTENT_TYPE)
        .header('Content-Language', lang)
        .header('Content-Security-Policy', CONTENT_SECURITY_POLICY)
        .header('X-Content-Type-Options', 'nosniff')
        // The address is in the URL: never send it on to linked sites.
        .header('Referrer-Policy', 'no-referrer')
        .header('Vary', 'Accept-Language')
        .header('Cache-Control', 'no-store')
        .send(body);

    app.get('/', async (request, reply) => {
      request.served = { format: 'guide' };
      const lang = language(request, queryOf(request.url));
      return html(reply, 200, await renderPage('index', lang), lang);
    });

    app.get('/setup', async (request, reply) => {
      request.served = { format: 'guide' };
      const query = queryOf(request.url);
      const lang = language(request, query);
      const raw = queryParameter(query, ['emailaddress', 'email']);
      const form = async (error: string, value: string) =>
        html(reply, 400, await renderPage('index', lang, { error, value }), lang);
      if (raw instanceof Refusal) return form(raw.reason, '');
      if (raw === undefined || raw.trim() === '') return form(message(lang, 'index.label'), '');
      const parsed = parseAddress(raw.trim());
      if (!parsed.ok) {
        return form(message(lang, 'address.invalid', { reason: message(lang, `address.${parsed.code}`, parsed.params) }), raw.slice(0, 254));
      }
      const mailbox = parsed.value;
      const lookup = lookupMailbox(context.catalog(), mailbox);
      if (lookup instanceof Refusal) {
        return html(reply, 404, await renderPage('not-found', lang, { mailbox }), lang);
      }
      request.served = { format: 'guide', domain: lookup.domain };
      const base = context.publicBaseUrl ?? `${request.protocol}://${request.host}`;
      const body = await renderGuide(lookup.provider, mailbox, {
        language: lang,
        profileUrl: `${base}/mobileconfig?${new URLSearchParams({ emailaddress: mailbox.address }).toString()}`,
      });
      return html(reply, 200, body, lang);
    });
  };
}
