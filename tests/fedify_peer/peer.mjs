// A fediverse server made with Fedify, for tests/test_fediverse_fedify.py: one actor
// (carol) on https://localhost:PORT, which looks the topic up by WebFinger, follows it, and
// reports on stdout (one JSON object a line) every activity its inboxes accept. Fedify
// verifies each inbound signature itself and refuses those that do not verify.
//
// Environment: PORT, CERT and KEY (its TLS certificate and key), TARGET (the handle to
// follow, e.g. harm-reduction@localhost:8443), NODE_EXTRA_CA_CERTS (the test CA).
import fs from "node:fs";
import https from "node:https";
import {
  Accept, Create, Delete, Endpoints, Follow, MemoryKvStore, Person, Update,
  createFederation, generateCryptoKeyPair,
} from "@fedify/fedify";

const { PORT, CERT, KEY, TARGET } = process.env;
const BASE = `https://localhost:${PORT}`;
const emit = (event) => process.stdout.write(`${JSON.stringify(event)}\n`);

const federation = createFederation({ kv: new MemoryKvStore(), allowPrivateAddress: true });
const keys = await generateCryptoKeyPair("RSASSA-PKCS1-v1_5");

federation
  .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
    if (identifier !== "carol") return null;
    const [pair] = await ctx.getActorKeyPairs(identifier);
    return new Person({
      id: ctx.getActorUri(identifier),
      preferredUsername: identifier,
      name: "Carol",
      inbox: ctx.getInboxUri(identifier),
      endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
      publicKey: pair.cryptographicKey,
    });
  })
  .setKeyPairsDispatcher(async (ctx, identifier) => (identifier === "carol" ? [keys] : []));

federation
  .setInboxListeners("/users/{identifier}/inbox", "/inbox")
  .on(Accept, async (ctx, accept) => {
    emit({ type: "Accept", actor: accept.actorId?.href, object: accept.objectId?.href });
  })
  .on(Create, async (ctx, create) => {
    const note = await create.getObject();
    emit({ type: "Create", actor: create.actorId?.href, id: note?.id?.href,
           kind: note?.constructor?.name, content: note?.content?.toString() });
  })
  .on(Update, async (ctx, update) => {
    const note = await update.getObject();
    emit({ type: "Update", actor: update.actorId?.href, id: note?.id?.href,
           content: note?.content?.toString() });
  })
  .on(Delete, async (ctx, deleted) => {
    emit({ type: "Delete", actor: deleted.actorId?.href, id: deleted.objectId?.href });
  })
  .onError((ctx, error) => emit({ type: "error", message: String(error) }));

const server = https.createServer(
  { key: fs.readFileSync(KEY), cert: fs.readFileSync(CERT) },
  async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const headers = Object.fromEntries(
      Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") : v]),
    );
    const request = new Request(new URL(req.url, BASE), {
      method: req.method,
      headers,
      body: req.method === "GET" || req.method === "HEAD" ? undefined : Buffer.concat(chunks),
    });
    const response = await federation.fetch(request, {
      contextData: undefined,
      onNotFound: () => new Response("Not found", { status: 404 }),
      onNotAcceptable: () => new Response("Not acceptable", { status: 406 }),
    });
    if (req.method === "POST") emit({ type: "inbox", path: req.url, status: response.status });
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(Buffer.from(await response.arrayBuffer()));
  },
);

server.listen(Number(PORT), "127.0.0.1", async () => {
  emit({ type: "listening" });
  try {
    const ctx = federation.createContext(new URL(BASE), undefined);
    const topic = await ctx.lookupObject(`acct:${TARGET}`);
    if (topic?.id == null) throw new Error(`WebFinger found no actor for ${TARGET}`);
    await ctx.sendActivity(
      { identifier: "carol" },
      topic,
      new Follow({ id: new URL(`${BASE}/follows/1`), actor: ctx.getActorUri("carol"), object: topic.id }),
    );
    emit({ type: "followed", topic: topic.id.href, name: topic.name?.toString() });
  } catch (error) {
    emit({ type: "error", message: String(error?.stack ?? error) });
  }
});
