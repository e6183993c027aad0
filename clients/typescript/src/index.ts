// A thin layer over the generated client: a session store, sign-in with
// its second step narrowed, automatic refresh with rotation (one refresh in
// flight at a time), and RFC 9457 problems as typed errors. Every call of
// the API itself stays the generated, typed `openapi-fetch` client
// (`portico.api`), which this layer authenticates.
import createClient, { type Client } from "openapi-fetch";

import type { components, paths } from "./schema.js";

export type { components, paths } from "./schema.js";

/** A session's tokens, as the client keeps them. */
export interface Tokens {
  /** Sent as `Authorization: Bearer …`. */
  accessToken: string;
  /** Single use: traded for a new pair by {@link Portico.refresh}. */
  refreshToken: string;
  /** When the access token stops working unless used (ISO 8601). */
  expiresAt: string;
}

/**
 * Where the client keeps the session's tokens. `get` and `set` may be
 * synchronous or not; `set(null)` forgets the session.
 */
export interface SessionStore {
  get(): Tokens | null | Promise<Tokens | null>;
  set(tokens: Tokens | null): void | Promise<void>;
}

/** Keeps the tokens in memory: gone when the process or page goes. */
export class MemoryStore implements SessionStore {
  #tokens: Tokens | null = null;
  get(): Tokens | null {
    return this.#tokens;
  }
  set(tokens: Tokens | null): void {
    this.#tokens = tokens;
  }
}

/** The part of the Web Storage API a {@link WebStorageStore} uses. */
export interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/**
 * Keeps the tokens in `localStorage` (or `sessionStorage`, or anything
 * with the same three methods) under `key`. Anything on the page can read
 * it: prefer the memory store with the cookie session where that matters.
 */
export class WebStorageStore implements SessionStore {
  readonly #storage: KeyValueStorage;
  readonly #key: string;
  constructor(storage: KeyValueStorage, key = "portico.session") {
    this.#storage = storage;
    this.#key = key;
  }
  get(): Tokens | null {
    const text = this.#storage.getItem(this.#key);
    if (text === null) {
      return null;
    }
    try {
      const t = JSON.parse(text) as Partial<Tokens>;
      return typeof t.accessToken === "string" &&
        typeof t.refreshToken === "string" &&
        typeof t.expiresAt === "string"
        ? { accessToken: t.accessToken, refreshToken: t.refreshToken, expiresAt: t.expiresAt }
        : null;
    } catch {
      return null;
    }
  }
  set(tokens: Tokens | null): void {
    if (tokens === null) {
      this.#storage.removeItem(this.#key);
    } else {
      this.#storage.setItem(this.#key, JSON.stringify(tokens));
    }
  }
}

/** The body of an RFC 9457 problem, as the server documents it. */
export type ProblemBody = components["schemas"]["ProblemBody"];

const KIND_PREFIX = "urn:portico:problem:";

/**
 * An answer of the server that is an error: an RFC 9457 problem
 * (`application/problem+json`). `kind` is the stable part of its `type`
 * (`invalid-credentials`, `email-not-verified`, `validation`,
 * `rate-limited`, …); `errors` holds the messages per field of a
 * `validation` problem.
 */
export class PorticoProblem extends Error {
  /** The HTTP status. */
  readonly status: number;
  /** The problem's type URI, `urn:portico:problem:<kind>`. */
  readonly type: string;
  /** The kind: the type without its prefix. */
  readonly kind: string;
  /** The kind in words. */
  readonly title: string;
  /** What happened in this case, when the server says. */
  readonly detail: string | null;
  /** Messages per field (validation problems). */
  readonly errors: Readonly<Record<string, readonly string[]>>;
  /** Seconds to wait before trying again (429, 503, 423), when sent. */
  readonly retryAfter: number | null;
  /** The request's id: quote it when reporting a problem. */
  readonly requestId: string | null;

