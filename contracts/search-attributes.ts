import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Search attributes every run carries, so runs can be found by application, operation
 * and outcome. The names are registered on the server: never rename one.
 */
export const appKey = defineSearchAttributeKey('LazarusApp', SearchAttributeType.KEYWORD);
export const operationKey = defineSearchAttributeKey('LazarusKind', SearchAttributeType.KEYWORD);
export const outcomeKey = defineSearchAttributeKey('LazarusOutcome', SearchAttributeType.KEYWORD);
export const servicesKey = defineSearchAttributeKey('LazarusServices', SearchAttributeType.KEYWORD_LIST);

export const allSearchAttributes = [appKey, operationKey, outcomeKey, servicesKey];
