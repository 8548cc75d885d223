/**
 * Fastify's side of the exchange/answer pair: the routes read an Exchange
 * from the request and send the Answer as it is, so they stay one line.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { queryOf, type Answer, type Exchange } from '../exchange.js';

export function exchangeOf(request: FastifyRequest): Exchange {
  return {
    method: request.method,
    query: queryOf(request.url),
    host: request.headers.host,
    ifNoneMatch: request.headers['if-none-match'],
    body: typeof request.body === 'string' ? request.body : undefined,
  };
}

export function sendAnswer(request: FastifyRequest, reply: FastifyReply, answer: Answer): FastifyReply {
  request.served = answer.served;
  reply.code(answer.status).headers(answer.headers);
  if (answer.etag !== undefined) reply.header('etag', answer.etag);
  // An empty body (304) without Fastify's default text/plain type.
  return answer.body.length === 0 ? reply.send() : reply.send(answer.body);
}