  constructor(status: number, body: Partial<ProblemBody>, headers?: Headers) {
    const type = typeof body.type === "string" ? body.type : "about:blank";
    const title = typeof body.title === "string" ? body.title : `HTTP ${status}`;
    const detail = typeof body.detail === "string" ? body.detail : null;
    super(detail === null ? title : `${title}: ${detail}`);
    this.name = "PorticoProblem";
    this.status = status;
    this.type = type;
    this.kind = type.startsWith(KIND_PREFIX) ? type.slice(KIND_PREFIX.length) : type;
    this.title = title;
    this.detail = detail;
    this.errors = (body.errors ?? {}) as Record<string, string[]>;
    const retry = headers?.get("retry-after");
    this.retryAfter = retry != null && /^\d+$/.test(retry) ? Number(retry) : null;
    this.requestId = headers?.get("x-request-id") ?? null;
  }

  /**
   * The problem of a failed call: `error` as the generated client parsed
   * it from `response` (anything that is not a problem, such as a proxy's
   * page, keeps only the status).
   */
  static of(error: unknown, response: Response): PorticoProblem {
    const body = typeof error === "object" && error !== null ? (error as Partial<ProblemBody>) : {};
    return new PorticoProblem(response.status, body, response.headers);
  }
}

/** What a sign-in led to: a session, or the second step it needs. */
export type SignInResult =
  | { status: "signed-in"; tokens: Tokens }
  | {
      status: "mfa-required";
      /** Give it to {@link Portico.finishSignIn} with a code. */
      mfaToken: string;
      /** The kinds of code accepted: `totp`, `backup_code`. */
      methods: string[];
      /** When the `mfaToken` stops working. */
      expiresAt: string;
    };

/** A code for the second step: from the authenticator app, or a backup code. */
export type SecondFactor = { code: string } | { backupCode: string };

/** How to build a {@link Portico}. */
export interface PorticoOptions {
  /** The server, `https://api.example` (no trailing `/v1`). */
  baseUrl: string;
  /** Where the tokens live; a {@link MemoryStore} by default. */
  store?: SessionStore;
  /** The fetch to use (tests, custom agents); `globalThis.fetch` by default. */
  fetch?: (request: Request) => Promise<Response>;
  /**
   * Refresh this many seconds before the access token expires, instead of
   * waiting for a 401 (default 30). A 401 still refreshes once and retries.
   */
  refreshAheadSeconds?: number;
}

/** Operations the layer never adds a token to (sign-in and its relatives). */
const PUBLIC_AUTH = new Set([
  "/v1/sessions",
  "/v1/sessions/mfa",
  "/v1/sessions/refresh",
  "/v1/oauth/exchange",
]);

function tokensOf(view: components["schemas"]["TokensView"]): Tokens {
  return {
    accessToken: view.access_token,
    refreshToken: view.refresh_token,
    expiresAt: view.expires_at,
  };
}

/**
 * Portico's client: `api` is the generated, typed client, authenticated
 * from the store; the methods here are the sign-in flow around it.
 *
 * ```ts
 * const portico = new Portico({ baseUrl: "http://127.0.0.1:8080" });
 * const result = await portico.signIn("ann", "correct horse battery");
 * if (result.status === "mfa-required") {
 *   await portico.finishSignIn(result.mfaToken, { code: "123456" });
 * }
 * const { data } = await portico.api.GET("/v1/me");
 * ```
 */
export class Portico {
  /** The typed client of every operation; requests carry the session. */
  readonly api: Client<paths>;
  /** Where the tokens live. */
  readonly store: SessionStore;
  readonly #fetch: (request: Request) => Promise<Response>;
  readonly #aheadMs: number;
  readonly #baseUrl: string;
  #refreshing: Promise<Tokens> | null = null;

  constructor(options: PorticoOptions) {
    this.#baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.store = options.store ?? new MemoryStore();
    this.#fetch = options.fetch ?? ((request) => globalThis.fetch(request));
    this.#aheadMs = (options.refreshAheadSeconds ?? 30) * 1000;
    this.api = createClient<paths>({
      baseUrl: this.#baseUrl,
      fetch: (request) => this.#authed(request),
    });
  }

