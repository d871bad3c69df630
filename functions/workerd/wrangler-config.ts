/**
 * A Worker's wrangler file (wrangler.toml, wrangler.json or wrangler.jsonc), read into the
 * part Lazarus keeps and runs: the main module, compatibility settings, plain variables,
 * D1, KV and R2 bindings and triggers. Read by the workerd platform and by discovery.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { type ParseError, parse as parseJsonc, printParseErrorCode } from 'jsonc-parser';
import { parse as parseToml } from 'smol-toml';
import { z } from 'zod';
import { UserError } from '../../model/errors';
import { describeIssue } from '../../config/load-manifest';

const binding = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a binding name: letters, digits and "_"');

const wranglerSchema = z.object({
  name: z.string().min(1),
  main: z.string().min(1).describe('The entry module, relative to the wrangler file'),
  compatibility_date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date: 2025-01-01'),
  compatibility_flags: z.array(z.string()).default([]),
  vars: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
  d1_databases: z
    .array(z.object({ binding, database_name: z.string().optional(), database_id: z.string().min(1) }))
    .default([]),
  kv_namespaces: z.array(z.object({ binding, id: z.string().min(1) })).default([]),
  r2_buckets: z.array(z.object({ binding, bucket_name: z.string().min(1) })).default([]),
  triggers: z.object({ crons: z.array(z.string()).default([]) }).default({ crons: [] }),
  routes: z.array(z.unknown()).default([]),
});

/** A Worker as its wrangler file describes it; `main` is absolute. */
export type WranglerConfig = z.output<typeof wranglerSchema> & { file: string };

export async function readWranglerConfig(file: string): Promise<WranglerConfig> {
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new UserError(`${file}: cannot read the wrangler file (${err.code ?? err.message})`);
  });
  const parsed = wranglerSchema.safeParse(parseWrangler(file, text));
  if (!parsed.success) {
    const problems = parsed.error.issues.map(describeIssue);
    throw new UserError(
      `${file}: not a wrangler file Lazarus can run:\n` +
        problems.map((p) => `  ${p.path || '(top)'}: ${p.message}`).join('\n'),
    );
  }
  return { ...parsed.data, main: path.resolve(path.dirname(file), parsed.data.main), file };
}

function parseWrangler(file: string, text: string): unknown {
  if (file.endsWith('.toml')) {
    try {
      return parseToml(text);
    } catch (err) {
      throw new UserError(`${file}: TOML syntax: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  const errors: ParseError[] = [];
  const value: unknown = parseJsonc(text, errors, { allowTrailingComma: true });
  if (errors.length > 0)
    throw new UserError(
      `${file}: JSON syntax: ${printParseErrorCode(errors[0].error)} at offset ${errors[0].offset}`,
    );
  return value;
}
