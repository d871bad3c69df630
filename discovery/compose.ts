/**
 * Services of a Docker Compose file, read as the Compose Specification does: YAML anchors
 * and merge keys, `x-` extensions (ignored as services), `${VAR}`, `${VAR:-default}` and
 * the other interpolation forms with values from the environment and the `.env` file
 * beside the Compose file, profiles, `depends_on` in list or map form, `include` and
 * `extends`.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { UserError } from '../model/errors';
import { type DiscoveredService, type Discovery, reachOf, referencedServices } from './discovered';
import { recognize } from './recognize';

export interface ComposeOptions {
  /** Variables for interpolation; default: the `.env` file beside the Compose file, then this process's environment. */
  env?: Record<string, string | undefined>;
  /** Active profiles; default: $COMPOSE_PROFILES. */
  profiles?: string[];
  /** Every service, whatever its profiles. */
  allProfiles?: boolean;
}

type Dict = Record<string, unknown>;

export function discoverCompose(file: string, options: ComposeOptions = {}): Discovery {
  const notes: string[] = [];
  const env = options.env ?? { ...dotEnv(path.join(path.dirname(file), '.env')), ...process.env };
  const unset = new Set<string>();
  const loaded = loadCompose(file, env, unset, []);
  if (unset.size > 0) notes.push(`variables not set, taken as empty: ${[...unset].sort().join(', ')}`);
  const all = Object.fromEntries(Object.entries(loaded.services).map(([name, s]) => [name, s.definition]));

  const profiles = new Set(options.profiles ?? splitList(env.COMPOSE_PROFILES));
  const leftOut = new Map<string, string[]>();
  const active = Object.entries(all).filter(([name, service]) => {
    const own = asStrings(service?.profiles);
    const on = options.allProfiles || own.length === 0 || own.some((p) => profiles.has(p));
    if (!on) leftOut.set(own.join(', '), [...(leftOut.get(own.join(', ')) ?? []), name]);
    return on;
  });
  for (const [profile, names] of leftOut)
    notes.push(`profile ${profile} not active (--profile or --all-profiles): left out ${names.join(', ')}`);

  const hosts = new Map<string, string>();
  for (const [name, service] of active)
    for (const host of [name, service?.hostname, service?.container_name, ...networkAliases(service)])
      if (typeof host === 'string' && host) hosts.set(host.toLowerCase(), name);

  const activeNames = new Set(active.map(([name]) => name));
  const reach = reachOf(
    active.flatMap(([, service]) => Object.values(environmentOf(service?.environment))),
    hosts,
  );
  const services = active.map(([name, service]): DiscoveredService => {
    const environment = environmentOf(service?.environment);
    const dependsOn = [...declaredDependencies(service)].filter((d) => {
      if (activeNames.has(d)) return true;
      notes.push(`${name}: depends on ${d}, which is not among the active services`);
      return false;
    });
    const image = typeof service?.image === 'string' ? service.image : undefined;
    const engine = recognize({
      name,
      image,
      baseImages: buildArgImages(service?.build),
      buildContext: buildContextOf(service?.build),
      ports: containerPorts(service),
      env: environment,
      reachedOn: reach.get(name)?.ports,
      reachedAs: reach.get(name)?.engines,
    });
    return {
      name,
      // The file as given: two files both named docker-compose.yml stay apart.
      source: `compose ${loaded.services[name].file}`,
      image,
      engine,
      dependsOn,
      references: referencedServices(Object.values(environment), hosts, name),
      datastore: engine?.fromCompose?.(name, environment),
      command: commandOf(service),
    };
  });
  const project =
    typeof loaded.document.name === 'string'
      ? loaded.document.name
      : path.basename(path.dirname(path.resolve(file)));
  return { app: project, services, notes };
}

interface LoadedCompose {
  document: Dict;
  /** Each service with `extends` resolved, and the file that defines it. */
  services: Record<string, { definition: Dict; file: string }>;
}

/** A Compose file interpolated, its services' `extends` resolved, and the files it `include`s added. */
function loadCompose(file: string, env: Env, unset: Set<string>, including: string[]): LoadedCompose {
  const document = interpolate(readCompose(file), env, unset, file) as Dict;
  const own = servicesOf(document, file);
  const services: LoadedCompose['services'] = {};
  for (const name of Object.keys(own))
    services[name] = { definition: extended(name, own, file, env, unset, []), file };
  for (const included of includedFiles(document, file)) {
    if ([...including, file].some((f) => path.resolve(f) === path.resolve(included.file)))
      throw new UserError(`${file}: include ${included.file}: the files include each other`);
    // The including project's variables win over the included file's own .env, as the shell's win over a .env.
    const sub = loadCompose(included.file, { ...dotEnv(included.envFile), ...env }, unset, [
      ...including,
      file,
    ]);
    for (const [name, service] of Object.entries(sub.services)) {
      if (services[name])
        throw new UserError(
          `${file}: service "${name}" is defined in both ${services[name].file} and ${service.file}; rename one (Compose refuses this too)`,
        );
      services[name] = service;
    }
  }
  return { document, services };
}

