//! Portico's WebAuthn ceremonies: [`domain::PasskeyCeremony`] by
//! [webauthn-rs](https://docs.rs/webauthn-rs) for one relying party (an RP
//! ID and the origins allowed to use it).
//!
//! Registration asks for user verification and prefers a discoverable
//! (resident) credential, so a passkey signs in without a username; the
//! ceremony state is JSON the domain keeps in its stores until the answer
//! comes. Sign-in offers every discoverable credential (an empty
//! `allowCredentials`), then checks the assertion's origin, RP ID hash,
//! challenge, flags, signature and counter against the stored credential.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use domain::{
    Assertion, CeremonyError, CeremonyStart, CredentialId, NewCredential, PasskeyCeremony,
    PasskeyHolder, UserId,
};
use serde_json::Value;
use webauthn_rs::prelude::*;

/// Why the relying party could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum RelyingPartyError {
    /// No origin was given.
    #[error("at least one origin is needed")]
    NoOrigin,
    /// An origin is not a URL.
    #[error("origin {0:?} is not a URL")]
    Origin(String),
    /// webauthn-rs refused the RP ID or an origin (the RP ID must be the
    /// origins' host or a registrable suffix of it).
    #[error("relying party refused: {0}")]
    Refused(String),
}

/// The ceremonies of one relying party.
pub struct WebAuthnCeremony {
    webauthn: Webauthn,
}

impl std::fmt::Debug for WebAuthnCeremony {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebAuthnCeremony").finish_non_exhaustive()
    }
}

impl WebAuthnCeremony {
    /// The relying party `rp_id` (a host name, `localhost` for local work)
    /// named `rp_name`, used from `origins` (`https://app.example.com`;
    /// `http://localhost:…` is allowed by browsers too).
    pub fn new(rp_id: &str, rp_name: &str, origins: &[String]) -> Result<Self, RelyingPartyError> {
        let mut parsed = origins
            .iter()
            .map(|o| Url::parse(o).map_err(|_| RelyingPartyError::Origin(o.clone())));
        let first = parsed.next().ok_or(RelyingPartyError::NoOrigin)??;
        let mut builder = WebauthnBuilder::new(rp_id, &first)
            .map_err(|e| RelyingPartyError::Refused(e.to_string()))?
            .rp_name(rp_name);
        for origin in parsed {
            builder = builder.append_allowed_origin(&origin?);
        }
        let webauthn = builder
            .build()
            .map_err(|e| RelyingPartyError::Refused(e.to_string()))?;
        Ok(Self { webauthn })
    }
}

fn internal(e: impl std::fmt::Display) -> CeremonyError {
    CeremonyError::Internal(e.to_string())
}

fn malformed(e: impl std::fmt::Display) -> CeremonyError {
    CeremonyError::Malformed(e.to_string())
}

fn rejected(e: WebauthnError) -> CeremonyError {
    CeremonyError::Rejected(e.to_string())
}

fn credential_id(bytes: &[u8]) -> Result<CredentialId, CeremonyError> {
    CredentialId::parse(&URL_SAFE_NO_PAD.encode(bytes)).map_err(malformed)
}

/// The counter inside a serialized passkey (webauthn-rs keeps it private
/// unless asked for its "danger" internals).
fn stored_counter(passkey: &Value) -> u32 {
    passkey["cred"]["counter"]
        .as_u64()
        .and_then(|c| u32::try_from(c).ok())
        .unwrap_or(0)
}

impl PasskeyCeremony for WebAuthnCeremony {
    fn start_registration(
        &self,
        holder: &PasskeyHolder,
        exclude: &[CredentialId],
    ) -> Result<CeremonyStart, CeremonyError> {
        let exclude = exclude
            .iter()
            .map(|id| {
                URL_SAFE_NO_PAD
                    .decode(id.as_str())
                    .map(CredentialID::from)
                    .map_err(internal)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let (options, state) = self
            .webauthn
            .start_passkey_registration(
                holder.id.as_uuid(),
                &holder.name,
                &holder.display_name,
                Some(exclude),
            )
            .map_err(internal)?;
        let mut options = serde_json::to_value(options).map_err(internal)?;
        // A discoverable credential signs in without a username: preferred,
        // not required, so security keys without resident slots still work.
        if let Some(selection) = options["publicKey"]["authenticatorSelection"].as_object_mut() {
            selection.insert("residentKey".into(), "preferred".into());
            selection.insert("requireResidentKey".into(), false.into());
        }
        Ok(CeremonyStart {
            options,
            state: serde_json::to_string(&state).map_err(internal)?,
        })
    }

    fn finish_registration(
        &self,
        response: &Value,
        state: &str,
    ) -> Result<NewCredential, CeremonyError> {
        let response: RegisterPublicKeyCredential =
            serde_json::from_value(response.clone()).map_err(malformed)?;
        let state: PasskeyRegistration = serde_json::from_str(state).map_err(internal)?;
        let passkey = self
            .webauthn
            .finish_passkey_registration(&response, &state)
            .map_err(rejected)?;
        let credential = serde_json::to_value(&passkey).map_err(internal)?;
        Ok(NewCredential {
            credential_id: credential_id(passkey.cred_id().as_ref())?,
            counter: stored_counter(&credential),
            credential: credential.to_string(),
        })
    }

    fn start_sign_in(&self) -> Result<CeremonyStart, CeremonyError> {
        let (options, state) = self
            .webauthn
            .start_discoverable_authentication()
            .map_err(internal)?;
        let mut options = serde_json::to_value(options).map_err(internal)?;
        // webauthn-rs marks these for conditional UI (autofill); Portico's
        // pages and clients call `get()` from a button, which a `mediation`
        // of `conditional` would turn into a silent autofill request.
        if let Some(options) = options.as_object_mut() {
            options.remove("mediation");
        }
        Ok(CeremonyStart {
            options,
            state: serde_json::to_string(&state).map_err(internal)?,
        })
    }

    fn identify(&self, response: &Value) -> Result<(UserId, CredentialId), CeremonyError> {
        let response: PublicKeyCredential =
            serde_json::from_value(response.clone()).map_err(malformed)?;
        let (user, credential) = self
            .webauthn
            .identify_discoverable_authentication(&response)
            .map_err(rejected)?;
        Ok((UserId::from_uuid(user), credential_id(credential)?))
    }

    fn finish_sign_in(
        &self,
        response: &Value,
        state: &str,
        credential: &str,
    ) -> Result<Assertion, CeremonyError> {
        let response: PublicKeyCredential =
            serde_json::from_value(response.clone()).map_err(malformed)?;
        let state: DiscoverableAuthentication = serde_json::from_str(state).map_err(internal)?;
        let mut passkey: Passkey = serde_json::from_str(credential).map_err(internal)?;
        let result = self
            .webauthn
            .finish_discoverable_authentication(&response, state, &[(&passkey).into()])
            .map_err(rejected)?;
        passkey.update_credential(&result);
        Ok(Assertion {
            counter: result.counter(),
            user_verified: result.user_verified(),
            credential: serde_json::to_string(&passkey).map_err(internal)?,
        })
    }
}
