/**
 * What a function platform is, apart from its I/O: the manifest schema of a function on
 * it, which fields are paths, where a drill deploys its copy, and its identity. One
 * `definePlatform` per platform, in functions/<platform>/spec.ts, listed once in
 * functions/registry.ts. Pure, without Node built-ins: workflows import it.
 */
import type { z } from 'zod';
import type { SandboxPlace, SandboxTarget } from '../datastores/kind';

/** A platform's manifest schema: a strict object whose `platform` is the platform's name. */
export type PlatformSchema = z.ZodType<{ platform: string }> & z.core.$ZodTypeDiscriminable;

export interface PlatformSpec<S extends PlatformSchema = PlatformSchema> {
  readonly platform: z.output<S>['platform'];
  readonly schema: S;
  /** Fields holding paths, resolved against the manifest's directory when it is loaded. */
  readonly pathFields: readonly (keyof z.output<S> & string)[];
  /** Fills what depends on the service's name or the manifest's place (a default state directory). */
  withDefaults?(fn: z.output<S>, place: { service: string; baseDir: string }): z.output<S>;
  /** Where a drill deploys the function's copy: a sandbox host, a function of another name. */
  sandboxTarget(fn: z.output<S>, place: SandboxPlace): SandboxTarget;
  /** The function as deployed into `target` (the value sandboxTarget gave). */
  retarget(fn: z.output<S>, target: string): z.output<S>;
  /** Would deploying `copy` replace `production`? */
  overlaps(copy: z.output<S>, production: z.output<S>): boolean;
  /** The function's identity across manifests, for drift: the host and name. */
  identity(fn: z.output<S>): string;
}

export function definePlatform<S extends PlatformSchema>(spec: PlatformSpec<S>): PlatformSpec<S> {
  return spec;
}
