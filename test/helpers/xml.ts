/** Parse our XML back into plain objects to compare with the YAML. */
import { XMLParser } from 'fast-xml-parser';

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  parseTagValue: false,
  trimValues: false,
  isArray: (name) => ['incomingServer', 'outgoingServer', 'authentication', 'domain', 'documentation', 'descr', 'Protocol'].includes(name),
});

export function parseXml(text: string): Record<string, any> {
  return parser.parse(text) as Record<string, any>;
}

export interface ServerView {
  type: string;
  hostname: string;
  port: number;
  socketType: string;
  authentication: string[];
  username: string;
}

/** The servers of a config-v1.1 document, in document order. */
export function thunderbirdServers(xml: string): { incoming: ServerView[]; outgoing: ServerView[]; provider: Record<string, any> } {
  const provider = parseXml(xml).clientConfig.emailProvider;
  const view = (s: any): ServerView => ({
    type: s['@type'],
    hostname: s.hostname,
    port: Number(s.port),
    socketType: s.socketType,
    authentication: s.authentication,
    username: s.username,
  });
  return { incoming: (provider.incomingServer ?? []).map(view), outgoing: (provider.outgoingServer ?? []).map(view), provider };
}
