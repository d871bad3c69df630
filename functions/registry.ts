/**
 * Every function platform, listed once. The manifest schema and load-time checks read
 * this list; the worker's platforms (functions/platforms.ts) are checked against it by
 * the compiler. Pure, without Node built-ins: workflows import it.
 */
import { z } from 'zod';
import type { PlatformSchema, PlatformSpec } from './spec';
import { awsLambda } from './aws-lambda/spec';
import { workerd } from './workerd/spec';

export const platformSpecs = [workerd, awsLambda] as const;

type SchemasOf<T extends readonly PlatformSpec<PlatformSchema>[]> = {
  -readonly [I in keyof T]: T[I] extends PlatformSpec<infer S> ? S : never;
};

export const functionSchema = z.discriminatedUnion(
  'platform',
  platformSpecs.map((spec) => spec.schema) as unknown as SchemasOf<typeof platformSpecs>,
);
export type FunctionSpec = z.infer<typeof functionSchema>;
export type PlatformName = FunctionSpec['platform'];
export type FunctionOn<P extends PlatformName> = Extract<FunctionSpec, { platform: P }>;

/** A platform's spec as code that holds any function sees it: called with functions of that platform only. */
export type AnyPlatformSpec = PlatformSpec<z.ZodType<FunctionSpec> & z.core.$ZodTypeDiscriminable>;

const specsByPlatform = new Map<string, AnyPlatformSpec>(
  platformSpecs.map((spec) => [spec.platform, spec as unknown as AnyPlatformSpec]),
);

export function platformSpecFor(platform: PlatformName): AnyPlatformSpec {
  return specsByPlatform.get(platform)!;
}
