import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { allSearchAttributes } from '../contracts/search-attributes';

const indexedType: Record<string, temporal.api.enums.v1.IndexedValueType> = {
  KEYWORD: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  KEYWORD_LIST: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
};

/**
 * Registers Lazarus's search attributes on a cluster that lacks them (the dev server
 * gets them at start). Without them, starting a run would fail.
 */
export async function ensureSearchAttributes(client: Client, namespace: string): Promise<string[]> {
  const existing = await client.connection.operatorService.listSearchAttributes({ namespace });
  const known = new Set(Object.keys(existing.customAttributes ?? {}));
  const missing = allSearchAttributes.filter((k) => !known.has(k.name));
  if (missing.length === 0) return [];
  await client.connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(missing.map((k) => [k.name, indexedType[k.type]])),
  });
  return missing.map((k) => k.name);
}
