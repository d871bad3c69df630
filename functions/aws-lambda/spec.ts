/**
 * An AWS Lambda function, reached through its alias: capture reads what the alias points
 * at, rollback moves it. Its tables and buckets are datastores of their own.
 */
import { z } from 'zod';
import { durationSchema } from '../../model/duration';
import { secretRefSchema } from '../../model/secret-ref';
import { probeSchema } from '../probe';
import { definePlatform } from '../spec';

const lambdaSchema = z.strictObject({
  platform: z.literal('aws-lambda'),
  name: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'a Lambda function name: letters, digits, "-" and "_" (at most 64)')
    .describe('The function name'),
  alias: z
    .string()
    .min(1)
    .default('live')
    .describe('The alias clients call: capture reads what it points at, rollback moves it'),
  region: z.string().min(1).default('us-east-1'),
  endpoint: z
    .url()
    .optional()
    .describe("The Lambda API's address; absent: AWS's own (tests point it at a stand-in)"),
  access_key_id: secretRefSchema
    .optional()
    .describe("Without it, the AWS SDK's own sources (env, profile, role)"),
  secret_access_key: secretRefSchema.optional(),
  secrets: z
    .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), secretRefSchema)
    .default({})
    .describe(
      'Environment variables that hold secrets: their values are never captured, and a deploy takes each from its reference',
    ),
  probe: probeSchema,
  watch_every: durationSchema()
    .default(30_000)
    .describe('How often `lazarus functions watch` looks for a changed version (default 30s)'),
  sandbox_name: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/)
    .optional()
    .describe('A function name (never the production one) that drills deploy into; drills refuse without it'),
});
export type LambdaFunction = z.output<typeof lambdaSchema>;

export const awsLambda = definePlatform({
  platform: 'aws-lambda',
  schema: lambdaSchema,
  pathFields: [],
  sandboxTarget: (fn, { service }) =>
    fn.sandbox_name === undefined
      ? {
          problem: `services.${service}.function.sandbox_name is not set: name a function (not the production one) for drills`,
        }
      : { target: fn.sandbox_name },
  retarget: (fn, target) => ({ ...fn, name: target }),
  overlaps: (copy, production) =>
    copy.name === production.name &&
    copy.region === production.region &&
    copy.endpoint === production.endpoint,
  identity: (fn) => `aws-lambda:${fn.endpoint ?? 'aws'}/${fn.region}/${fn.name}`,
});
