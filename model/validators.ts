/**
 * The checks a drill runs against a restored copy. Which datastore kinds accept which
 * validator is each kind's spec's business (datastores/<kind>/spec.ts). Pure.
 */
import { z } from 'zod';
import { durationSchema } from './duration';

/** A counting validator's bounds, beside what it counts: `{table, min, max}`, `{pattern, min, max}`... */
const counted = <S extends z.ZodRawShape>(what: S) =>
  z.strictObject({
    ...what,
    min: z.number().int().min(0).default(1),
    max: z.number().int().min(0).optional(),
  });

/** A check run against a restored copy in a drill's sandbox. */
export const validatorSchema = z.union(
  [
    z.strictObject({
      sql: z.string().min(1).describe('A query; the first column of its first row is compared with expect'),
      expect: z
        .union([z.string(), z.number()])
        .optional()
        .describe('The value expected; without it the query must return at least one row'),
    }),
    z.strictObject({
      row_count: counted({ table: z.string().min(1) }),
    }),
    z.strictObject({
      key_count: counted({ pattern: z.string().default('*') }),
    }),
    z.strictObject({
      document_count: counted({ collection: z.string().min(1) }),
    }),
    z.strictObject({
      message_count: counted({
        stream: z.string().min(1).describe('A JetStream stream (KV_<bucket> for a KV bucket)'),
      }),
    }),
    z.strictObject({
      mongo_query: z.strictObject({
        collection: z.string().min(1),
        filter: z
          .record(z.string(), z.unknown())
          .default({})
          .describe('A find filter, in MongoDB Extended JSON ({"_id": {"$oid": "..."}})'),
        field: z
          .string()
          .min(1)
          .optional()
          .describe('A dotted path in the first matching document, compared with expect'),
        expect: z
          .union([z.string(), z.number(), z.boolean()])
          .optional()
          .describe('The value expected at field; without it a document must match'),
      }),
    }),
    z.strictObject({
      object_count: counted({
        prefix: z
          .string()
          .default('')
          .describe("Objects whose key, below the store's prefix, starts with this"),
      }),
    }),
    z.strictObject({
      checksum: z.literal(true).describe("Re-reads the snapshot and checks it against the catalog's SHA-256"),
    }),
    z.strictObject({
      command: z.string().min(1).describe('Passes when it exits 0; LAZARUS_SANDBOX_TARGET names the copy'),
      timeout: durationSchema().default(60_000),
    }),
    z.strictObject({
      http: z.strictObject({ url: z.url(), expect_status: z.number().int().default(200) }),
      timeout: durationSchema().default(30_000),
    }),
  ],
  {
    error:
      'a validator is one of: sql, row_count, key_count, document_count, mongo_query, message_count, object_count, checksum, command, http',
  },
);
export type Validator = z.infer<typeof validatorSchema>;

/** A validator's type: the field that names it (`sql`, `row_count`, ...). */
export const validatorTypes = [
  'sql',
  'row_count',
  'key_count',
  'document_count',
  'mongo_query',
  'message_count',
  'object_count',
  'checksum',
  'command',
  'http',
] as const;
export type ValidatorType = (typeof validatorTypes)[number];

/** What every stateful kind accepts, and all a stateless service can have. */
export const storeIndependentValidators = ['checksum', 'command', 'http'] as const;

export function validatorType(validator: Validator): ValidatorType {
  return validatorTypes.find((type) => type in validator)!;
}

/** A validator as a drill report names it: `row_count orders >= 1`. */
export function describeValidator(validator: Validator): string {
  if ('sql' in validator)
    return `sql ${validator.sql}${validator.expect !== undefined ? ` = ${validator.expect}` : ''}`;
  if ('row_count' in validator) return `row_count ${validator.row_count.table} >= ${validator.row_count.min}`;
  if ('key_count' in validator)
    return `key_count ${validator.key_count.pattern} >= ${validator.key_count.min}`;
  if ('document_count' in validator)
    return `document_count ${validator.document_count.collection} >= ${validator.document_count.min}`;
  if ('mongo_query' in validator) {
    const { collection, filter, field, expect } = validator.mongo_query;
    const result = field ? ` ${field} = ${String(expect)}` : '';
    return `mongo_query ${collection} ${JSON.stringify(filter)}${result}`;
  }
  if ('message_count' in validator)
    return `message_count ${validator.message_count.stream} >= ${validator.message_count.min}`;
  if ('object_count' in validator)
    return `object_count ${validator.object_count.prefix || '(all)'} >= ${validator.object_count.min}`;
  if ('checksum' in validator) return 'checksum against the catalog';
  if ('command' in validator) return `command ${validator.command}`;
  return `http ${validator.http.url} -> ${validator.http.expect_status}`;
}
