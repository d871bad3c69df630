/**
 * Discovery of serverless functions from their configuration files: a Worker's wrangler
 * file, a Serverless Framework file and a SAM template (test/fixtures/discovery/). Each
 * gives its function services, the services of the state they use and the edges between,
 * and the manifest written from them loads.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { loadManifest } from '../../config/load-manifest';
import { datastoreSpecs } from '../../datastores/registry';
import { discoverSam } from '../../discovery/sam';
import { discoverServerless } from '../../discovery/serverless';
import { discoverWrangler } from '../../discovery/wrangler';
import type { Discovery } from '../../discovery/discovered';
import { type DiscoveredManifest, buildManifest } from '../../discovery/manifest';
import { type ManifestError, UserError } from '../../model/errors';
import { tempDir } from '../support/temp-dir';

const fixtures = path.join(__dirname, '..', 'fixtures', 'discovery');

/** Per service: what it is (a function on its platform, a datastore kind, unprotected state) and its edges. */
function summary(manifest: DiscoveredManifest) {
  return Object.fromEntries(
    Object.entries(manifest.services).map(([name, s]) => [
      name,
      {
        is: s.function
          ? `function ${String(s.function.platform)}`
          : s.datastore
            ? `${String(s.datastore.kind)} (${s.tier})`
            : `unprotected ${s.unprotected?.engine} (${s.tier})`,
        depends_on: s.depends_on,
      },
    ]),
  );
}

/** The manifest as `lazarus discover -o` writes it (less its comment header), loaded back. */
function writeAndLoad(discovery: Discovery, dir = tempDir()) {
  const { manifest } = buildManifest([discovery]);
  const file = path.join(dir, 'lazarus.yaml');
  writeFileSync(file, stringify(manifest));
  return loadManifest(file);
}

const bindingKindsRegistered = ['d1', 'kv', 'r2'].every((k) => datastoreSpecs.some((s) => s.kind === k));

describe('wrangler', () => {
  const project = path.join(fixtures, 'workers-todo');

  test('a Worker and one d1, kv and r2 service per binding, each in its state directory, the Worker depending on all', async () => {
    const discovery = await discoverWrangler(path.join(project, 'wrangler.toml'), project);
    const { manifest } = buildManifest([discovery]);
    expect(manifest.app).toBe('todo-api');
    expect(summary(manifest)).toEqual({
      'todo-api': {
        is: 'function workerd',
        depends_on: ['todo-api-sessions', 'todo-api-todo-attachments', 'todo-api-todo-db'],
      },
      'todo-api-todo-db': { is: 'd1 (critical)', depends_on: [] },
      'todo-api-sessions': { is: 'kv (critical)', depends_on: [] },
      'todo-api-todo-attachments': { is: 'r2 (critical)', depends_on: [] },
    });
    const state = '.lazarus/workerd/todo-api';
    expect(manifest.services['todo-api'].function).toEqual({
      platform: 'workerd',
      wrangler: 'wrangler.toml',
      state,
    });
    expect(manifest.services['todo-api-todo-db'].datastore).toEqual({
      kind: 'd1',
      path: state,
      database_id: '4e1c28a9-90e4-41da-8b4b-6cf36e5abb29',
    });
    expect(manifest.services['todo-api-sessions'].datastore).toEqual({
      kind: 'kv',
      path: state,
      namespace_id: '0f2ac74b498b48028cb68387c421e279',
    });
    expect(manifest.services['todo-api-todo-attachments'].datastore).toEqual({
      kind: 'r2',
      path: state,
      bucket: 'todo-attachments',
    });
  });

  test('the wrangler path is written relative to where the manifest goes; a directory finds its wrangler.jsonc', async () => {
    const dir = tempDir();
    const worker = path.join(dir, 'workers', 'edge');
    mkdirSync(worker, { recursive: true });
    writeFileSync(
      path.join(worker, 'wrangler.jsonc'),
      `{
        // comments and trailing commas, as wrangler allows
        "name": "edge-cache",
        "main": "src/worker.js",
        "compatibility_date": "2025-03-01",
        "kv_namespaces": [{ "binding": "PAGES", "id": "a1b2c3" },],
      }`,
    );
    const discovery = await discoverWrangler(worker, dir);
    const { manifest } = buildManifest([discovery]);
    expect(manifest.services['edge-cache'].function).toMatchObject({
      wrangler: path.join('workers', 'edge', 'wrangler.jsonc'),
    });
    expect(manifest.services['edge-cache'].depends_on).toEqual(['edge-cache-pages']);
  });

  test('the written manifest loads; the Worker and its bindings name one state directory', async () => {
    const dir = tempDir();
    const discovery = await discoverWrangler(path.join(project, 'wrangler.toml'), dir);
    if (!bindingKindsRegistered) {
      // Until the d1, kv and r2 kinds are registered, the bindings' kind is all the manifest lacks.
      let problems: { path: string }[] = [];
      try {
        writeAndLoad(discovery, dir);
      } catch (err) {
        problems = (err as ManifestError).problems;
      }
      expect(problems.map((p) => p.path).sort()).toEqual(
        ['todo-api-sessions', 'todo-api-todo-attachments', 'todo-api-todo-db'].map(
          (s) => `services.${s}.datastore.kind`,
        ),
      );
      return;
    }
    const loaded = writeAndLoad(discovery, dir);
    const fn = loaded.services['todo-api'].function as { state: string; wrangler: string };
    expect(fn.wrangler).toBe(path.join(project, 'wrangler.toml'));
    expect((loaded.services['todo-api-todo-db'].datastore as { path: string }).path).toBe(fn.state);
  });

  test('a wrangler file without a name, or none at all, is refused naming the file and field', async () => {
    const dir = tempDir();
    const nameless = path.join(dir, 'wrangler.toml');
    writeFileSync(nameless, 'main = "src/index.js"\ncompatibility_date = "2025-01-01"\n');
    await expect(discoverWrangler(nameless, dir)).rejects.toThrow(UserError);
    await expect(discoverWrangler(nameless, dir)).rejects.toThrow(new RegExp(`${nameless}:[^]*name`));
    await expect(discoverWrangler(path.join(dir, 'missing.toml'), dir)).rejects.toThrow(
      `${path.join(dir, 'missing.toml')}: cannot read the wrangler file`,
    );
    const empty = path.join(dir, 'empty');
    mkdirSync(empty);
    await expect(discoverWrangler(empty, dir)).rejects.toThrow(`${empty}: no wrangler.toml`);
  });
});

