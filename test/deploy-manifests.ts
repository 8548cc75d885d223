/**
 * deploy/kubernetes.yaml against the Kubernetes schema (kubernetes-models),
 * and against the code: probe paths answer, ports and settings match what
 * the service reads, the ConfigMap's provider is valid; the Dockerfile runs
 * the README's npm scripts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parseAllDocuments } from 'yaml';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Service } from 'kubernetes-models/v1/Service';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { loadProvider } from '../src/catalog/load.js';
import { resolveSettings } from '../src/cli/options.js';
import { PROJECT_ROOT } from '../src/paths.js';
import { request, startServer } from './helpers/server.js';

const documents = parseAllDocuments(readFileSync(join(PROJECT_ROOT, 'deploy', 'kubernetes.yaml'), 'utf8')).map((d) => d.toJS() as any);
const byKind = (kind: string) => documents.find((d) => d.kind === kind);

t.test('every object validates against the Kubernetes schema', async (t) => {
  const models: Record<string, new (data: any) => { validate(): void }> = { Deployment, ConfigMap, Service, PodDisruptionBudget };
  t.same(documents.map((d) => d.kind).sort(), ['ConfigMap', 'Deployment', 'PodDisruptionBudget', 'Service']);
  for (const document of documents) {
    const Model = models[document.kind]!;
    t.doesNotThrow(() => new Model(document).validate(), `${document.kind} ${document.metadata.name}`);
  }
  // The validator is not a formality: a wrong type is caught.
  const broken = structuredClone(byKind('Deployment'));
  broken.spec.template.spec.containers[0].ports[0].containerPort = 'eighty';
  t.throws(() => new Deployment(broken).validate(), 'a string port fails validation');
});

t.test('the manifest agrees with the code', async (t) => {
  const container = byKind('Deployment').spec.template.spec.containers[0];
  const env = Object.fromEntries(container.env.map((e: { name: string; value: string }) => [e.name, e.value]));
  const settings = resolveSettings({}, env);
  const httpPort = container.ports.find((p: { name: string }) => p.name === 'http').containerPort;
  t.equal(settings.port, httpPort, 'PORT is the container port the probes use');
  t.equal(settings.metricsPort, container.ports.find((p: { name: string }) => p.name === 'metrics').containerPort);
  t.same(settings.providers, [container.volumeMounts.find((m: { name: string }) => m.name === 'providers').mountPath], 'providers from the mounted ConfigMap');
  t.notOk(container.volumeMounts.some((m: { subPath?: string }) => m.subPath), 'no subPath: updates arrive as the ..data swap the reload watches');
  t.ok(settings.shutdownDelayMs / 1000 < byKind('Deployment').spec.template.spec.terminationGracePeriodSeconds, 'the drain fits the grace period');

  const { url } = await startServer(t);
  for (const probe of [container.readinessProbe, container.livenessProbe]) {
    t.equal(probe.httpGet.port, 'http');
    t.equal((await request(url + probe.httpGet.path)).status, 200, `${probe.httpGet.path} answers`);
  }
  const service = byKind('Service');
  t.equal(service.spec.ports[0].targetPort, 'http');
  t.same(service.spec.selector, byKind('Deployment').spec.selector.matchLabels);
  t.same(byKind('PodDisruptionBudget').spec.selector.matchLabels, byKind('Deployment').spec.selector.matchLabels);

  for (const [name, text] of Object.entries(byKind('ConfigMap').data as Record<string, string>)) {
    const result = loadProvider(name, text);
    t.ok(result.provider, `${name} in the ConfigMap is a valid provider: ${result.problems.map((p) => p.message).join('; ')}`);
  }
});

t.test('the Dockerfile builds and starts with the README\'s npm scripts', async (t) => {
  const dockerfile = readFileSync(join(PROJECT_ROOT, 'Dockerfile'), 'utf8');
  const scripts = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')).scripts;
  t.match(dockerfile, /^RUN npm ci$/m, 'build stage: npm ci runs the build (prepare)');
  t.match(scripts.prepare, 'npm run build');
  t.match(dockerfile, /^RUN npm ci --omit=dev --ignore-scripts/m, 'runtime: production dependencies only');
  t.match(dockerfile, /^COPY --from=build \/app\/node_modules\/better-sqlite3\/build \.\/node_modules\/better-sqlite3\/build$/m,
    'runtime: the SQLite binding built in the first stage (its install script is skipped there)');
  t.match(dockerfile, /^USER node$/m, 'non-root');
  t.match(dockerfile, /^HEALTHCHECK .*\/healthz/m);
  t.match(dockerfile, /^CMD \["npm", "start"\]$/m, 'starts with the README\'s start command');
  t.match(dockerfile, /^VOLUME \["\/providers"\]$/m);
});
