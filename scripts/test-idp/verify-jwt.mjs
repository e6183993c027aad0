// An independent check of Portico's access JWTs, with the `jose` library
// (panva/jose), as another service would make it: fetch the JWK Set from
// its URL, verify the signature (EdDSA only), the issuer and the times, and
// print the claims as JSON. Exit 1 with the reason when it is refused.
//
//   node verify-jwt.mjs <jwks url> <issuer> <token>
import { createRemoteJWKSet, jwtVerify } from "jose";

const [jwksUrl, issuer, token] = process.argv.slice(2);
const keys = createRemoteJWKSet(new URL(jwksUrl));
try {
  const { payload, protectedHeader } = await jwtVerify(token, keys, {
    issuer,
    algorithms: ["EdDSA"],
  });
  console.log(JSON.stringify({ header: protectedHeader, payload }));
} catch (e) {
  console.error(`refused: ${e.code ?? ""} ${e.message}`);
  process.exit(1);
}