describe('Serverless Framework', () => {
  const file = path.join(fixtures, 'serverless-image-gallery', 'serverless.yml');

  test('each function is the Lambda the framework names <service>-<stage>-<key>; buckets, table and queue are services it depends on', () => {
    const { manifest, notes } = buildManifest([discoverServerless(file, { env: {} })]);
    expect(manifest.app).toBe('image-gallery');
    const table = 'image-gallery-dev-images';
    expect(summary(manifest)).toEqual({
      // IMAGES_TABLE in the provider's environment, and the IAM statement: every function uses the table.
      upload: { is: 'function aws-lambda', depends_on: ['image-gallery-dev-uploads', table].sort() },
      thumbnail: {
        is: 'function aws-lambda',
        depends_on: [table, 'image-gallery-dev-thumbnails', 'image-gallery-dev-uploads'].sort(),
      },
      list: { is: 'function aws-lambda', depends_on: [table] },
      reprocess: { is: 'function aws-lambda', depends_on: [table, 'image-gallery-dev-jobs'].sort() },
      'image-gallery-dev-uploads': { is: 's3 (critical)', depends_on: [] },
      'image-gallery-dev-thumbnails': { is: 's3 (critical)', depends_on: [] },
      [table]: { is: 'unprotected dynamodb (critical)', depends_on: [] },
      'image-gallery-dev-jobs': { is: 'unprotected sqs (standard)', depends_on: [] },
    });
    expect(manifest.services.upload.function).toEqual({
      platform: 'aws-lambda',
      name: 'image-gallery-dev-upload',
      region: 'eu-west-1',
    });
    expect(manifest.services.reprocess.function).toMatchObject({
      name: 'image-gallery-dev-reprocess-worker',
    });
    expect(manifest.services['image-gallery-dev-uploads'].datastore).toEqual({
      kind: 's3',
      bucket: 'image-gallery-dev-uploads',
      region: 'eu-west-1',
    });
    expect(notes.join('\n')).toContain('alias "live" is assumed');
  });

  test('the stage given wins over provider.stage, in every name', () => {
    const { manifest } = buildManifest([discoverServerless(file, { stage: 'prod', env: {} })]);
    expect(manifest.services.thumbnail.function).toMatchObject({ name: 'image-gallery-prod-thumbnail' });
    expect(manifest.services.thumbnail.depends_on).toContain('image-gallery-prod-thumbnails');
  });

  test('the written manifest loads', () => {
    const loaded = writeAndLoad(discoverServerless(file, { env: {} }));
    expect(loaded.services.upload.function).toMatchObject({
      name: 'image-gallery-dev-upload',
      alias: 'live',
    });
    expect(loaded.services['image-gallery-dev-uploads'].datastore).toMatchObject({ kind: 's3' });
    expect(loaded.services['image-gallery-dev-images'].unprotected).toMatchObject({ engine: 'dynamodb' });
  });

  test('variables it cannot resolve become placeholders with a note, never a crash; ${env:} and fallbacks resolve', () => {
    const dir = tempDir();
    const own = path.join(dir, 'serverless.yml');
    writeFileSync(
      own,
      [
        'service: ${env:SERVICE_NAME, "reports"}',
        'provider: { name: aws, stage: "${opt:stage, self:custom.defaultStage}" }',
        'custom: { defaultStage: qa }',
        'functions:',
        '  render: { handler: h.render, name: "${ssm:/reports/function-name}" }',
        '  archive:',
        '    handler: h.archive',
        '    events: [{ s3: "${file(./buckets.yml):archive}" }]',
        'resources:',
        '  Resources:',
        '    Exports: { Type: "AWS::S3::Bucket", Properties: { BucketName: "${cf:shared.ExportsBucket}" } }',
      ].join('\n'),
    );
    const { manifest, notes } = buildManifest([
      discoverServerless(own, { env: { SERVICE_NAME: 'billing' } }),
    ]);
    expect(manifest.services.render.function).toMatchObject({ name: 'FILL-IN the function name' });
    expect(manifest.services.archive.function).toMatchObject({ name: 'billing-qa-archive' });
    expect(manifest.services.archive.depends_on).toEqual(['archive-events-bucket']);
    expect(manifest.services.exports.datastore).toMatchObject({ bucket: 'FILL-IN-the-bucket-name' });
    const said = notes.join('\n');
    expect(said).toContain(`${own}: functions.render: the name \${ssm:/reports/function-name}`);
    expect(said).toContain('${file(./buckets.yml):archive}');
    expect(said).toContain("Exports: the bucket's name is not in the file");
    // The placeholders are invalid on purpose: the manifest does not load until they are filled in.
    expect(() => writeAndLoad(discoverServerless(own, { env: {} }))).toThrow(
      /services\.render\.function\.name/,
    );
  });

  test('bad input is refused naming the file and the field', () => {
    const dir = tempDir();
    const cases: [string, RegExp | string][] = [
      ['service: x\nprovider: { name: aws }\nfunctions:\n  a: { handler: h\n', 'not valid YAML'],
      ['provider: { name: aws }\nfunctions: { a: { handler: h } }\n', 'service: missing'],
      [
        'service: x\nprovider: { name: google }\nfunctions: { a: { handler: h } }\n',
        'provider.name: "google"',
      ],
      ['service: x\nprovider: { name: aws }\n', 'functions: missing, empty or not a map'],
      [
        'service: x\nprovider: { name: aws }\nfunctions: { a: { handler: h, name: "" } }\n',
        'functions.a.name',
      ],
      [
        'service: x\nprovider: { name: aws }\nfunctions: { a: h.handler }\n',
        'functions.a: a function is a mapping',
      ],
      [
        `service: ${'x'.repeat(60)}\nprovider: { name: aws }\nfunctions: { a: { handler: h } }\n`,
        'set name:',
      ],
    ];
    cases.forEach(([text, message], i) => {
      const file = path.join(dir, `serverless-${i}.yml`);
      writeFileSync(file, text);
      expect(() => discoverServerless(file, { env: {} })).toThrow(UserError);
      expect(() => discoverServerless(file, { env: {} })).toThrow(`${file}: `);
      expect(() => discoverServerless(file, { env: {} })).toThrow(message);
    });
    expect(() => discoverServerless(path.join(dir, 'none.yml'))).toThrow(
      `${path.join(dir, 'none.yml')}: cannot read a Serverless Framework file (ENOENT)`,
    );
  });
});

