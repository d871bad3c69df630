import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Search attributes every run carries, so runs can be found by application, kind and outcome. */
export const appKey = defineSearchAttributeKey('LazarusApp', SearchAttributeType.KEYWORD);
export const runKindKey = defineSearchAttributeKey('LazarusKind', SearchAttributeType.KEYWORD);
export const outcomeKey = defineSearchAttributeKey('LazarusOutcome', SearchAttributeType.KEYWORD);
export const servicesKey = defineSearchAttributeKey('LazarusServices', SearchAttributeType.KEYWORD_LIST);

export const allSearchAttributes = [appKey, runKindKey, outcomeKey, servicesKey];
