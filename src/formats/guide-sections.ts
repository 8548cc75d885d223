/**
 * The setup page's sections, one per client, in that client's words: what
 * the automatic set-up gives it for this provider (capabilities.ts decides,
 * the page says it), the fields to type by hand, and what to do when the
 * client cannot use the provider at all. Built once per provider and
 * language, with holes for the mailbox (guide.ts).
 */
import { localize, type DavServer, type Provider, type Server } from '../catalog/model.js';
import { appleUnavailableReason, capabilities, outlookMethod, type ClientCapabilities, type Direction } from '../clients/capabilities.js';
import { message } from '../messages.js';
import { clientWording, type Client } from './guide-wording.js';
import type { HoleMarkers } from './prepared.js';

export interface Field {
  label: string;
  value: string;
}

export interface ClientSection {
  id: Exclude<Client, 'outlook-other'> | 'outlook-mac' | 'outlook-mobile' | 'generic';
  title: string;
  /** What `auto` is: sets itself up, except the user name, or not at all. */
  autoLabel?: string;
  auto?: string;
  /** What this client cannot do with this provider and what to do instead. */
  warnings: string[];
  steps: string[];
  servers: { heading: string; fields: Field[] }[];
  notes: string[];
  /** Calendars and contacts in this client, when the provider has them (caldav/carddav keys). */
  dav?: DavBlock;
}

/** What a client does with the provider's CalDAV and CardDAV services: a text, and the fields in its words. */
export interface DavBlock {
  heading: string;
  text: string[];
  services: { heading: string; fields: Field[] }[];
}

/** The clients whose calendar and contacts set-up the page describes. */
type DavClient = 'tb' | 'apple' | 'android' | 'outlook';

export interface Row {
  direction: string;
  protocol: string;
  host: string;
  port: number;
  encryption: string;
  authentication: string;
  username: string;
  preferred: boolean;
}

type Works = Record<'tb' | 'outlook' | 'apple' | 'android', boolean>;

/**
 * Whether Thunderbird desktop and Thunderbird for Android get the log-in
 * name as a hint in words. By default as the provider says (a server whose
 * name cannot be derived); with a looked-up name the answers decide it per
 * client (answers/setup.ts): Android asks without an address, so it gets
 * what the provider without the name says, and Thunderbird desktop gets the
 * hint for a name its JXON would alter.
 */
export interface LoginInWords {
  readonly thunderbird: boolean;
  readonly android: boolean;
}

export class SetupSections {
  private readonly can: ClientCapabilities;
  private readonly providerName: string;
  /** The address as people write it (a hole). */
  private readonly shown: string;
  /** What to type where a client cannot know the log-in name (username: ask). */
  readonly loginHint: string;
  /**
   * Not derivable: Thunderbird (desktop and Android) gets the placeholder as
   * user name, Outlook no LoginName, Apple profiles none (the device asks).
   */
  private readonly needsLogin: boolean;
  /** Whether Thunderbird desktop and Android are told in words what to type (LoginInWords). */
  private readonly inWords: LoginInWords;
  /** What to type in their place: the log-in name where the page knows it, else the hint. */
  private readonly typeInstead: string;
  private readonly works: Works;

  constructor(
    private readonly provider: Provider,
    private readonly l: string,
    private readonly holes: HoleMarkers,
    inWords?: LoginInWords,
  ) {
    this.can = capabilities(provider);
    this.providerName = localize(provider.name, l);
    this.shown = holes.mark({ kind: 'shownAddress' });
    this.loginHint = provider.usernameHint ? localize(provider.usernameHint, l) : this.t('setup.username.ask', { provider: this.providerName });
    this.needsLogin = [...provider.incoming, ...provider.outgoing].some((s) => s.username === null);
    this.inWords = inWords ?? { thunderbird: this.needsLogin, android: this.needsLogin };
    this.typeInstead = this.needsLogin ? this.loginHint : this.username(provider.incoming[0]!);
    this.works = { tb: this.can.thunderbird.missing === undefined, outlook: this.can.outlook.missing === undefined, apple: this.can.apple.ok, android: this.can.android.missing === undefined };
  }

  t(key: string, params?: Record<string, string | number>): string {
    return message(this.l, key, params);
  }

  get shownAddress(): string {
    return this.shown;
  }

  username(s: Server): string {
    return s.username === null ? this.loginHint : this.holes.username(s.username);
  }

  host(s: Server): string {
    return this.holes.domain(s.host);
  }

