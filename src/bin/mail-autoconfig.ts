#!/usr/bin/env node
/**
 * mail-autoconfig <command>: serve, validate, render, import, dns, check, lookup.
 * Exit codes: 0 success, 1 the checked thing is wrong, 2 usage error.
 */
import { parseArgs } from 'node:util';
import { BUNDLED_PROVIDERS_DIR } from '../paths.js';
import type { Output } from '../cli/commands.js';
import { RENDER_FORMATS, resolveSettings, SETTINGS_FLAGS, settingsHelp, UsageError, type RenderFormat } from '../cli/options.js';

// Each command loads what it needs when it runs: serve starts without the
// importer, the checker and the DNS writer.
const commands = () => import('../cli/commands.js');

const io: Output = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

const HELP: Record<string, string> = {
  main: `Usage: mail-autoconfig <command> [options]

Commands:
  serve                          run the HTTP service (what npm start runs)
  validate [paths…]              check provider YAML files
  render <format> <address>      print what the server answers (thunderbird, outlook, apple, guide)
  import <files|folders…> --out <folder>
                                 convert Thunderbird config-v1.1 XML to provider YAML
  dns <domain>                   print the DNS records a domain owner publishes
  dns --hoster <id>              print a hoster's records: once, and per customer domain
  check <address> [--url <base>] fetch every format from a running deployment and check it
  check --hoster <id>            check a hoster's records in DNS and at the deployment
  lookup <address>               show what the provider's directory lookup returns for an address

mail-autoconfig <command> --help shows the options of a command.
Exit codes: 0 success, 1 the checked thing is wrong, 2 usage error.`,
  serve: `Usage: mail-autoconfig serve [options]

Serves Thunderbird autoconfig, Outlook Autodiscover and Apple profiles from
the provider YAML files. SIGHUP reloads the providers; SIGTERM stops after
the requests in flight.

Options (flag, environment variable):
${settingsHelp()}`,
  validate: `Usage: mail-autoconfig validate [paths…] [--json]

Checks provider files (default: the bundled providers) without starting a
server. Prints each problem as file:line:column: severity: message, then a
summary. Exit 1 on any error (warnings do not fail).

  --json    print the result as JSON`,
  render: `Usage: mail-autoconfig render <thunderbird|outlook|apple|guide> <address> [options]

Writes exactly what the server would answer for the address to stdout.
Exit 1 when the server would refuse (the reason goes to stderr).

  --headers     also print the status and headers to stderr
${settingsHelp()}`,
  import: `Usage: mail-autoconfig import <files or folders…> --out <folder> [--force]

Converts Thunderbird/ISPDB config-v1.1 XML into provider YAML, one file per
provider, and reports each element that could not be carried over.
Existing files are not overwritten unless --force is given.`,
  dns: `Usage: mail-autoconfig dns <domain> [--public-url <url> | --target <host> | --address <ip>] [--json]
       mail-autoconfig dns --hoster <provider id> [--domain <customer domain>] [...]

Prints, in zone-file syntax, the records the owner of <domain> publishes:
autoconfig/autodiscover host records (CNAME to the service's public host, or
A/AAAA with --address), _autodiscover._tcp SRV, the PACC records, and the
RFC 6186/8314 SRV records of the provider's servers ("." where a service is
not offered).

With --hoster, a hoster's two groups: the records it publishes once (its
service hosts, and where Thunderbird's MX step looks for its MX hosts), and
those of each customer domain, as a template with <customer-domain>, or for
the one --domain.

  --target <host>     the service's public host name (default: from --public-url,
                      else the provider's first service host)
  --address <ip>      publish A/AAAA records to this address instead of CNAMEs
  --hoster <id>       the hoster layout of this provider
  --domain <domain>   with --hoster: the records of this customer domain
  --json              print the records as JSON
${settingsHelp()}`,
  check: `Usage: mail-autoconfig check <address> [--url <base>] [--dns <server>] [--insecure] [--json]
       mail-autoconfig check --hoster <provider id> [--domain <customer domain>] [--providers <paths>] [...]

Fetches every format from a running deployment the way clients do (Thunderbird
with and without emailaddress, .well-known, ISPDB path, Outlook POST on the
usual path casings, the v2 JSON, the Apple profile, the PACC document),
checks status, content types and well-formedness and that all formats agree
on servers, ports and TLS modes, and the PACC document's SHA-256 against the
_ua-auto-config.<domain> TXT record when one can be read. Prints a table;
exit 1 when anything fails.

With --hoster, the records the hoster publishes once: each service host
resolves and the deployment answers on it for any address; for each MX
pattern, a name Thunderbird's MX step asks is such a service host. With
--domain, also the customer domain's: its MX host is the provider's,
autoconfig./autodiscover. and _autodiscover._tcp point at a service host,
and the deployment answers for it.

  --url <base>    the deployment (default http://localhost:8080); requests carry the
                  Host header a client would send (autoconfig.<domain>, ...)
  --dns <server>  DNS server (address or address:port, repeatable) for the TXT lookup
                  (with --hoster: every lookup); default the system's
  --insecure      accept any TLS certificate
  --json          print the rows as JSON
  --hoster <id>   check this provider's hoster records instead of an address
  --domain <d>    with --hoster: also the records of this customer domain
  --providers <paths>  with --hoster: provider folder(s) or file(s), comma-separated
                  (default: MAIL_AUTOCONFIG_PROVIDERS, else the bundled ones)`,
  lookup: `Usage: mail-autoconfig lookup <address> [--providers <paths>] [--json]

Asks the directory (LDAP or SQL) of the provider serving the address, as the
answers do, and prints the log-in name and display name it returns, or why
there is none, and how long it took. Passwords named by passwordEnv are read
from this command's environment. Exit 0 when found, 1 when not found or the
lookup failed.

  --providers <paths>   provider folder(s) or file(s), comma-separated (default: MAIL_AUTOCONFIG_PROVIDERS, else the bundled ones)
  --json                print the result as JSON`,
};

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    io.out(`${HELP.main}\n`);
    return command === undefined ? 2 : 0;
  }
  if (!(command in HELP) || command === 'main') {
    io.err(`unknown command "${command}"\n\n${HELP.main}\n`);
    return 2;
  }
  const help = { help: { type: 'boolean' as const, short: 'h' } };
  try {
    switch (command) {
      case 'serve': {
        const { values } = parseArgs({ args: rest, options: { ...SETTINGS_FLAGS, ...help }, strict: true });
        if (values.help) return printHelp(command);
        try {
          await (await import('../cli/serve.js')).serve(resolveSettings(values, process.env));
        } catch (error) {
          if (error instanceof UsageError) throw error;
          // Watchers, timers and a listener already open would keep a failed start running.
          io.err(`mail-autoconfig serve: ${firstLine((error as Error).message)}\n`);
          process.exit(1);
        }
        return -1; // keeps running
      }
      case 'validate': {
        const { values, positionals } = parseArgs({ args: rest, options: { json: { type: 'boolean' }, ...help }, allowPositionals: true, strict: true });
        if (values.help) return printHelp(command);
        return await (await commands()).validate(positionals.length ? positionals : [BUNDLED_PROVIDERS_DIR], values.json === true, io);
      }
      case 'render': {
        const { values, positionals } = parseArgs({ args: rest, options: { ...SETTINGS_FLAGS, headers: { type: 'boolean' }, ...help }, allowPositionals: true, strict: true });
        if (values.help) return printHelp(command);
        const [format, address, ...extra] = positionals;
        if (!format || !address || extra.length > 0) throw new UsageError('render needs a format and an address');
        if (!(RENDER_FORMATS as readonly string[]).includes(format)) throw new UsageError(`unknown format "${format}"; use ${RENDER_FORMATS.join(', ')}`);
        return await (await commands()).render(format as RenderFormat, address, resolveSettings(values, process.env), io, values.headers === true);
      }
      case 'import': {
        const { values, positionals } = parseArgs({ args: rest, options: { out: { type: 'string' }, force: { type: 'boolean' }, ...help }, allowPositionals: true, strict: true });
        if (values.help) return printHelp(command);
        if (!values.out) throw new UsageError('import needs --out <folder>');
        if (positionals.length === 0) throw new UsageError('import needs at least one file or folder');
        return await (await commands()).importFiles(positionals, values.out, values.force === true, io);
      }
      case 'dns': {
        const { values, positionals } = parseArgs({ args: rest, options: { ...SETTINGS_FLAGS, target: { type: 'string' }, address: { type: 'string' }, hoster: { type: 'string' }, domain: { type: 'string' }, json: { type: 'boolean' }, ...help }, allowPositionals: true, strict: true });
        if (values.help) return printHelp(command);
        if (values.hoster !== undefined && positionals.length > 0) throw new UsageError('dns takes a domain or --hoster <provider id>, not both');
        if (values.hoster === undefined && values.domain !== undefined) throw new UsageError('--domain goes with --hoster (for a listed domain: dns <domain>)');
        if (values.hoster === undefined && positionals.length !== 1) throw new UsageError('dns needs one domain, or --hoster <provider id>');
        const request = values.hoster !== undefined ? { hoster: values.hoster, ...(values.domain !== undefined ? { customerDomain: values.domain } : {}) } : { domain: positionals[0]! };
        return await (await commands()).dns(request, resolveSettings(values, process.env), values.address ?? values.target, values.json === true, io);
      }
      case 'check': {
        const { values, positionals } = parseArgs({ args: rest, options: { url: { type: 'string' }, dns: { type: 'string', multiple: true }, insecure: { type: 'boolean' }, json: { type: 'boolean' }, hoster: { type: 'string' }, domain: { type: 'string' }, providers: { type: 'string' }, ...help }, allowPositionals: true, strict: true });
        if (values.help) return printHelp(command);
        if (values.hoster !== undefined && positionals.length > 0) throw new UsageError('check takes an e-mail address or --hoster <provider id>, not both');
        if (values.hoster === undefined && (values.domain !== undefined || values.providers !== undefined)) throw new UsageError('--domain and --providers go with --hoster');
        if (values.hoster === undefined && positionals.length !== 1) throw new UsageError('check needs one e-mail address, or --hoster <provider id>');
        const request = values.hoster !== undefined
          ? { hoster: values.hoster, providers: resolveSettings({ providers: values.providers }, process.env).providers, ...(values.domain !== undefined ? { customerDomain: values.domain } : {}) }
          : { address: positionals[0]! };
        return await (await commands()).check(request, values.url ?? 'http://localhost:8080', values.insecure === true, values.json === true, io, values.dns ?? []);
      }
      case 'lookup': {
        const { values, positionals } = parseArgs({ args: rest, options: { providers: { type: 'string' }, json: { type: 'boolean' }, ...help }, allowPositionals: true, strict: true });
        if (values.help) return printHelp(command);
        if (positionals.length !== 1) throw new UsageError('lookup needs one e-mail address');
        const { providers } = resolveSettings({ providers: values.providers }, process.env);
        return await (await import('../cli/lookup.js')).lookup(positionals[0]!, providers, process.env, values.json === true, io);
      }
    }
    return 2;
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`${(error as Error).message}\n\n${HELP[command]}\n`);
      return 2;
    }
    io.err(`mail-autoconfig ${command}: ${(error as Error).message}\n`);
    return 1;
  }
}

function firstLine(text: string): string {
  return text.split('\n')[0]!;
}

function printHelp(command: string): number {
  io.out(`${HELP[command]}\n`);
  return 0;
}

main(process.argv.slice(2)).then((code) => {
  if (code >= 0) process.exitCode = code;
});
