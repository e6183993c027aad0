//! A software WebAuthn authenticator for the passkey tests: ES256 (P-256)
//! keys, "none" attestation, CBOR by `ciborium`, signatures by `p256`. It
//! answers options as a browser's `PublicKeyCredential.toJSON()` does, and
//! can be told to lie (another origin, another RP ID, a bad signature, a
//! counter that goes back) so the server's checks are tried for real.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ciborium::Value as Cbor;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{DerSignature, SigningKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// One credential on a software authenticator.
pub(crate) struct SoftAuthenticator {
    key: SigningKey,
    credential_id: Vec<u8>,
    user_handle: Vec<u8>,
    /// The signature counter the next assertion carries (then +1).
    pub(crate) counter: u32,
    /// The RP ID whose hash goes into the authenticator data.
    pub(crate) rp_id: String,
    /// The origin the "browser" writes into the client data.
    pub(crate) origin: String,
    /// Whether the user is verified (PIN, biometrics).
    pub(crate) user_verified: bool,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(text: &Value) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(text.as_str().expect("a base64url string"))
        .expect("base64url")
}

fn cbor(value: &Cbor) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out).expect("CBOR");
    out
}

impl SoftAuthenticator {
    /// A fresh authenticator for `rp_id`, used from `origin`.
    pub(crate) fn new(rp_id: &str, origin: &str) -> Self {
        let mut seed = [0u8; 32];
        seed[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        seed[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        Self {
            key: SigningKey::from_slice(&seed).expect("a P-256 key"),
            credential_id: uuid::Uuid::new_v4().as_bytes().to_vec(),
            user_handle: Vec::new(),
            counter: 1,
            rp_id: rp_id.to_owned(),
            origin: origin.to_owned(),
            user_verified: true,
        }
    }

    /// The credential id, base64url.
    pub(crate) fn credential_id(&self) -> String {
        b64(&self.credential_id)
    }

    fn flags(&self, attested: bool) -> u8 {
        let mut flags = 0x01; // user present
        if self.user_verified {
            flags |= 0x04;
        }
        if attested {
            flags |= 0x40;
        }
        flags
    }

    fn client_data(&self, kind: &str, options: &Value) -> Vec<u8> {
        json!({
            "type": kind,
            "challenge": options["publicKey"]["challenge"],
            "origin": self.origin,
            "crossOrigin": false,
        })
        .to_string()
        .into_bytes()
    }

    /// Answers `navigator.credentials.create()` options: a new credential
    /// with "none" attestation.
    pub(crate) fn register(&mut self, options: &Value) -> Value {
        self.user_handle = unb64(&options["publicKey"]["user"]["id"]);
        let point = self.key.verifying_key().to_encoded_point(false);
        let cose = Cbor::Map(vec![
            (Cbor::from(1), Cbor::from(2)),  // kty: EC2
            (Cbor::from(3), Cbor::from(-7)), // alg: ES256
            (Cbor::from(-1), Cbor::from(1)), // crv: P-256
            (Cbor::from(-2), Cbor::Bytes(point.x().expect("x").to_vec())),
            (Cbor::from(-3), Cbor::Bytes(point.y().expect("y").to_vec())),
        ]);
        let mut auth_data = Sha256::digest(self.rp_id.as_bytes()).to_vec();
        auth_data.push(self.flags(true));
        auth_data.extend(0u32.to_be_bytes());
        auth_data.extend([0u8; 16]); // AAGUID
        auth_data.extend(
            u16::try_from(self.credential_id.len())
                .unwrap()
                .to_be_bytes(),
        );
        auth_data.extend(&self.credential_id);
        auth_data.extend(cbor(&cose));
        let attestation = Cbor::Map(vec![
            (Cbor::from("fmt"), Cbor::from("none")),
            (Cbor::from("attStmt"), Cbor::Map(Vec::new())),
            (Cbor::from("authData"), Cbor::Bytes(auth_data)),
        ]);
        json!({
            "id": self.credential_id(),
            "rawId": self.credential_id(),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "response": {
                "clientDataJSON": b64(&self.client_data("webauthn.create", options)),
                "attestationObject": b64(&cbor(&attestation)),
                "transports": ["internal"],
            },
            "clientExtensionResults": {},
        })
    }

    /// Answers `navigator.credentials.get()` options with this credential
    /// (a discoverable one: the user handle is in the answer); the counter
    /// goes up by one after.
    pub(crate) fn assert(&mut self, options: &Value) -> Value {
        let answer = self.assert_with(options, false);
        self.counter += 1;
        answer
    }

    /// An assertion whose signature is over other data.
    pub(crate) fn assert_badly_signed(&mut self, options: &Value) -> Value {
        self.assert_with(options, true)
    }

    fn assert_with(&self, options: &Value, tamper: bool) -> Value {
        let client_data = self.client_data("webauthn.get", options);
        let mut auth_data = Sha256::digest(self.rp_id.as_bytes()).to_vec();
        auth_data.push(self.flags(false));
        auth_data.extend(self.counter.to_be_bytes());
        let mut signed = auth_data.clone();
        signed.extend(Sha256::digest(&client_data));
        if tamper {
            signed[0] ^= 1;
        }
        let signature: DerSignature = self.key.sign(&signed);
        json!({
            "id": self.credential_id(),
            "rawId": self.credential_id(),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "response": {
                "clientDataJSON": b64(&client_data),
                "authenticatorData": b64(&auth_data),
                "signature": b64(signature.as_bytes()),
                "userHandle": b64(&self.user_handle),
            },
            "clientExtensionResults": {},
        })
    }
}
