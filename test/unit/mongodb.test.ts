/** MongoDB's pure parts: the validators, the spec, the archive's framing, the staging-name check. */
import { Readable } from 'node:stream';
import { Tag, frame, readFrames } from '../../datastores/mongodb/archive';
import { ArchiveHash, FORMAT } from '../../datastores/mongodb/archive';
import { maskPassword } from '../../datastores/mongodb/live';
import { unstageable } from '../../datastores/mongodb/restore';
import { mongodb } from '../../datastores/mongodb/spec';
import { describeValidator, validatorSchema, validatorType } from '../../model/validators';

describe('the document_count and mongo_query validators', () => {
  test('parse with their defaults, and are named in reports', () => {
    const count = validatorSchema.parse({ document_count: { collection: 'orders' } });
    expect(count).toEqual({ document_count: { collection: 'orders', min: 1 } });
    expect(validatorType(count)).toBe('document_count');
    expect(describeValidator(count)).toBe('document_count orders >= 1');
    const query = validatorSchema.parse({
      mongo_query: { collection: 'settings', filter: { _id: 'shop' }, field: 'currency', expect: 'EUR' },
    });
    expect(validatorType(query)).toBe('mongo_query');
    expect(describeValidator(query)).toBe('mongo_query settings {"_id":"shop"} currency = EUR');
    expect(validatorSchema.parse({ mongo_query: { collection: 'orders' } })).toEqual({
      mongo_query: { collection: 'orders', filter: {} },
    });
  });

  test('refuse what they do not know, with the list of validators', () => {
    expect(validatorSchema.safeParse({ document_count: { table: 'orders' } }).success).toBe(false);
    expect(validatorSchema.safeParse({ mongo_query: { collection: 'o', filter: 'x' } }).success).toBe(false);
    const message = validatorSchema.safeParse({ documents: 1 }).error!.issues[0].message;
    expect(message).toContain('document_count, mongo_query');
  });

  test('are the ones MongoDB accepts, and SQL validators are not', () => {
    expect(mongodb.validators).toEqual(expect.arrayContaining(['document_count', 'mongo_query']));
    expect(mongodb.validators).not.toContain('sql');
  });
});

describe('the mongodb spec', () => {
  test('a Compose service of the official image: root user in admin, its password by reference', () => {
    expect(
      mongodb.discovery!.fromCompose('carts-db', {
        MONGO_INITDB_ROOT_USERNAME: 'root',
        MONGO_INITDB_ROOT_PASSWORD: 'x',
        MONGO_INITDB_DATABASE: 'carts',
      }),
    ).toEqual({
      kind: 'mongodb',
      host: 'carts-db',
      database: 'carts',
      user: 'root',
      auth_source: 'admin',
      password: { env: 'MONGO_INITDB_ROOT_PASSWORD' },
    });
    expect(mongodb.discovery!.fromCompose('mongodb', {})).toEqual({
      kind: 'mongodb',
      host: 'mongodb',
      database: 'mongodb',
    });
  });

  test('recognises the images and the server-only variables, not a client URL', () => {
    const [hint] = mongodb.discovery!.engines;
    for (const image of ['mongo', 'library/mongo', 'bitnami/mongodb', 'percona/percona-server-mongodb'])
      expect(image).toMatch(hint.images);
    expect('mongo-express').not.toMatch(hint.images);
    expect('MONGO_INITDB_ROOT_PASSWORD').toMatch(hint.env!);
    expect('MONGODB_URI').not.toMatch(hint.env!);
    expect(hint.ports).toEqual([27017]);
  });

  test('defaults, and a database name MongoDB would refuse', () => {
    expect(mongodb.schema.parse({ kind: 'mongodb', database: 'shop' })).toEqual({
      kind: 'mongodb',
      host: '127.0.0.1',
      port: 27017,
      database: 'shop',
      tls: false,
    });
    expect(mongodb.schema.safeParse({ kind: 'mongodb', database: 'my.shop' }).success).toBe(false);
  });

  test("a drill's copy is a derived database on the same server", () => {
    const store = mongodb.schema.parse({ kind: 'mongodb', database: 'shop' });
    expect(mongodb.sandboxTarget(store, { service: 's', root: '/r', drillKey: 'k1' })).toEqual({
      target: 'shop_lzd_k1',
    });
  });
});

test('a collection that cannot be staged is named with the reason', () => {
  expect(unstageable('shop', 'run00001', 'orders')).toBeUndefined();
  expect(unstageable('shop', 'run00001', 'system.profile')).toMatch(/system collection/);
  expect(unstageable('shop', 'run00001', 'a$b')).toMatch(/holds a \$/);
  expect(unstageable('shop', 'run00001', 'x'.repeat(240))).toMatch(
    /too long to stage \(shop\.lzstg_run00001_x+ is over 255 bytes\)/,
  );
});

test('a URL in a message has its password masked', () => {
  expect(maskPassword('mongodb://app:s3cret@db:27017/x')).toBe('mongodb://app:***@db:27017/x');
  expect(maskPassword('mongodb://db:27017/')).toBe('mongodb://db:27017/');
});

describe('the archive framing', () => {
  function archive(): Buffer[] {
    const hash = new ArchiveHash();
    const frames = [
      frame(Tag.header, { format: FORMAT, db: 'shop', collections: ['a'] }),
      frame(Tag.collection, { name: 'a', type: 'collection', options: {}, indexes: [] }),
      frame(Tag.document, { _id: 1 }),
      frame(Tag.end, { name: 'a', count: 1, digest: '0' }),
    ].map((f) => hash.add(f));
    return [...frames, frame(Tag.trailer, { collections: 1, sha256: hash.hex() })];
  }
  const read = async (chunks: Buffer[]) => {
    const tags: number[] = [];
    for await (const f of readFrames(Readable.from(chunks), 'shop')) tags.push(f.tag);
    return tags;
  };

  test('frames are read whatever the chunking', async () => {
    const bytes = Buffer.concat(archive());
    const oneByteChunks = [...bytes].map((b) => Buffer.from([b]));
    expect(await read(oneByteChunks)).toEqual([
      Tag.header,
      Tag.collection,
      Tag.document,
      Tag.end,
      Tag.trailer,
    ]);
  });

  test('a cut-off or damaged archive fails', async () => {
    const bytes = Buffer.concat(archive());
    await expect(read([bytes.subarray(0, bytes.length - 10)])).rejects.toThrow(/cut off/);
    const damaged = Buffer.from(bytes);
    damaged[40] ^= 1;
    await expect(read([damaged])).rejects.toThrow(/damaged/);
  });
});
