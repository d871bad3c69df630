/**
 * Services of a set of Kubernetes manifests: Deployments, StatefulSets and DaemonSets are
 * the services; a Service object routes its name to the workloads its selector matches;
 * env values (plain, or from a ConfigMap) that name a Service are dependencies. Kustomize
 * trees and Helm charts are read once rendered (`--k8s -` reads them from stdin).
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { UserError } from '../model/errors';
import { type DiscoveredService, type Discovery, referencedServices } from './discovered';
import { recognize } from './recognize';

type Dict = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const workloadKinds = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet']);

interface Workload {
  name: string;
  file: string;
  labels: Record<string, string>;
  containers: Dict[];
  statefulVolumes: boolean;
}

/** `location` is a file, a directory of manifests, or "-" for rendered manifests on stdin. */
export function discoverKubernetes(location: string): Discovery {
  const notes: string[] = [];
  const objects =
    location === '-'
      ? readObjects('stdin', readFileSync(0, 'utf8'))
      : manifestFiles(location).flatMap((file) => readObjects(file, readFileSync(file, 'utf8')));
  const configMaps = new Map<string, Record<string, string>>();
  const workloads: Workload[] = [];
  const routes: { name: string; selector: Record<string, string> }[] = [];
  for (const { file, object } of objects) {
    const name = String(object.metadata?.name ?? '');
    if (object.kind === 'ConfigMap') configMaps.set(name, stringValues(object.data));
    else if (object.kind === 'Service' && object.spec?.selector)
      routes.push({ name, selector: object.spec.selector });
    else if (workloadKinds.has(object.kind))
      workloads.push({
        name,
        file,
        labels: object.spec?.template?.metadata?.labels ?? {},
        containers: [
          ...(object.spec?.template?.spec?.containers ?? []),
          ...(object.spec?.template?.spec?.initContainers ?? []),
        ],
        statefulVolumes: (object.spec?.volumeClaimTemplates ?? []).length > 0,
      });
  }
  if (workloads.length === 0)
    throw new UserError(`${location}: no Deployment, StatefulSet or DaemonSet found`);

  // Hosts: each workload's own name, and every Service name that selects it.
  const hosts = new Map<string, string>(workloads.map((w) => [w.name.toLowerCase(), w.name]));
  const serviceFor = new Map<string, string>();
  for (const route of routes) {
    const targets = workloads.filter((w) =>
      Object.entries(route.selector).every(([k, v]) => w.labels[k] === v),
    );
    if (targets.length === 0) notes.push(`Service ${route.name} selects no workload in these manifests`);
    for (const target of targets) {
      hosts.set(route.name.toLowerCase(), target.name);
      if (!serviceFor.has(target.name)) serviceFor.set(target.name, route.name);
    }
  }

  const services = workloads.map((workload): DiscoveredService => {
    const env = Object.assign({}, ...workload.containers.map((c) => containerEnv(c, configMaps))) as Record<
      string,
      string
    >;
    const main = workload.containers[0];
    const engine = recognize({
      name: workload.name,
      image: main?.image,
      baseImages: workload.containers.slice(1).map((c) => String(c.image ?? '')),
      ports: workload.containers.flatMap((c) => (c.ports ?? []).map((p: Dict) => Number(p.containerPort))),
      env,
    });
    if (!engine && workload.statefulVolumes)
      notes.push(`${workload.name}: a StatefulSet with volume claims whose engine was not recognised`);
    return {
      name: workload.name,
      source: `kubernetes ${path.basename(workload.file)}`,
      image: main?.image,
      engine,
      dependsOn: [],
      references: referencedServices(Object.values(env), hosts, workload.name),
      datastore: engine?.kind
        ? { kind: engine.kind, host: serviceFor.get(workload.name) ?? workload.name }
        : undefined,
    };
  });
  return { app: path.basename(path.resolve(location)).replace(/\.(ya?ml|json)$/, ''), services, notes };
}

function manifestFiles(location: string): string[] {
  let stat;
  try {
    stat = statSync(location);
  } catch {
    throw new UserError(`${location}: no such file or directory of Kubernetes manifests`);
  }
  if (stat.isFile()) return [location];
  const files = readdirSync(location, { recursive: true, encoding: 'utf8' }).sort();
  refuseTemplates(location, files);
  return files.filter((f) => /\.(ya?ml|json)$/.test(f)).map((f) => path.join(location, f));
}

/**
 * Kustomize patches and Helm templates are not the objects that run: read as they are,
 * a patch would pass for a second workload. They are rendered first, by their own tools.
 */
function refuseTemplates(location: string, files: string[]): void {
  const roots = (pattern: RegExp) =>
    files.filter((f) => pattern.test(path.basename(f))).map((f) => path.join(location, path.dirname(f)));
  const refuse = (what: string, dirs: string[], render: string) => {
    const which = dirs.length === 1 ? dirs[0] : `<one of ${dirs.join(', ')}>`;
    throw new UserError(
      `${location}: ${what}; render it first: ${render} ${which} | lazarus discover --k8s -`,
    );
  };
  const kustomizations = roots(/^(kustomization\.ya?ml|Kustomization)$/);
  if (kustomizations.length > 0)
    refuse('a Kustomize tree, whose patches change what its files say', kustomizations, 'kubectl kustomize');
  const charts = roots(/^Chart\.yaml$/);
  if (charts.length > 0)
    refuse('a Helm chart, whose templates are not manifests yet', charts, 'helm template');
}

function readObjects(file: string, text: string): { file: string; object: Dict }[] {
  const objects: { file: string; object: Dict }[] = [];
  for (const document of parseAllDocuments(text)) {
    if (document.errors.length > 0)
      throw new UserError(`${file}: not valid YAML: ${document.errors[0].message.split('\n')[0]}`);
    const object = document.toJS() as Dict | null;
    if (!object) continue;
    // A List (kubectl get -o yaml) holds its objects in items.
    for (const item of object.kind === 'List' ? (object.items ?? []) : [object])
      objects.push({ file, object: item });
  }
  return objects;
}

/** A container's env: plain values and whole ConfigMaps (envFrom); secrets stay unread. */
function containerEnv(
  container: Dict,
  configMaps: Map<string, Record<string, string>>,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? [])
    Object.assign(env, configMaps.get(from.configMapRef?.name) ?? {});
  for (const variable of container.env ?? []) {
    const ref = variable.valueFrom?.configMapKeyRef;
    const value = variable.value ?? (ref ? configMaps.get(ref.name)?.[ref.key] : undefined);
    env[variable.name] = value === undefined ? '' : String(value);
  }
  return env;
}

function stringValues(data: unknown): Record<string, string> {
  return Object.fromEntries(Object.entries((data as Dict) ?? {}).map(([k, v]) => [k, String(v)]));
}