  /** The table of every server, preferred ones marked. */
  rows(): Row[] {
    const { provider } = this;
    return [...provider.incoming, ...provider.outgoing].map((s, i) => ({
      direction: this.t(s.protocol === 'smtp' ? 'setup.table.outgoing' : 'setup.table.incoming'),
      protocol: s.protocol.toUpperCase(),
      host: this.host(s),
      port: s.port,
      encryption: this.t(`generic.encryption.${s.socketType}`),
      authentication: this.t(`generic.auth.${s.authentication[0]!}`),
      username: this.username(s),
      preferred: i === 0 || i === provider.incoming.length,
    }));
  }

  all(): ClientSection[] {
    return [
      this.withDav(this.thunderbird(), 'tb'),
      this.withDav(this.outlook(), 'outlook'),
      this.outlookFamily('outlook-new', 'outlookNew', 'outlook-new'),
      this.outlookFamily('outlook-mac', 'outlookMac', 'outlook-other'),
      this.outlookFamily('outlook-mobile', 'outlookMobile', 'outlook-other'),
      this.withDav(this.apple(), 'apple'),
      this.withDav(this.android(), 'android'),
      this.generic(),
    ];
  }

  private get davServers(): DavServer[] {
    return [this.provider.caldav, this.provider.carddav].filter((s): s is DavServer => s !== undefined);
  }

  /**
   * Calendars and contacts, in `client`'s words (messages dav.<client>.*):
   * Thunderbird's "On the Network" calendar and CardDAV address book,
   * Apple's CalDAV/CardDAV accounts (the profile carries them, apple.ts),
   * DAVx⁵ on Android (Android syncs no other provider's calendars by
   * itself), and Outlook, which has no CalDAV or CardDAV at all.
   */
  private withDav(section: ClientSection, client: DavClient): ClientSection {
    const servers = this.davServers;
    if (servers.length === 0) return section;
    const services = servers.map((s) => this.t(`dav.service.${s.protocol}`)).join(this.t('setup.and'));
    // Only a profile that exists carries them (apple.ts).
    const profile = client === 'apple' && this.can.apple.ok ? [this.t('dav.apple.profile', { services })] : [];
    section.dav = {
      heading: this.t('dav.heading'),
      text: [...profile, this.t(`dav.${client}.text`, { services })],
      services: client === 'outlook' ? [] : servers.map((s) => this.davFields(client, s)),
    };
    return section;
  }

  private davFields(client: DavClient, s: DavServer): DavBlock['services'][number] {
    return {
      heading: this.t(`dav.${client}.${s.protocol}`),
      fields: [
        { label: this.t(`dav.${client}.url`), value: s.url },
        { label: this.t(`dav.${client}.username`), value: s.username === null ? this.loginHint : this.holes.username(s.username) },
      ],
    };
  }

  private serverFields(client: Client, s: Server): Field[] {
    const words = clientWording(client, this.l, s.socketType, s.authentication[0]!);
    return [
      { label: this.t(client === 'tb' ? 'tb.label.server' : 'field.server'), value: this.host(s) },
      { label: this.t('field.port'), value: String(s.port) },
      { label: words.securityLabel, value: words.security },
      ...(words.authenticationLabel ? [{ label: words.authenticationLabel, value: words.authentication }] : []),
      ...(s.protocol === 'smtp' && s.authentication[0] === 'none' ? [] : [{ label: this.t(client === 'tb' ? 'tb.label.username' : 'field.username'), value: this.username(s) }]),
    ];
  }

  private serverBlocks(client: Client, chosen: { incoming: Server; outgoing: Server }): ClientSection['servers'] {
    return [
      { heading: this.t('clients.incoming', { protocol: chosen.incoming.protocol.toUpperCase() }), fields: this.serverFields(client, chosen.incoming) },
      { heading: this.t('clients.outgoing'), fields: this.serverFields(client, chosen.outgoing) },
    ];
  }

  private get preferred(): { incoming: Server; outgoing: Server } {
    return { incoming: this.provider.incoming[0]!, outgoing: this.provider.outgoing[0]! };
  }

  private direction(d: Direction): string {
    return this.t(`setup.direction.${d}`);
  }

  /** The methods of a direction's servers, in the client's words where it has labels (Thunderbird's L10N), else the page's. */
  private methodsOf(d: Direction, client: Client): string {
    const servers = d === 'incoming' ? this.provider.incoming : this.provider.outgoing;
    return [...new Set(servers.flatMap((s) => s.authentication))].map((m) => this.t(client === 'tb' ? `tb.auth.${m}` : `generic.auth.${m}`)).join(', ');
  }