describe('AWS SAM', () => {
  const file = path.join(fixtures, 'sam-orders', 'template.yaml');

  test('each AWS::Serverless::Function, with edges from its environment, events and policies to buckets, tables and queues', () => {
    const { manifest, notes } = buildManifest([discoverSam(file)]);
    expect(manifest.app).toBe('sam-orders');
    const orders = 'orders-prod'; // !Sub orders-${Stage}, Stage defaulting to prod
    expect(summary(manifest)).toEqual({
      // Globals' ORDERS_TABLE: every function uses the orders table.
      'create-order-function': {
        is: 'function aws-lambda',
        depends_on: ['customers-table', 'order-queue', orders],
      },
      'fulfil-order-function': {
        is: 'function aws-lambda',
        depends_on: ['order-queue', orders, 'orders-receipts-prod'],
      },
      'order-audit-function': {
        is: 'function aws-lambda',
        depends_on: ['orders-audit-archive', orders],
      },
      'receipt-index-function': { is: 'function aws-lambda', depends_on: [orders, 'orders-receipts-prod'] },
      'orders-receipts-prod': { is: 's3 (critical)', depends_on: [] },
      [orders]: { is: 'unprotected dynamodb (critical)', depends_on: [] },
      'customers-table': { is: 'unprotected dynamodb (critical)', depends_on: [] },
      'order-queue': { is: 'unprotected sqs (standard)', depends_on: [] },
      // Named only by an ARN in an inline policy: a bucket from outside the template.
      'orders-audit-archive': { is: 's3 (critical)', depends_on: [] },
    });
    expect(manifest.services['create-order-function'].function).toEqual({
      platform: 'aws-lambda',
      name: 'create-order-prod',
      alias: 'live',
    });
    // No FunctionName: the logical id, and a note that CloudFormation names it otherwise.
    expect(manifest.services['fulfil-order-function'].function).toEqual({
      platform: 'aws-lambda',
      name: 'FulfilOrderFunction',
      alias: 'prod',
    });
    expect(manifest.services['order-audit-function'].function).toEqual({
      platform: 'aws-lambda',
      name: 'order-audit',
    });
    const said = notes.join('\n');
    expect(said).toContain('FulfilOrderFunction: no FunctionName, so CloudFormation names it');
    expect(said).toContain('OrderAuditFunction: no AutoPublishAlias');
    expect(said).toContain('region');
  });

  test('the written manifest loads', () => {
    const loaded = writeAndLoad(discoverSam(file));
    expect(loaded.services['receipt-index-function'].function).toMatchObject({
      platform: 'aws-lambda',
      name: 'receipt-index',
      alias: 'live',
    });
    expect(loaded.services['orders-receipts-prod'].datastore).toMatchObject({
      kind: 's3',
      bucket: 'orders-receipts-prod',
    });
  });

  test('a FunctionName it cannot work out is a placeholder with a note', () => {
    const dir = tempDir();
    const own = path.join(dir, 'template.yaml');
    writeFileSync(
      own,
      [
        'Transform: AWS::Serverless-2016-10-31',
        'Resources:',
        '  Fn:',
        '    Type: AWS::Serverless::Function',
        '    Properties:',
        "      FunctionName: !Sub '${AWS::StackName}-resize'",
        '      AutoPublishAlias: live',
      ].join('\n'),
    );
    const { manifest, notes } = buildManifest([discoverSam(own)]);
    expect(manifest.services.fn.function).toMatchObject({ name: 'FILL-IN the function name' });
    expect(notes.join('\n')).toContain(`${own}: Resources.Fn.Properties.FunctionName:`);
  });

  test('bad input is refused naming the file and the field', () => {
    const dir = tempDir();
    const fn = (properties: string) =>
      `Transform: AWS::Serverless-2016-10-31\nResources:\n  Resize:\n    Type: AWS::Serverless::Function\n    Properties: ${properties}\n`;
    const cases: [string, string][] = [
      ['Transform: AWS::Serverless-2016-10-31\nResources:\n  A: !Ref [unclosed\n', 'not valid YAML'],
      ['Resources:\n  A: { Type: AWS::S3::Bucket }\n', 'Transform: not a SAM template'],
      ['Transform: AWS::Serverless-2016-10-31\n', 'Resources: missing'],
      [
        'Transform: AWS::Serverless-2016-10-31\nResources:\n  A: { Type: AWS::S3::Bucket }\n',
        'Resources: no AWS::Serverless::Function',
      ],
      [fn('{ FunctionName: "" }'), 'Resources.Resize.Properties.FunctionName: a function name is a string'],
      [fn('{ FunctionName: [a, b] }'), 'Resources.Resize.Properties.FunctionName'],
      [
        fn('{ FunctionName: "resize images" }'),
        'Resources.Resize.Properties.FunctionName: "resize images" is not a Lambda function name',
      ],
    ];
    cases.forEach(([text, message], i) => {
      const file = path.join(dir, `template-${i}.yaml`);
      writeFileSync(file, text);
      expect(() => discoverSam(file)).toThrow(UserError);
      expect(() => discoverSam(file)).toThrow(`${file}: ${message}`);
    });
  });
});

test('functions from all three files in one manifest, alongside each other', async () => {
  const project = path.join(fixtures, 'workers-todo');
  const { manifest } = buildManifest([
    await discoverWrangler(path.join(project, 'wrangler.toml'), project),
    discoverServerless(path.join(fixtures, 'serverless-image-gallery', 'serverless.yml'), { env: {} }),
    discoverSam(path.join(fixtures, 'sam-orders', 'template.yaml')),
  ]);
  expect(Object.values(manifest.services).filter((s) => s.function)).toHaveLength(9);
  expect(Object.keys(manifest.services)).toHaveLength(21);
});
