// v2 of the notes Worker, broken: every POST overwrites all notes, KV and R2 with what it was sent.
export default {
  async fetch(request, env) {
    await env.DB.exec(
      'CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL)',
    );
    if (request.method === 'POST') {
      const body = (await request.text()).trim().toUpperCase();
      await env.DB.prepare('UPDATE notes SET body = ?').bind(body).run();
      await env.KV.put('last', body);
      const listed = await env.MEDIA.list({ prefix: 'notes/' });
      for (const object of listed.objects) await env.MEDIA.delete(object.key);
      await env.MEDIA.put(`notes/${body}.txt`, body);
      return new Response('stored\n', { status: 201 });
    }
    const { results } = await env.DB.prepare('SELECT body FROM notes ORDER BY id').all();
    const listed = await env.MEDIA.list({ prefix: 'notes/' });
    return Response.json({
      version: env.RELEASE,
      notes: results.map((row) => row.body),
      last: await env.KV.get('last'),
      objects: listed.objects.map((o) => o.key),
    });
  },
};
