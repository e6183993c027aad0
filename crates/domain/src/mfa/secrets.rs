//! The TOTP secrets sealed at rest: counting what a key sealed, and sealing
//! anew under the current key.

use super::service::{MultiFactor, ResealReport, context};
use crate::*;

impl MultiFactor {
    /// Seals every stored TOTP secret that is not under the current key
    /// anew, one compare-and-set per factor (a factor changed meanwhile is
    /// left to the next run). `progress` hears about each page.
    pub async fn reseal_all(
        &self,
        mut progress: impl FnMut(ResealReport),
    ) -> Result<ResealReport, StoreError> {
        let sealer = &self.system.sealer;
        let mut report = ResealReport::default();
        let mut after = None;
        loop {
            let page = self.stores.mfa.list_after(after, 200).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.user_id);
            for factor in &page {
                report.seen += 1;
                if sealer.is_current(&factor.secret) {
                    continue;
                }
                let ctx = context(factor.user_id);
                let plain = sealer.open(&ctx, &factor.secret)?;
                let new: Sealed = sealer.seal(&ctx, &plain)?;
                if self
                    .stores
                    .mfa
                    .reseal(factor.user_id, factor.id, &factor.secret, &new)
                    .await?
                {
                    report.resealed += 1;
                }
            }
            progress(report);
        }
        Ok(report)
    }
}

impl MultiFactor {
    /// How many stored TOTP secrets are sealed under the key `key_id`
    /// (a key may be retired only when none is).
    pub async fn count_sealed_under(&self, key_id: &str) -> Result<u64, StoreError> {
        let mut count = 0;
        let mut after = None;
        loop {
            let page = self.stores.mfa.list_after(after, 200).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.user_id);
            count += page.iter().filter(|f| f.secret.key_id() == key_id).count() as u64;
        }
        Ok(count)
    }
}
