/**
 * The language of an answer a person reads: ?lang= when it names one we
 * have messages for, else the client's Accept-Language, else English.
 */
import accepts from 'accepts';
import { LANGUAGES } from '../messages.js';
import { queryParameter, type Exchange } from './exchange.js';

export function preferredLanguage(exchange: Exchange, { fromQuery }: { fromQuery: boolean }): string {
  if (fromQuery) {
    const asked = queryParameter(exchange.query, ['lang']);
    if (typeof asked === 'string' && LANGUAGES.includes(asked)) return asked;
  }
  const negotiated = accepts({ headers: exchange.headers } as Parameters<typeof accepts>[0]).languages([...LANGUAGES]);
  return typeof negotiated === 'string' ? negotiated : LANGUAGES[0]!;
}