  private orList(items: string[]): string {
    return items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')}${this.t('instead.or')}${items.at(-1)!}`;
  }

  /** What to do instead: the clients that can, webmail, the provider's help. */
  private instead(refused?: keyof Works): string {
    const others = (Object.keys(this.works) as (keyof Works)[]).filter((c) => c !== refused && this.works[c]).map((c) => this.t(`name.${c}`));
    const choices: string[] = [];
    if (others.length > 0) choices.push(this.t('instead.clients', { clients: this.orList(others) }));
    if (this.provider.webmail) choices.push(this.t('instead.webmail', { url: this.provider.webmail }));
    choices.push(this.t(this.provider.documentation.length > 0 ? 'instead.docs' : 'instead.ask', { provider: this.providerName }));
    return this.t('instead.lead', { choices: this.orList(choices) });
  }

  private get autoLabel(): string {
    return this.autoLabelOf(this.needsLogin);
  }

  private autoLabelOf(partly: boolean): string {
    return this.t(partly ? 'clients.autoPartly' : 'clients.auto');
  }

  private thunderbird(): ClientSection {
    const { provider, providerName, shown } = this;
    const section: ClientSection = {
      id: 'tb',
      title: this.t('tb.title'),
      warnings: [],
      steps: [this.t('tb.path', { provider: providerName })],
      servers: this.serverBlocks('tb', this.preferred),
      notes: provider.incoming.some((s) => s.protocol === 'pop3') ? [this.t('tb.pop3')] : [],
    };
    const refused = this.can.thunderbird.missing;
    if (refused !== undefined) {
      section.warnings.push(`${this.t('tb.refused.oauth2', { direction: this.direction(refused), provider: providerName, address: shown })} ${this.instead('tb')}`);
    } else {
      section.autoLabel = this.autoLabelOf(this.inWords.thunderbird);
      section.auto = this.inWords.thunderbird
        ? this.t('tb.auto.username', { address: shown, placeholder: this.t('tb.username.placeholder'), hint: this.typeInstead })
        : this.t('tb.auto', { address: shown });
    }
    return section;
  }

  private outlook(): ClientSection {
    const { can, providerName, shown } = this;
    const section: ClientSection = { id: 'outlook', title: this.t('outlook.title'), warnings: [], steps: [], servers: [], notes: [] };
    if (can.outlook.missing !== undefined) {
      // Outlook gets an Autodiscover error and no half account: by hand it cannot sign in either.
      section.warnings.push(`${this.t('outlook.refused', { direction: this.direction(can.outlook.missing), provider: providerName, method: this.methodsOf(can.outlook.missing, 'outlook') })} ${this.instead('outlook')}`);
      return section;
    }
    const chosen = { incoming: can.outlook.incoming[0]!, outgoing: can.outlook.outgoing[0]! };
    section.autoLabel = this.autoLabel;
    section.auto = this.needsLogin ? this.t('outlook.auto.username', { address: shown, hint: this.loginHint }) : this.t('outlook.auto', { address: shown });
    section.steps.push(this.t('outlook.path', { protocol: chosen.incoming.protocol === 'imap' ? 'IMAP' : 'POP' }));
    section.servers = this.serverBlocks('outlook', chosen);
    section.notes.push(
      this.t(outlookMethod(chosen.incoming) === 'ntlm' ? 'outlook.spa.on' : 'outlook.spa.off'),
      outlookMethod(chosen.outgoing) === 'none' ? this.t('outlook.smtpAuth.none') : this.t(chosen.outgoing.sameLoginAsIncoming ? 'outlook.smtpAuth.same' : 'outlook.smtpAuth.separate'),
    );
    if (this.needsLogin) section.notes.push(this.t('outlook.username.manual', { hint: this.loginHint }));
    // Classic Outlook's simplified Add Account dialog may go to Microsoft 365
    // only (Microsoft KB3189194; research/outlook.md §2.1, Monogramm PR #39).
    section.notes.push(this.t('outlook.simplified'));
    return section;
  }

