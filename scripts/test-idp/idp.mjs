// The OpenID Connect provider of Portico's HTTP tests, on loopback:
//
//   http://127.0.0.1:$IDP_PORT      (default 9400) an honest provider:
//                                   discovery, JWKS, auto-consenting
//                                   authorize, token (PKCE checked, the
//                                   authorize request's nonce in the ID
//                                   token) and userinfo, by oauth2-mock-server.
//   http://127.0.0.1:$IDP_PORT+1    the same, except that the JWKS its
//                                   discovery names holds another key than
//                                   the one its ID tokens are signed with.
//
// A test chooses who signs in and how the ID token misbehaves through the
// client id it configures: `<mode>~<subject>~<email>`, mode one of
//   ok           a verified email
//   unverified   email_verified false
//   wrong-nonce  the ID token carries another nonce than the request's
//   wrong-aud    the ID token is for another client
//   expired      the ID token expired ten minutes ago
// so that tests running at once never depend on shared state.
import http from 'node:http';
import { OAuth2Issuer, OAuth2Server, OAuth2Service } from 'oauth2-mock-server';
import { exportJWK, generateKeyPair } from 'jose';

const port = Number(process.env.IDP_PORT ?? 9400);

function clientOf(req) {
  const auth = req.headers.authorization ?? '';
  if (auth.startsWith('Basic ')) {
    const decoded = Buffer.from(auth.slice(6), 'base64').toString();
    return decodeURIComponent(decoded.split(':')[0]);
  }
  return req.body?.client_id ?? '';
}

function scenario(clientId) {
  const [mode, subject, email] = clientId.split('~');
  return { mode: mode || 'ok', subject: subject || 'johndoe', email: email || 'johndoe@idp.test' };
}

function behave(service) {
  service.on('beforeTokenSigning', (token, req) => {
    const s = scenario(clientOf(req));
    token.payload.sub = s.subject;
    if (token.payload.aud === undefined) return; // the access token
    Object.assign(token.payload, {
      email: s.email,
      email_verified: s.mode !== 'unverified',
      name: `Test ${s.subject}`,
      preferred_username: s.subject,
    });
    const now = Math.floor(Date.now() / 1000);
    if (s.mode === 'wrong-nonce') token.payload.nonce = 'not-the-nonce-of-this-flow';
    if (s.mode === 'wrong-aud') token.payload.aud = 'another-client';
    if (s.mode === 'expired') Object.assign(token.payload, { iat: now - 4200, nbf: now - 4200, exp: now - 600 });
  });
  service.on('beforeUserinfo', (response, req) => {
    const bearer = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    let sub = 'johndoe';
    try {
      sub = JSON.parse(Buffer.from(bearer.split('.')[1], 'base64url').toString()).sub ?? sub;
    } catch {
      // Not one of ours: the default subject.
    }
    response.body = { sub, id: sub, email: `${sub}@idp.test`, email_verified: true, name: `Test ${sub}` };
  });
}

const honest = new OAuth2Server();
honest.issuer.url = `http://127.0.0.1:${port}`;
await honest.issuer.keys.generate('RS256');
behave(honest.service);
await honest.start(port, '127.0.0.1');

// The rogue provider: signs with one key, publishes another under its kid.
const issuer = new OAuth2Issuer();
const signing = await issuer.keys.generate('RS256');
issuer.url = `http://127.0.0.1:${port + 1}`;
const rogue = new OAuth2Service(issuer);
behave(rogue);
const { publicKey } = await generateKeyPair('RS256', { extractable: true });
const decoy = { ...(await exportJWK(publicKey)), kid: signing.kid, alg: 'RS256', use: 'sig' };
http
  .createServer((req, res) => {
    if (req.url === '/jwks') {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ keys: [decoy] }));
      return;
    }
    rogue.requestHandler(req, res);
  })
  .listen(port + 1, '127.0.0.1');

console.log(`test identity providers on http://127.0.0.1:${port} and http://127.0.0.1:${port + 1} (rogue keys)`);