type Env = Record<string, string | undefined>;

function servicesOf(document: Dict, file: string): Record<string, Dict> {
  const services = document.services ?? {};
  if (typeof services !== 'object' || Array.isArray(services))
    throw new UserError(`${file}: services must be a map of service names to definitions`);
  return services as Record<string, Dict>;
}

/** `include: [path]` or `[{path: path | [paths], env_file}]`, relative to the including file. */
function includedFiles(document: Dict, file: string): { file: string; envFile: string }[] {
  const within = (p: unknown) => path.join(path.dirname(file), String(p));
  return asArray(document.include).flatMap((entry) => {
    const spec = entry && typeof entry === 'object' ? (entry as Dict) : { path: entry };
    const paths = Array.isArray(spec.path) ? spec.path : [spec.path];
    const envFile = asArray(spec.env_file).length ? asArray(spec.env_file)[0] : spec.env_file;
    return paths.map((p) => ({
      file: within(p),
      envFile: envFile ? within(envFile) : path.join(path.dirname(within(p)), '.env'),
    }));
  });
}

/**
 * A service with what it `extends` merged in: the base's fields, overridden by its own;
 * maps (environment, labels, build args) merged key by key, port lists joined. What ties
 * a base to other services (depends_on, links) is not inherited, as in Compose.
 */
function extended(
  name: string,
  services: Record<string, Dict>,
  file: string,
  env: Env,
  unset: Set<string>,
  chain: string[],
): Dict {
  const service = services[name] ?? {};
  const ext = service.extends;
  if (!ext) return service;
  const spec = typeof ext === 'string' ? { service: ext } : (ext as Dict);
  const baseFile = typeof spec.file === 'string' ? path.join(path.dirname(file), spec.file) : file;
  const baseName = String(spec.service);
  const link = `${baseFile}:${baseName}`;
  if (chain.includes(link))
    throw new UserError(`${file}: services.${name}.extends: a cycle, ${[...chain, link].join(' -> ')}`);
  const baseServices =
    baseFile === file
      ? services
      : servicesOf(interpolate(readCompose(baseFile), env, unset, baseFile) as Dict, baseFile);
  if (!baseServices[baseName])
    throw new UserError(`${file}: services.${name}.extends: no service "${baseName}" in ${baseFile}`);
  const base = extended(baseName, baseServices, baseFile, env, unset, [...chain, link]);
  return mergeService(without(base, ['depends_on', 'links']), without(service, ['extends']));
}

/** Compose's merge for `extends`: maps merged key by key (environment, labels, build args), port lists joined, the rest overridden. */
function mergeService(base: Dict, local: Dict): Dict {
  const merged: Dict = { ...base, ...local };
  for (const key of ['environment', 'labels', 'args'])
    if (base[key] && local[key]) merged[key] = { ...environmentOf(base[key]), ...environmentOf(local[key]) };
  for (const key of ['ports', 'expose'])
    if (base[key] && local[key]) merged[key] = [...asArray(base[key]), ...asArray(local[key])];
  if (isDict(base.build) && isDict(local.build)) merged.build = mergeService(base.build, local.build);
  return merged;
}

function without(dict: Dict, keys: string[]): Dict {
  return Object.fromEntries(Object.entries(dict).filter(([key]) => !keys.includes(key)));
}

function isDict(value: unknown): value is Dict {
  return !!value && typeof value === 'object' && !Array.isArray(value);
}

function readCompose(file: string): Dict {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new UserError(`${file}: cannot read the Compose file`);
  }
  try {
    const document = parse(text, { merge: true, maxAliasCount: -1 }) as unknown;
    if (!document || typeof document !== 'object') throw new Error('it holds no map');
    return document as Dict;
  } catch (err) {
    throw new UserError(`${file}: not a valid Compose file: ${(err as Error).message.split('\n')[0]}`);
  }
}