  /**
   * Signs in with a username or address and a password. A session is
   * kept in the store; an account with a second factor answers
   * `mfa-required` (nothing is stored yet): finish with
   * {@link Portico.finishSignIn}. Errors are {@link PorticoProblem}s:
   * `invalid-credentials`, `email-not-verified`, `locked-out`, …
   */
  async signIn(login: string, password: string): Promise<SignInResult> {
    const { data, error, response } = await this.api.POST("/v1/sessions", {
      body: { login, password },
    });
    if (data === undefined) {
      throw PorticoProblem.of(error, response);
    }
    return this.sessionOrChallenge(data);
  }

  /**
   * Asks for a sign-in mail (a link and a 6-digit code) to `email`; the
   * answer is the flow id to send back with the code, the same whether or
   * not the address has an account. `redirectUri` (on the server's
   * allowlist) is where Portico's own sign-in page continues.
   */
  async requestEmailSignIn(email: string, redirectUri?: string): Promise<string> {
    const { data, error, response } = await this.api.POST("/v1/sessions/email", {
      body: redirectUri === undefined ? { email } : { email, redirect_uri: redirectUri },
    });
    if (data === undefined) {
      throw PorticoProblem.of(error, response);
    }
    return data.flow_id;
  }

  /**
   * Finishes a sign-in by email with the mailed code and the flow id, or
   * with the mailed link's token; answers as {@link Portico.signIn} does
   * (an account with a second factor still gets `mfa-required`). A wrong,
   * used or expired code is an `invalid-token` problem.
   */
  async verifyEmailSignIn(
    proof: { flowId: string; code: string } | { token: string },
  ): Promise<SignInResult> {
    const body = "token" in proof ? { token: proof.token } : { flow_id: proof.flowId, code: proof.code };
    const { data, error, response } = await this.api.POST("/v1/sessions/email/verify", { body });
    if (data === undefined) {
      throw PorticoProblem.of(error, response);
    }
    return this.sessionOrChallenge(data);
  }

  /**
   * Begins a sign-in with a passkey: the challenge's id and the
   * `PublicKeyCredentialRequestOptions` JSON (the same for everyone; no
   * login needed). In a browser:
   * `navigator.credentials.get({ publicKey:
   * PublicKeyCredential.parseRequestOptionsFromJSON(options.publicKey) })`,
   * then {@link Portico.finishPasskeySignIn} with its `toJSON()`.
   */
  async beginPasskeySignIn(): Promise<{ challengeId: string; options: Record<string, unknown> }> {
    const { data, error, response } = await this.api.POST("/v1/passkeys/authentication", {
      body: {},
    });
    if (data === undefined) {
      throw PorticoProblem.of(error, response);
    }
    return { challengeId: data.challenge_id, options: data.options as Record<string, unknown> };
  }

  /**
   * Finishes a passkey sign-in with the assertion's `toJSON()`; answers
   * as {@link Portico.signIn} does. An assertion that does not verify
   * (another origin, a used challenge, a cloned authenticator) is an
   * `invalid-credentials` problem.
   */
  async finishPasskeySignIn(challengeId: string, credential: unknown): Promise<SignInResult> {
    const { data, error, response } = await this.api.POST("/v1/sessions/passkey", {
      body: { challenge_id: challengeId, credential: credential as Record<string, never> },
    });
    if (data === undefined) {
      throw PorticoProblem.of(error, response);
    }
    return this.sessionOrChallenge(data);
  }

