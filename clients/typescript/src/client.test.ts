// The client layer against a real server (node --test): sign-in and its
// second step, problems as typed errors, the stores, and refresh with
// rotation, one at a time however many calls need it.
//
//   PORTICO_URL     the server (default http://127.0.0.1:8080)
//   PORTICO_OUTBOX  its mail outbox folder (data/outbox)
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";

import { MemoryStore, Portico, PorticoProblem, WebStorageStore, type Tokens } from "./index.js";

const baseUrl = process.env["PORTICO_URL"] ?? "http://127.0.0.1:8080";
const outbox = process.env["PORTICO_OUTBOX"] ?? "data/outbox";
const password = "correct horse battery";

/** The token of the newest mail to `to`, waiting for it to arrive. */
async function mailedToken(to: string): Promise<string> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const files = (await readdir(outbox).catch(() => [] as string[])).sort().reverse();
    for (const file of files) {
      const text = await readFile(join(outbox, file), "utf8");
      const token = /token=([0-9a-f]{64})/.exec(text)?.[1];
      if (new RegExp(`^To: ${to}$`, "mi").test(text) && token !== undefined) {
        return token;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no mail to ${to} in ${outbox}`);
}

let serial = 0;
/** A fresh user's name and address, registered; verified unless told not to. */
async function newUser(verify = true): Promise<{ username: string; email: string }> {
  const username = `ts_${Date.now().toString(36)}_${serial++}`;
  const email = `${username}@example.org`;
  const portico = new Portico({ baseUrl });
  const { response } = await portico.api.POST("/v1/registrations", {
    body: { email, username, password },
  });
  assert.equal(response.status, 202);
  if (verify) {
    const { response: verified } = await portico.api.POST("/v1/registrations/verify", {
      body: { token: await mailedToken(email) },
    });
    assert.equal(verified.status, 201);
  }
  return { username, email };
}

/** A fetch that counts the refreshes it sends. */
function countingFetch(): { fetch: (r: Request) => Promise<Response>; refreshes: () => number } {
  let refreshes = 0;
  return {
    fetch: (request) => {
      if (new URL(request.url).pathname === "/v1/sessions/refresh") {
        refreshes++;
      }
      return globalThis.fetch(request);
    },
    refreshes: () => refreshes,
  };
}

/** RFC 6238 code (SHA-1, 6 digits, 30 s) of a base32 secret at `at` ms. */
function totp(secret: string, at = Date.now()): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of secret.replace(/=+$/, "")) {
    bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  }
  const key = Buffer.from(bits.match(/.{8}/g)!.map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 30_000)));
  const mac = createHmac("sha1", key).update(counter).digest();
  const offset = mac[mac.length - 1]! & 0xf;
  const value = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(value % 1_000_000).padStart(6, "0");
}

test("sign in keeps the session and authenticates the typed calls", async () => {
  const { username, email } = await newUser();
  const portico = new Portico({ baseUrl });
  const result = await portico.signIn(username, password);
  assert.equal(result.status, "signed-in");
  assert.ok(await portico.signedIn());
  const { data } = await portico.api.GET("/v1/me");
  assert.equal(data?.email, email);
  await portico.signOut();
  assert.equal(await portico.signedIn(), false);
  const after = await portico.api.GET("/v1/me");
  assert.equal(after.response.status, 401);
});

test("problems are typed errors: wrong password, address not verified yet", async () => {
  const portico = new Portico({ baseUrl });
  const unverified = await newUser(false);
  await assert.rejects(portico.signIn(unverified.email, password), (e: unknown) => {
    assert.ok(e instanceof PorticoProblem);
    assert.equal(e.status, 403);
    assert.equal(e.kind, "email-not-verified");
    assert.match(e.detail ?? "", /register again/);
    assert.ok(e.requestId);
    return true;
  });
  await assert.rejects(portico.signIn(unverified.email, "not the password"), (e: unknown) => {
    assert.ok(e instanceof PorticoProblem);
    assert.equal(e.kind, "invalid-credentials");
    assert.equal(e.status, 401);
    return true;
  });
  assert.equal(await portico.signedIn(), false);
});

test("the second step is narrowed: mfa-required, then a backup code or a TOTP code", async () => {
  const { username } = await newUser();
  const portico = new Portico({ baseUrl });
  await portico.signIn(username, password);
  const enrol = await portico.api.POST("/v1/me/mfa/totp", { body: { password } });
  assert.ok(enrol.data, JSON.stringify(enrol.error));
  const secret = enrol.data.secret;
  const confirmed = await portico.api.POST("/v1/me/mfa/totp/confirm", {
    body: { code: totp(secret) },
  });
  assert.ok(confirmed.data, JSON.stringify(confirmed.error));
  const backupCode = confirmed.data.backup_codes[0]!;

  const other = new Portico({ baseUrl });
  const result = await other.signIn(username, password);
  assert.equal(result.status, "mfa-required");
  if (result.status !== "mfa-required") return;
  assert.deepEqual([...result.methods].sort(), ["backup_code", "totp"]);
  assert.equal(await other.signedIn(), false, "nothing kept before the second step");
  await assert.rejects(other.finishSignIn(result.mfaToken, { code: "000000" }), PorticoProblem);
  const tokens = await other.finishSignIn(result.mfaToken, { backupCode });
  assert.ok(tokens.accessToken);
  const me = await other.api.GET("/v1/me");
  assert.equal(me.data?.mfa.totp, true);
});

test("a refused access token refreshes once, however many calls need it, and rotates", async () => {
  const { username } = await newUser();
  const counting = countingFetch();
  const store = new MemoryStore();
  const portico = new Portico({ baseUrl, store, fetch: counting.fetch });
  await portico.signIn(username, password);
  const before = store.get()!;
  // An access token the server no longer takes (as after its expiry).
  store.set({ ...before, accessToken: "0".repeat(64) });
  const answers = await Promise.all(
    Array.from({ length: 8 }, () => portico.api.GET("/v1/me")),
  );
  for (const { response } of answers) {
    assert.equal(response.status, 200);
  }
  assert.equal(counting.refreshes(), 1, "one refresh for eight calls");
  const after = store.get()!;
  assert.notEqual(after.refreshToken, before.refreshToken, "rotated");
  assert.notEqual(after.accessToken, before.accessToken);
});

test("a token due to expire is refreshed before the call", async () => {
  const { username } = await newUser();
  const counting = countingFetch();
  const store = new MemoryStore();
  const portico = new Portico({ baseUrl, store, fetch: counting.fetch });
  await portico.signIn(username, password);
  store.set({ ...store.get()!, expiresAt: new Date(Date.now() + 5_000).toISOString() });
  const { response } = await portico.api.GET("/v1/me");
  assert.equal(response.status, 200);
  assert.equal(counting.refreshes(), 1);
  assert.ok(Date.parse(store.get()!.expiresAt) > Date.now() + 60_000);
});

test("a refresh token used twice ends the session and the store forgets it", async () => {
  const { username } = await newUser();
  const store = new MemoryStore();
  const portico = new Portico({ baseUrl, store });
  await portico.signIn(username, password);
  const stolen: Tokens = store.get()!;
  await portico.refresh();
  // A thief presents the old refresh token: the server revokes the session.
  const thief = new Portico({ baseUrl, store: new MemoryStore() });
  await thief.store.set(stolen);
  await assert.rejects(thief.refresh(), (e: unknown) => {
    assert.ok(e instanceof PorticoProblem);
    assert.equal(e.kind, "refresh-token-reused");
    return true;
  });
  assert.equal(await thief.signedIn(), false);
  // The owner's session went with it.
  const { response } = await portico.api.GET("/v1/me");
  assert.equal(response.status, 401);
  assert.equal(await portico.signedIn(), false);
});

test("a web storage store keeps the session across clients", async () => {
  const { username } = await newUser();
  const map = new Map<string, string>();
  const storage = {
    getItem: (k: string) => map.get(k) ?? null,
    setItem: (k: string, v: string) => void map.set(k, v),
    removeItem: (k: string) => void map.delete(k),
  };
  const first = new Portico({ baseUrl, store: new WebStorageStore(storage) });
  await first.signIn(username, password);
  assert.ok(map.get("portico.session")?.includes("accessToken"));
  const second = new Portico({ baseUrl, store: new WebStorageStore(storage) });
  const { data } = await second.api.GET("/v1/me");
  assert.equal(data?.username, username);
  map.set("portico.session", "not json");
  assert.equal(await second.signedIn(), false);
});

/** The code and link token of the newest sign-in mail to `to`. */
async function signInMail(to: string, notIn: Set<string>): Promise<{ code: string; token: string }> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const files = (await readdir(outbox).catch(() => [] as string[])).sort().reverse();
    for (const file of files) {
      if (notIn.has(file)) {
        continue;
      }
      const text = await readFile(join(outbox, file), "utf8");
      const code = /^Subject: Your sign-in code: (\d{6})/m.exec(text)?.[1];
      const token = /token=([0-9a-f]{64}\.[0-9a-f]{64})/.exec(text)?.[1];
      if (new RegExp(`^To: ${to}$`, "mi").test(text) && code !== undefined && token !== undefined) {
        notIn.add(file);
        return { code, token };
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no sign-in mail to ${to} in ${outbox}`);
}

