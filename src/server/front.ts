/**
 * The front: a node:http request listener in front of Fastify that answers
 * the plain shapes of the route table's requests itself, and hands
 * everything else to Fastify.
 *
 * Why: the clients' requests come in bursts from every client of a hoster,
 * and a Fastify request costs several times what the answer itself costs
 * (request and reply objects, hooks, the router, the child logger). The
 * front takes only what needs no decoding (a path the table knows, no
 * percent signs in it, a POST with a Content-Length within the row's limit)
 * and leaves every unusual request to Fastify, which serves the same rows
 * through the same pipeline (test/front-agreement.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { queryOf } from '../answers/exchange.js';
import type { Pipeline } from './pipeline.js';
import { matcher, responderFor, type Endpoint } from './table.js';

const ignore = (): void => undefined;

/** Answers a request, or returns false for Fastify to answer it. */
export type Front = (request: IncomingMessage, response: ServerResponse) => boolean;

export function createFront(table: readonly Endpoint[], pipeline: Pipeline): Front {
  const match = matcher(table);
  const companion = pipeline.plainCompanion;

  return (request, response) => {
    const admission = pipeline.admit(request);
    if (admission.refusal !== undefined) {
      pipeline.deliver(request, response, admission.refusal, admission);
      return true;
    }
    const url = request.url ?? '/';
    const queryAt = url.indexOf('?');
    const path = queryAt < 0 ? url : url.slice(0, queryAt);
    // Paths with escapes, or anything else unusual, are Fastify's (its router decodes them).
    if (path.includes('%')) return pipeline.handOver(request, admission);
    const found = match(path);
    if (found === undefined) return pipeline.handOver(request, admission);
    const { endpoint, tail } = found;
    if (companion && !endpoint.overPlainHttp) {
      pipeline.deliver(request, response, pipeline.redirectToHttps(request, admission), admission);
      return true;
    }
    const method = request.method ?? '';
    const respond = responderFor(endpoint, method);
    if (respond === undefined) return pipeline.handOver(request, admission);
    // The exchange is made whole once the body has arrived, never
    // `{ ...exchange, body }`: on Node 20's V8 a spread followed by a new
    // property makes a new hidden class for every object, and those maps
    // live in the old generation, where their mark-compacts set Autodiscover
    // POST's tail (docs/performance.md).
    const query = queryOf(url);
    if (method !== 'POST') {
      pipeline.respond(request, response, respond, pipeline.exchange(request, admission, query, tail, undefined), admission);
      return true;
    }
    const headers = request.headers;
    // A POST body within the limit and of a declared length; chunked or
    // oversized bodies get Fastify's full handling (413 and the like).
    const declared = headers['content-length'];
    const length = declared === undefined ? NaN : Number(declared);
    if (headers['transfer-encoding'] !== undefined || !(length >= 0 && length <= (endpoint.body?.limit ?? 0))) return pipeline.handOver(request, admission);
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      // Almost always one chunk: no copy then.
      const body = (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)).toString('utf8');
      pipeline.respond(request, response, respond, pipeline.exchange(request, admission, query, tail, body), admission);
    });
    // A client that goes away mid-body gets no answer; nothing else to do.
    request.on('error', ignore);
    return true;
  };
}
