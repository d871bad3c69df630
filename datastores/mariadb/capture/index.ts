/**
 * MariaDB's continuous capture: its binlog streamed by mariadb-binlog, a mariadb-dump
 * --gtid base, a replay into a scratch mariadbd. See datastores/capture.ts.
 */
import type { CaptureEngine } from '../../capture';
import { takeBase } from './base';
import { mark } from './mark';
import { preflight } from './preflight';
import { replay } from './replay';
import { headPoint, type MariadbStore, withServer } from './server';
import { capture } from './session';

export const mariadbCaptureEngine: CaptureEngine<MariadbStore> = {
  kind: 'mariadb',
  preflight,
  head: (store) => withServer(store, headPoint),
  takeBase: (store, options) => takeBase(store, options),
  capture,
  replay,
  mark,
};