test("sign-in by email: the code, then the link, each once", async () => {
  const { email } = await newUser();
  const seen = new Set<string>();
  const portico = new Portico({ baseUrl });
  const flowId = await portico.requestEmailSignIn(email);
  const first = await signInMail(email, seen);
  const result = await portico.verifyEmailSignIn({ flowId, code: first.code });
  assert.equal(result.status, "signed-in");
  const { data: me } = await portico.api.GET("/v1/me");
  assert.equal(me?.email, email);
  await assert.rejects(portico.verifyEmailSignIn({ token: first.token }), (e: unknown) => {
    return e instanceof PorticoProblem && e.kind === "invalid-token";
  });
  await portico.requestEmailSignIn(email);
  const second = await signInMail(email, seen);
  const byLink = await new Portico({ baseUrl }).verifyEmailSignIn({ token: second.token });
  assert.equal(byLink.status, "signed-in");
});

test("a passkey sign-in: options for anyone, and a forged assertion refused", async () => {
  const portico = new Portico({ baseUrl });
  const { challengeId, options } = await portico.beginPasskeySignIn();
  const publicKey = options.publicKey as { challenge: string; allowCredentials: unknown[] };
  assert.match(publicKey.challenge, /^[A-Za-z0-9_-]{20,}$/);
  assert.deepEqual(publicKey.allowCredentials, []);
  const forged = {
    id: "AAAA",
    rawId: "AAAA",
    type: "public-key",
    response: { clientDataJSON: "e30", authenticatorData: "AAAA", signature: "AAAA", userHandle: "AAAA" },
    clientExtensionResults: {},
  };
  await assert.rejects(portico.finishPasskeySignIn(challengeId, forged), (e: unknown) => {
    return e instanceof PorticoProblem && e.kind === "invalid-credentials";
  });
  assert.equal(await portico.signedIn(), false);
});
