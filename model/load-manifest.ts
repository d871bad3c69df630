import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { FieldProblem, ManifestError, UserError } from './errors';
import { findCycle } from './graph';
import { Manifest, manifestSchema } from './manifest';

/** Reads, parses and validates a manifest file; throws ManifestError naming every bad field. */
export function loadManifest(file: string): Manifest {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UserError(`${file}: cannot read the manifest (${(err as NodeJS.ErrnoException).code ?? err})`);
  }
  return parseManifest(text, file);
}

export function parseManifest(text: string, file: string): Manifest {
  const doc = YAML.parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ManifestError(
      file,
      doc.errors.map((e) => ({ path: '', message: `YAML syntax: ${e.message.split('\n')[0]}` })),
    );
  }
  const parsed = manifestSchema.safeParse(doc.toJS());
  if (!parsed.success) throw new ManifestError(file, parsed.error.issues.map(describeIssue));
  const manifest = parsed.data;
  checkGraph(file, manifest.services);
  return resolvePaths(manifest, path.dirname(path.resolve(file)));
}

function checkGraph(file: string, services: Manifest['services']): void {
  const problems: FieldProblem[] = [];
  for (const [name, service] of Object.entries(services)) {
    service.depends_on.forEach((dep, i) => {
      if (!(dep in services)) {
        problems.push({
          path: `services.${name}.depends_on.${i}`,
          message: `unknown service "${dep}"; known services: ${Object.keys(services).join(', ')}`,
        });
      } else if (dep === name) {
        problems.push({
          path: `services.${name}.depends_on.${i}`,
          message: 'a service cannot depend on itself',
        });
      }
    });
  }
  if (problems.length === 0) {
    const cycle = findCycle(services);
    if (cycle) {
      problems.push({
        path: `services.${cycle[0]}.depends_on`,
        message: `dependency cycle: ${cycle.join(' -> ')}; remove one of these edges`,
      });
    }
  }
  if (problems.length > 0) throw new ManifestError(file, problems);
}

function resolvePaths(manifest: z.output<typeof manifestSchema>, baseDir: string): Manifest {
  const services = Object.fromEntries(
    Object.entries(manifest.services).map(([name, service]) => {
      const store = service.datastore;
      if (store && (store.kind === 'sqlite' || store.kind === 'directory')) {
        return [name, { ...service, datastore: { ...store, path: path.resolve(baseDir, store.path) } }];
      }
      return [name, service];
    }),
  );
  const repoPath = path.resolve(baseDir, manifest.repository?.path ?? '.lazarus/repo');
  return { app: manifest.app, repository: { path: repoPath }, services };
}

/** Turns a zod issue into a field path and a message that says what is allowed. */
function describeIssue(issue: z.core.$ZodIssue): FieldProblem {
  const fieldPath = issue.path.map(String).join('.');
  switch (issue.code) {
    case 'invalid_union':
      if ('discriminator' in issue && issue.discriminator) {
        const allowed = (issue as { options?: unknown[] }).options?.map(String).join(', ');
        return { path: fieldPath, message: `unknown value; allowed: ${allowed}` };
      }
      return { path: fieldPath, message: issue.message };
    case 'invalid_value':
      return { path: fieldPath, message: `must be one of: ${issue.values.map(String).join(', ')}` };
    case 'unrecognized_keys':
      return {
        path: fieldPath,
        message: `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`,
      };
    case 'invalid_type':
      return {
        path: fieldPath,
        message: issue.input === undefined ? `required (${issue.expected})` : `expected ${issue.expected}`,
      };
    default:
      return { path: fieldPath, message: issue.message };
  }
}