  /**
   * New Outlook, Outlook for Mac, iOS and Android find IMAP settings through
   * Microsoft's cloud AutoDetect, which never asks this service for a custom
   * domain (research/outlook.md §2.3): never "sets itself up".
   */
  private outlookFamily(id: 'outlook-new' | 'outlook-mac' | 'outlook-mobile', prefix: string, client: Client): ClientSection {
    const family = this.can.outlookFamily;
    const section: ClientSection = { id, title: this.t(`${prefix}.title`), warnings: [], steps: [], servers: [], notes: [] };
    if (family.missing !== undefined) {
      section.warnings.push(
        `${this.t('outlookFamily.refused', { client: section.title, direction: this.direction(family.missing), provider: this.providerName, method: this.methodsOf(family.missing, client) })} ${this.instead()}`,
      );
      return section;
    }
    section.autoLabel = this.t('clients.notAuto');
    section.auto = this.t(`${prefix}.path`, { address: this.shown });
    section.servers = this.serverBlocks(client, { incoming: family.incoming[0]!, outgoing: family.outgoing[0]! });
    if (this.needsLogin) section.warnings.push(this.t('outlookFamily.username', { hint: this.loginHint }));
    if (id === 'outlook-new') section.notes.push(this.t('outlookNew.cloud'));
    return section;
  }

  private apple(): ClientSection {
    const apple = this.can.apple;
    const section: ClientSection = {
      id: 'apple',
      title: this.t('apple.title'),
      warnings: [],
      steps: [this.t('apple.path')],
      servers: apple.ok ? this.serverBlocks('apple', apple.servers) : [],
      notes: [this.t('apple.macAuto')],
    };
    if (!apple.ok) {
      section.warnings.push(`${this.t('apple.unavailable', { reason: appleUnavailableReason(this.provider, apple.missing, this.l) })}. ${this.instead('apple')}`);
      return section;
    }
    section.autoLabel = this.autoLabel;
    section.auto = this.t('apple.auto', { address: this.shown });
    // The profile leaves the user name out; the device asks while installing (apple.ts).
    if (this.needsLogin) section.warnings.push(this.t('apple.username', { hint: this.loginHint }));
    // allowInsecureTransport: the profile's UseSSL is false for a plain server (apple.ts).
    const plain = (['incoming', 'outgoing'] as const).filter((d) => apple.servers[d].socketType === 'plain').map((d) => this.direction(d));
    if (plain.length > 0) section.warnings.push(this.t('apple.plain', { direction: plain.join(this.t('setup.and')), provider: this.providerName }));
    return section;
  }

  private android(): ClientSection {
    const { can, provider } = this;
    const section: ClientSection = {
      id: 'android',
      title: this.t('android.title'),
      warnings: [],
      steps: [this.t('android.path')],
      servers: this.serverBlocks('android', can.android.missing === undefined ? { incoming: can.android.incoming[0]!, outgoing: can.android.outgoing[0]! } : this.preferred),
      notes: [this.t('android.other', { security: this.t(`android.otherSecurity.${provider.incoming[0]!.socketType}`) })],
    };
    const missing = can.android.missing;
    if (missing === undefined) {
      section.autoLabel = this.autoLabelOf(this.inWords.android);
      section.auto = this.inWords.android
        ? this.t('android.auto.username', { address: this.shown, placeholder: this.t('tb.username.placeholder'), hint: this.typeInstead })
        : this.t('android.auto', { address: this.shown });
      return section;
    }
    // capabilities.ts decides that Android gets nothing; this only says why:
    // no IMAP at all, a plain entry (the whole document is rejected), or no
    // method it knows (research: thunderbird.md §3).
    const imap = provider.incoming.filter((s) => s.protocol === 'imap');
    const directionServers = missing === 'incoming' ? imap : provider.outgoing;
    const params = { direction: this.direction(missing), provider: this.providerName, method: this.methodsOf(missing, 'android') };
    if (missing === 'incoming' && imap.length === 0) {
      section.warnings.push(this.t('android.refused.protocol', params));
    } else if (directionServers.some((s) => s.socketType === 'plain')) {
      section.warnings.push(`${this.t('android.refused.plain', params)} ${this.instead('android')}`);
    } else {
      section.warnings.push(`${this.t('android.refused.method', params)} ${this.instead('android')}`);
      section.steps = [];
      section.servers = [];
    }
    return section;
  }

  private generic(): ClientSection {
    const { incoming, outgoing } = this.preferred;
    const where = (s: Server): string => `${this.host(s)}:${s.port} (${this.t(`generic.encryption.${s.socketType}`)})`;
    return {
      id: 'generic',
      title: this.t('generic.title'),
      warnings: this.needsLogin ? [this.t('generic.username', { hint: this.loginHint })] : [],
      steps: [this.t('generic.text', { incoming: where(incoming), outgoing: where(outgoing) })],
      servers: [],
      notes: [],
    };
  }
}
