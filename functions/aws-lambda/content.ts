/**
 * What a captured Lambda version holds (content.config and content.triggers), and the
 * comparison that tells whether a version Lambda still has is the captured one. Plain
 * data: the records are JSON in the repository.
 */
import type { FunctionConfiguration } from '@aws-sdk/client-lambda';
import canonicalize from 'canonicalize';

/** The bundle: a ustar archive of `code.zip` and one `layers/<n>.zip` per layer, in order. */
export const BUNDLE_FORMAT = 'lambda-zip-tar/1';
export const CODE_FILE = 'code.zip';

export interface LayerRecord {
  /** The layer version's ARN when captured; a deploy republishes the content when it no longer resolves. */
  arn: string;
  /** Its zip's place in the bundle. */
  file: string;
  /** SHA-256 (hex) and size of the zip as stored. */
  sha256: string;
  size: number;
  /** Lambda's own digest of the zip (base64 SHA-256), as GetLayerVersion states it. */
  codeSha256: string;
  compatibleRuntimes?: string[];
  compatibleArchitectures?: string[];
  description?: string;
}

export interface LambdaConfig {
  /** Lambda's digest of the code zip (base64 SHA-256): what a published version is matched by. */
  codeSha256: string;
  runtime?: string;
  handler?: string;
  memorySize?: number;
  timeout?: number;
  role?: string;
  architectures: string[];
  description: string;
  ephemeralStorage?: number;
  /** Plain variables only: those the manifest names in `secrets` are in content.secrets, by name. */
  environment: Record<string, string>;
  layers: LayerRecord[];
}

export type LambdaTrigger =
  | { type: 'alias'; name: string; functionVersion: string; routing: Record<string, number> }
  | { type: 'url'; qualifier: string; authType: string; invokeMode?: string; cors?: UrlCors }
  | ({ type: 'event-source-mapping'; qualifier?: string } & MappingSettings)
  | ({ type: 'permission'; qualifier?: string } & PermissionSettings)
  | { type: 'concurrency'; reserved: number | null }
  | { type: 'tags'; tags: Record<string, string> };

export interface UrlCors {
  AllowCredentials?: boolean;
  AllowHeaders?: string[];
  AllowMethods?: string[];
  AllowOrigins?: string[];
  ExposeHeaders?: string[];
  MaxAge?: number;
}

/** The settings a mapping is recreated with (its UUID and state times are Lambda's, not the user's). */
export interface MappingSettings {
  eventSourceArn: string;
  enabled: boolean;
  batchSize?: number;
  startingPosition?: string;
  maximumBatchingWindowInSeconds?: number;
  functionResponseTypes?: string[];
  filterPatterns?: string[];
}

/** One resource-policy statement, as the AddPermission call that recreates it. */
export interface PermissionSettings {
  statementId: string;
  action: string;
  principal: string;
  sourceArn?: string;
  sourceAccount?: string;
  functionUrlAuthType?: string;
  principalOrgId?: string;
}

/** Tags Lazarus writes itself (quiesce's note of the concurrency to restore): never part of a version. */
export const LAZARUS_TAG_PREFIX = 'lazarus:';
export const QUIESCED_TAG = 'lazarus:quiesced-concurrency';

/** The environment of a configuration, split into plain variables and the names of secret ones. */
export function splitEnvironment(
  variables: Record<string, string> | undefined,
  secretNames: Iterable<string>,
): { environment: Record<string, string>; secrets: string[] } {
  const secret = new Set(secretNames);
  const environment: Record<string, string> = {};
  const secrets: string[] = [];
  for (const [name, value] of Object.entries(variables ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    if (secret.has(name)) secrets.push(name);
    else environment[name] = value;
  }
  return { environment, secrets };
}

/** A function configuration's settings as a version records them (layers without their content). */
export function settingsOf(
  conf: FunctionConfiguration,
  secretNames: Iterable<string>,
): { config: Omit<LambdaConfig, 'layers'>; secrets: string[] } {
  const { environment, secrets } = splitEnvironment(conf.Environment?.Variables, secretNames);
  return {
    config: {
      codeSha256: conf.CodeSha256 ?? '',
      runtime: conf.Runtime,
      handler: conf.Handler,
      memorySize: conf.MemorySize,
      timeout: conf.Timeout,
      role: conf.Role,
      architectures: conf.Architectures ?? ['x86_64'],
      description: conf.Description ?? '',
      ephemeralStorage: conf.EphemeralStorage?.Size,
      environment,
    },
    secrets,
  };
}

/**
 * Whether a published version of the function is the captured one: the same code digest,
 * settings, plain environment, secret names and layers (by where their content is now). Secret values are not compared
 * (they were never captured): the version keeps the values it was published with.
 */
export function isSameVersion(
  conf: FunctionConfiguration,
  captured: LambdaConfig,
  capturedSecrets: string[],
  /** Where the captured layers are now (a deleted one republished from its content). */
  layerArns: string[] = captured.layers.map((l) => l.arn),
): boolean {
  const { config, secrets } = settingsOf(conf, capturedSecrets);
  const settings: Partial<LambdaConfig> = { ...captured };
  delete settings.layers;
  return (
    canonicalize({ ...config, secrets, layers: (conf.Layers ?? []).map((l) => l.Arn) }) ===
    canonicalize({ ...settings, secrets: [...capturedSecrets].sort(), layers: layerArns })
  );
}

export function triggersOf<T extends LambdaTrigger['type']>(
  triggers: unknown[],
  type: T,
): Extract<LambdaTrigger, { type: T }>[] {
  return (triggers as LambdaTrigger[]).filter(
    (t): t is Extract<LambdaTrigger, { type: T }> => t.type === type,
  );
}

/** `arn:aws:lambda:region:account:function:name[:qualifier]` without its qualifier. */
export function unqualifiedArn(arn: string): string {
  return arn.split(':').slice(0, 7).join(':');
}

/** The qualifier (alias or version) an ARN names, if any. */
export function qualifierOf(arn: string): string | undefined {
  return arn.split(':')[7];
}
