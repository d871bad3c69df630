/** Writes the manifest's JSON Schema (from the same zod definition) for editors: `npm run schema`. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { manifestSchema } from '../model/manifest';
import { packageRoot } from './package-root';

export function manifestJsonSchema(): string {
  const schema = z.toJSONSchema(manifestSchema, { io: 'input' });
  return JSON.stringify({ title: 'Lazarus application manifest', ...schema }, null, 2) + '\n';
}

export const SCHEMA_FILE = path.join(packageRoot(), 'schema', 'manifest.schema.json');

if (require.main === module) writeFileSync(SCHEMA_FILE, manifestJsonSchema());
