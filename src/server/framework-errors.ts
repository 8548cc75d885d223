/**
 * The refusals Fastify answers by itself, before any route or error
 * handler: a path with invalid percent-encoding (FST_ERR_BAD_URL, 400) and a
 * path segment longer than the router's maxParamLength (414). Without
 * `frameworkErrors` Fastify sends them as JSON with the raw path in it and
 * no X-Content-Type-Options (https://fastify.dev/docs/latest/Reference/Server/#frameworkerrors);
 * here they are one fixed plain-text line like every other refusal.
 */
import type { FastifyError } from 'fastify';
import { lineAnswer, PLAIN_TEXT, type Answer } from '../answers/exchange.js';

const REASONS: Record<string, readonly [number, string]> = {
  FST_ERR_BAD_URL: [400, 'the path is not valid percent-encoded UTF-8'],
  FST_ERR_MAX_PARAM_LENGTH: [414, 'a part of the path is too long'],
};

export function frameworkErrorAnswer(error: FastifyError): Answer {
  const [status, reason] = REASONS[error.code] ?? [400, 'the request is not valid'];
  return lineAnswer(status, reason, null, { 'content-type': PLAIN_TEXT, 'x-content-type-options': 'nosniff', 'cache-control': 'no-store' });
}
