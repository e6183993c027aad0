// Drives a running Portico server through the generated client: register →
// verify (the token read from the server's outbox) → sign in → me →
// content session. Every call is typed from the OpenAPI document, so a
// document that drifts from the server fails here at compile or run time.
//
//   PORTICO_URL     the server (default http://127.0.0.1:8080)
//   PORTICO_OUTBOX  its mail outbox folder (data/outbox)
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";

import createClient from "openapi-fetch";

import type { paths } from "./schema.js";

const baseUrl = process.env["PORTICO_URL"] ?? "http://127.0.0.1:8080";
const outbox = process.env["PORTICO_OUTBOX"] ?? "data/outbox";
const api = createClient<paths>({ baseUrl });

function check(condition: unknown, what: string): asserts condition {
  if (!condition) {
    throw new Error(`smoke: ${what}`);
  }
}

/** The token of the newest mail to `to`, waiting for it to arrive. */
async function mailedToken(to: string): Promise<string> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const files = (await readdir(outbox).catch(() => [] as string[])).sort();
    for (const file of files.reverse()) {
      const text = await readFile(join(outbox, file), "utf8");
      const token = /token=([0-9a-f]{64})/.exec(text)?.[1];
      if (text.includes(to) && token !== undefined) {
        return token;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`smoke: no mail to ${to} in ${outbox}`);
}

const stamp = Date.now().toString(36);
const email = `smoke-${stamp}@example.org`;
const username = `smoke_${stamp}`;
const password = "correct horse battery";

const registered = await api.POST("/v1/registrations", {
  body: { email, username, password },
});
check(registered.response.status === 202, `register: ${registered.response.status}`);

const verified = await api.POST("/v1/registrations/verify", {
  body: { token: await mailedToken(email) },
});
check(verified.data !== undefined, `verify: ${JSON.stringify(verified.error)}`);
check(verified.data.username === username, "verify: another user");

const signedIn = await api.POST("/v1/sessions", {
  body: { login: username, password },
});
const tokens = signedIn.data;
check(tokens !== undefined && "access_token" in tokens, `sign in: ${signedIn.response.status}`);
const headers = { Authorization: `Bearer ${tokens.access_token}` };

const me = await api.GET("/v1/me", { headers });
check(me.data !== undefined, `me: ${JSON.stringify(me.error)}`);
check(me.data.email === email && me.data.verified, "me: not the new, verified user");
check(me.data.mfa.totp === false, "me: TOTP on for a new user");

const created = await api.POST("/v1/content-sessions", {
  headers,
  body: { name: "smoke test" },
});
check(created.data !== undefined, `create content session: ${JSON.stringify(created.error)}`);
const read = await api.GET("/v1/content-sessions/{id}", {
  headers,
  params: { path: { id: created.data.id } },
});
check(read.data?.name === "smoke test", "read content session");

const missing = await api.GET("/v1/content-sessions/{id}", {
  headers,
  params: { path: { id: "00000000-0000-7000-8000-000000000000" } },
});
check(missing.response.status === 404 && missing.error !== undefined, "a missing session is 404");

console.log(`smoke: ok (${username} signed in, content session ${created.data.id})`);
