// An independent check of Portico's webhook signatures, with the
// `standardwebhooks` library (the Standard Webhooks reference
// implementation), as a receiver would make it: verify `webhook-signature`
// over the id, timestamp and body with the endpoint's `whsec_` secret, and
// the timestamp's freshness. Prints the payload as JSON; exits 1 with the
// reason when it is refused.
//
//   node verify-webhook.mjs <secret> <webhook-id> <webhook-timestamp> <webhook-signature> < body
import { Webhook } from "standardwebhooks";
import { readFileSync } from "node:fs";

const [secret, id, timestamp, signature] = process.argv.slice(2);
const body = readFileSync(0, "utf8");
try {
  const payload = new Webhook(secret).verify(body, {
    "webhook-id": id,
    "webhook-timestamp": timestamp,
    "webhook-signature": signature,
  });
  console.log(JSON.stringify(payload));
} catch (e) {
  console.error(`refused: ${e.message}`);
  process.exit(1);
}