  /** A sign-in's answer: the session kept in the store, or the challenge. */
  private async sessionOrChallenge(
    data:
      | components["schemas"]["TokensView"]
      | components["schemas"]["MfaRequiredView"],
  ): Promise<SignInResult> {
    if ("mfa_required" in data) {
      return {
        status: "mfa-required",
        mfaToken: data.mfa_token,
        methods: data.methods,
        expiresAt: data.expires_at,
      };
    }
    const tokens = tokensOf(data);
    await this.store.set(tokens);
    return { status: "signed-in", tokens };
  }

  /** The second step of a sign-in: the `mfaToken` and a code. */
  async finishSignIn(mfaToken: string, factor: SecondFactor): Promise<Tokens> {
    const body =
      "code" in factor
        ? { mfa_token: mfaToken, code: factor.code }
        : { mfa_token: mfaToken, backup_code: factor.backupCode };
    const { data, error, response } = await this.api.POST("/v1/sessions/mfa", { body });
    if (data === undefined) {
      throw PorticoProblem.of(error, response);
    }
    const tokens = tokensOf(data);
    await this.store.set(tokens);
    return tokens;
  }

  /**
   * Trades the refresh token for a new pair (each works once). Calls made
   * while one is under way share it, so a token is never presented twice
   * (which the server would take for theft, ending the session). When the
   * server refuses, the session is forgotten and the problem thrown.
   */
  refresh(): Promise<Tokens> {
    this.#refreshing ??= this.#refresh().finally(() => {
      this.#refreshing = null;
    });
    return this.#refreshing;
  }

  async #refresh(): Promise<Tokens> {
    const current = await this.store.get();
    if (current === null) {
      throw new PorticoProblem(401, {
        type: `${KIND_PREFIX}unauthenticated`,
        title: "Authentication required",
        detail: "No session: sign in first.",
      });
    }
    const { data, error, response } = await this.api.POST("/v1/sessions/refresh", {
      body: { refresh_token: current.refreshToken },
    });
    if (data === undefined) {
      const problem = PorticoProblem.of(error, response);
      if (problem.status < 500 && problem.status !== 429) {
        await this.store.set(null);
      }
      throw problem;
    }
    const tokens = tokensOf(data);
    await this.store.set(tokens);
    return tokens;
  }

  /** Signs out on the server (this session) and forgets the tokens. */
  async signOut(): Promise<void> {
    const current = await this.store.get();
    if (current !== null) {
      const { error, response } = await this.api.DELETE("/v1/sessions/current");
      await this.store.set(null);
      if (!response.ok && response.status !== 401) {
        throw PorticoProblem.of(error, response);
      }
    }
  }

  /** Whether a session is kept (it may still have been revoked). */
  async signedIn(): Promise<boolean> {
    return (await this.store.get()) !== null;
  }

  /** Sends `request` with the session's token, refreshing when due or refused. */
  async #authed(request: Request): Promise<Response> {
    const path = new URL(request.url).pathname;
    if (request.headers.has("authorization") || PUBLIC_AUTH.has(path)) {
      return this.#fetch(request);
    }
    let tokens = await this.store.get();
    if (tokens === null) {
      return this.#fetch(request);
    }
    if (Date.parse(tokens.expiresAt) - Date.now() < this.#aheadMs) {
      tokens = await this.refresh().catch(() => tokens);
    }
    const retry = request.clone();
    const first = await this.#fetch(withBearer(request, tokens!.accessToken));
    if (first.status !== 401) {
      return first;
    }
    // Refused: the access token expired or was revoked. If another call
    // refreshed meanwhile, retry with its token; else one refresh (shared
    // with any other call that got here) and one retry.
    const stored = await this.store.get();
    let fresh: Tokens;
    if (stored !== null && stored.accessToken !== tokens!.accessToken) {
      fresh = stored;
    } else {
      try {
        fresh = await this.refresh();
      } catch {
        return first;
      }
    }
    return this.#fetch(withBearer(retry, fresh.accessToken));
  }
}

function withBearer(request: Request, token: string): Request {
  const headers = new Headers(request.headers);
  headers.set("authorization", `Bearer ${token}`);
  return new Request(request, { headers });
}
