// v1 of the notes Worker: POST / stores a note; GET / lists what is stored.
export default {
  async fetch(request, env) {
    await env.DB.exec(
      'CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL)',
    );
    if (request.method === 'POST') {
      const body = (await request.text()).trim();
      await env.DB.prepare('INSERT INTO notes (body) VALUES (?)').bind(body).run();
      await env.KV.put('last', body);
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
