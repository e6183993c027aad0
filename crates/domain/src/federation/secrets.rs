//! The provider tokens sealed at rest: counting what a key sealed, and
//! sealing anew under the current key.

use super::service::Federation;
use super::settle::context;
use crate::*;

impl Federation {
    /// How many stored provider tokens are sealed under the key `key_id`
    /// (a key may be retired only when none is).
    pub async fn count_sealed_under(&self, key_id: &str) -> Result<u64, StoreError> {
        let mut count = 0;
        let mut after = None;
        loop {
            let page = self
                .stores
                .identity_links
                .list_after(after.clone(), 100)
                .await?;
            let Some(last) = page.last() else { break };
            after = Some((last.user_id, last.provider.clone()));
            count += page
                .iter()
                .filter(|l| l.tokens.as_ref().is_some_and(|t| t.key_id() == key_id))
                .count() as u64;
        }
        Ok(count)
    }

    /// Seals every stored provider token that is not under the current key
    /// anew, one compare-and-set per link. `progress` hears about each page.
    pub async fn reseal_all(
        &self,
        mut progress: impl FnMut(crate::ResealReport),
    ) -> Result<crate::ResealReport, StoreError> {
        let mut report = crate::ResealReport::default();
        let mut after = None;
        loop {
            let page = self
                .stores
                .identity_links
                .list_after(after.clone(), 100)
                .await?;
            let Some(last) = page.last() else { break };
            after = Some((last.user_id, last.provider.clone()));
            for link in &page {
                report.seen += 1;
                let Some(old) = &link.tokens else { continue };
                if self.system.sealer.is_current(old) {
                    continue;
                }
                let ctx = context(link.user_id, &link.provider);
                let plain = self.system.sealer.open(&ctx, old)?;
                let new = self.system.sealer.seal(&ctx, &plain)?;
                if self
                    .stores
                    .identity_links
                    .reseal(link.user_id, &link.provider, old, &new)
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