/** `KEY=value` lines; quotes around a value are removed. */
function dotEnv(file: string): Record<string, string> {
  if (!existsSync(file)) return {};
  const values: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split(/\r?\n/)) {
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!match || line.trimStart().startsWith('#')) continue;
    values[match[1]] = match[2].replace(/^(['"])(.*)\1$/, '$2');
  }
  return values;
}

/** Interpolates every string of the document (keys stay as written, as in Compose). */
function interpolate(value: unknown, env: Env, unset: Set<string>, file: string): unknown {
  if (typeof value === 'string') return interpolateString(value, env, unset, file);
  if (Array.isArray(value)) return value.map((v) => interpolate(v, env, unset, file));
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, env, unset, file)]));
  return value;
}

const reference = /\$(?:\$|\{([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g;

/** `$$` is a literal `$`; `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`, `${VAR:+other}`. */
export function interpolateString(
  text: string,
  env: Record<string, string | undefined>,
  unset: Set<string> = new Set(),
  file = 'compose file',
): string {
  return text.replace(reference, (whole: string, braced?: string, plain?: string) => {
    if (whole === '$$') return '$';
    const expression = braced ?? plain!;
    const match = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?+])(.*))?$/s.exec(expression);
    if (!match)
      throw new UserError(
        `${file}: "${whole}" is not a valid interpolation; write \${NAME} or \${NAME:-default}`,
      );
    const [, name, colon, operator, argument = ''] = match;
    const value = env[name];
    const isSet = colon ? value !== undefined && value !== '' : value !== undefined;
    const nested = () => interpolateString(argument, env, unset, file);
    if (operator === '-') return isSet ? value! : nested();
    if (operator === '+') return isSet ? nested() : '';
    if (operator === '?') {
      if (isSet) return value!;
      throw new UserError(`${file}: ${name} must be set: ${nested() || 'required variable'}`);
    }
    if (value === undefined) unset.add(name);
    return value ?? '';
  });
}

function environmentOf(environment: unknown): Record<string, string> {
  const values: Record<string, string> = {};
  if (Array.isArray(environment)) {
    for (const entry of environment) {
      const [key, ...rest] = String(entry).split('=');
      values[key] = rest.join('=');
    }
  } else if (environment && typeof environment === 'object') {
    for (const [key, value] of Object.entries(environment)) values[key] = value == null ? '' : String(value);
  }
  return values;
}

/** depends_on (list or map), links ("service:alias") and network_mode "service:x". */
function declaredDependencies(service: Dict | undefined): Set<string> {
  const found = new Set<string>();
  const dependsOn = service?.depends_on;
  if (Array.isArray(dependsOn)) dependsOn.forEach((d) => found.add(String(d)));
  else if (dependsOn && typeof dependsOn === 'object') Object.keys(dependsOn).forEach((d) => found.add(d));
  for (const link of asStrings(service?.links)) found.add(link.split(':')[0]);
  const mode = service?.network_mode;
  if (typeof mode === 'string' && mode.startsWith('service:')) found.add(mode.slice('service:'.length));
  return found;
}

function networkAliases(service: Dict | undefined): string[] {
  const networks = service?.networks;
  if (!networks || Array.isArray(networks) || typeof networks !== 'object') return [];
  return Object.values(networks).flatMap((n) => asStrings((n as Dict | null)?.aliases));
}

/** Ports the container listens on: "8080:80" -> 80, "5432" -> 5432, {target: 80} -> 80, and expose. */
function containerPorts(service: Dict | undefined): number[] {
  const ports: number[] = [];
  for (const entry of [...asArray(service?.ports), ...asArray(service?.expose)]) {
    const target =
      entry && typeof entry === 'object'
        ? (entry as Dict).target
        : String(entry).split('/')[0].split(':').at(-1);
    const port = Number(String(target).split('-')[0]);
    if (Number.isInteger(port) && port > 0) ports.push(port);
  }
  return ports;
}

/** `build: ./mongo` or `build: {context: mongo}`: the directory a custom image is built from. */
function buildContextOf(build: unknown): string | undefined {
  if (typeof build === 'string') return build;
  return isDict(build) && typeof build.context === 'string' ? build.context : undefined;
}

/** The command a container runs with, as one string (`redis-server --save ""`). */
function commandOf(service: Dict | undefined): string | undefined {
  const command = service?.command;
  if (typeof command === 'string') return command;
  return Array.isArray(command)
    ? command.map((c) => (String(c) === '' ? '""' : String(c))).join(' ')
    : undefined;
}

/** Build args that name images (BASE_IMAGE: "altinity/clickhouse-server:23.8"). */
function buildArgImages(build: unknown): string[] {
  if (!build || typeof build !== 'object') return [];
  const args = environmentOf((build as Dict).args);
  return Object.entries(args)
    .filter(([key, value]) => /IMAGE/i.test(key) && value)
    .map(([, value]) => value);
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function asStrings(value: unknown): string[] {
  return asArray(value).map(String);
}

function splitList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}
