/**
 * A Cloudflare Worker run by a self-hosted workerd (through miniflare): its code and
 * configuration come from its wrangler file; its D1, KV and R2 data live in its state
 * directory, as the d1, kv and r2 datastore kinds (services of their own) describe them.
 */
import { z } from 'zod';
import { nested } from '../../model/paths';
import { portSchema, workerdSandboxState } from '../../datastores/kind';
import { durationSchema } from '../../model/duration';
import { secretRefSchema } from '../../model/secret-ref';
import { probeSchema } from '../probe';
import { definePlatform } from '../spec';

const workerdSchema = z.strictObject({
  platform: z.literal('workerd'),
  wrangler: z
    .string()
    .min(1)
    .describe(
      "The Worker's wrangler.toml or wrangler.json(c): name, main module, compatibility date, vars, bindings",
    ),
  state: z
    .string()
    .min(1)
    .optional()
    .describe(
      "The host's state directory: the deployed version and the bindings' data (default .lazarus/workerd/<service> beside the manifest); the d1, kv and r2 services of its bindings name the same directory as their path",
    ),
  host: z.string().default('127.0.0.1').describe('The address the Worker answers on'),
  port: portSchema.default(8787).describe('The port the Worker answers on'),
  secrets: z
    .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), secretRefSchema)
    .default({})
    .describe('The secrets the Worker reads (env.NAME), and where a deploy finds each value'),
  probe: probeSchema,
  watch_every: durationSchema()
    .default(30_000)
    .describe('How often `lazarus functions watch` looks for a changed version (default 30s)'),
});
export type WorkerdFunction = z.output<typeof workerdSchema>;

export const workerd = definePlatform({
  platform: 'workerd',
  schema: workerdSchema,
  pathFields: ['wrangler', 'state'],
  withDefaults: (fn, { service, baseDir }) => ({
    ...fn,
    state: fn.state ?? `${baseDir}/.lazarus/workerd/${service}`,
  }),
  // The copy runs on its own host, on a port the host picks, with the state directory its
  // bindings' copies (d1, kv, r2 services naming the same state) were restored into.
  sandboxTarget: (fn, { root }) => ({ target: workerdSandboxState(root, fn.state!) }),
  retarget: (fn, target) => ({ ...fn, state: target, port: 0 }),
  overlaps: (copy, production) =>
    nested(copy.state!, production.state!) ||
    (copy.port !== 0 && copy.port === production.port && copy.host === production.host),
  identity: (fn) => `workerd:${fn.host}:${fn.port}/${fn.wrangler}`,
});
