//! `IdentityLinkRepository` and `OAuthFlowRepository`. Uniqueness is the
//! tables' keys ((user, provider) and (provider, subject)); taking a flow is
//! one `DELETE … RETURNING`; an unlink that must keep a link starts its
//! transaction by writing every link row of the user, which serialises
//! such unlinks per user on both engines.

use crate::engine::{DbTime, col, col_time, col_time_opt};
use crate::error::corrupt;

use super::{Db, Store, Ts};

const LINK: &str = "SELECT user_id, provider, subject, email, tokens, tokens_expire_at, created_at \
                    FROM identity_links";

type Row = <Db as sqlx::Database>::Row;

impl Store {
    fn link_row(row: &Row) -> Result<domain::IdentityLink, domain::StoreError> {
        Ok(domain::IdentityLink {
            user_id: domain::UserId::from_uuid(col(row, "user_id")?),
            provider: domain::ProviderName::parse(&col::<String, _>(row, "provider")?)
                .map_err(|_| corrupt("provider name"))?,
            subject: col(row, "subject")?,
            email: col::<Option<String>, _>(row, "email")?
                .map(|e| domain::Email::from_stored(&e).map_err(|_| corrupt("email")))
                .transpose()?,
            tokens: col::<Option<String>, _>(row, "tokens")?.map(domain::Sealed::from_stored),
            tokens_expire_at: col_time_opt::<Ts, _>(row, "tokens_expire_at")?,
            created_at: col_time::<Ts, _>(row, "created_at")?,
        })
    }

    fn flow_row(row: &Row) -> Result<domain::OAuthFlow, domain::StoreError> {
        Ok(domain::OAuthFlow {
            state_hash: domain::TokenHash::from_stored(col::<String, _>(row, "state_hash")?),
            provider: domain::ProviderName::parse(&col::<String, _>(row, "provider")?)
                .map_err(|_| corrupt("provider name"))?,
            pkce_verifier: col(row, "pkce_verifier")?,
            nonce: col(row, "nonce")?,
            redirect_uri: col(row, "redirect_uri")?,
            linking_user: col::<Option<uuid::Uuid>, _>(row, "linking_user")?
                .map(domain::UserId::from_uuid),
            created_at: col_time::<Ts, _>(row, "created_at")?,
            expires_at: col_time::<Ts, _>(row, "expires_at")?,
        })
    }

    /// The unlink that keeps a user's last link, in one transaction.
    async fn unlink_keeping_one(
        &self,
        user_id: domain::UserId,
        provider: &domain::ProviderName,
    ) -> Result<domain::Unlinked, domain::StoreError> {
        let store = crate::error::store("unlinking a provider");
        let mut tx = self.pool().begin().await.map_err(&store)?;
        // Writing every link row of the user first: a parallel unlink of
        // the same user waits here and then counts what this one left.
        let links = sqlx::query("UPDATE identity_links SET subject = subject WHERE user_id = $1")
            .bind(user_id.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(&store)?
            .rows_affected();
        let linked =
            sqlx::query("SELECT 1 FROM identity_links WHERE user_id = $1 AND provider = $2")
                .bind(user_id.as_uuid())
                .bind(provider.as_str())
                .fetch_optional(&mut *tx)
                .await
                .map_err(&store)?
                .is_some();
        let outcome = if !linked {
            domain::Unlinked::NotLinked
        } else if links < 2 {
            domain::Unlinked::LastLink
        } else {
            sqlx::query("DELETE FROM identity_links WHERE user_id = $1 AND provider = $2")
                .bind(user_id.as_uuid())
                .bind(provider.as_str())
                .execute(&mut *tx)
                .await
                .map_err(&store)?;
            domain::Unlinked::Removed
        };
        tx.commit().await.map_err(&store)?;
        Ok(outcome)
    }
}

#[async_trait::async_trait]
impl domain::IdentityLinkRepository for Store {
    async fn link(&self, l: &domain::IdentityLink) -> Result<(), domain::LinkError> {
        let result = sqlx::query(
            "INSERT INTO identity_links \
             (user_id, provider, subject, email, tokens, tokens_expire_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(l.user_id.as_uuid())
        .bind(l.provider.as_str())
        .bind(&l.subject)
        .bind(l.email.as_ref().map(|e| e.as_str().to_owned()))
        .bind(l.tokens.as_ref().map(|t| t.as_str().to_owned()))
        .bind(l.tokens_expire_at.map(<Ts>::to_db))
        .bind(<Ts>::to_db(l.created_at))
        .execute(self.pool())
        .await;
        match crate::error::inserted(result, "linking a provider") {
            Ok(()) => Ok(()),
            Err(domain::InsertError::Conflict) => Err(domain::LinkError::Conflict),
            Err(domain::InsertError::Store(e)) => Err(domain::LinkError::Store(e)),
        }
    }

    async fn find(
        &self,
        provider: &domain::ProviderName,
        subject: &str,
    ) -> Result<Option<domain::IdentityLink>, domain::StoreError> {
        sqlx::query(&format!("{LINK} WHERE provider = $1 AND subject = $2"))
            .bind(provider.as_str())
            .bind(subject)
            .fetch_optional(self.pool())
            .await
            .map_err(crate::error::store("reading a link"))?
            .as_ref()
            .map(Self::link_row)
            .transpose()
    }

    async fn list_for_user(
        &self,
        user_id: domain::UserId,
    ) -> Result<Vec<domain::IdentityLink>, domain::StoreError> {
        sqlx::query(&format!("{LINK} WHERE user_id = $1 ORDER BY provider"))
            .bind(user_id.as_uuid())
            .fetch_all(self.pool())
            .await
            .map_err(crate::error::store("listing links"))?
            .iter()
            .map(Self::link_row)
            .collect()
    }

    async fn store_tokens(
        &self,
        user_id: domain::UserId,
        provider: &domain::ProviderName,
        tokens: Option<domain::Sealed>,
        expire_at: Option<time::OffsetDateTime>,
    ) -> Result<bool, domain::StoreError> {
        sqlx::query(
            "UPDATE identity_links SET tokens = $3, tokens_expire_at = $4 \
             WHERE user_id = $1 AND provider = $2",
        )
        .bind(user_id.as_uuid())
        .bind(provider.as_str())
        .bind(tokens.map(|t| t.as_str().to_owned()))
        .bind(expire_at.map(<Ts>::to_db))
        .execute(self.pool())
        .await
        .map(|d| d.rows_affected() == 1)
        .map_err(crate::error::store("storing provider tokens"))
    }

    async fn reseal(
        &self,
        user_id: domain::UserId,
        provider: &domain::ProviderName,
        old: &domain::Sealed,
        new: &domain::Sealed,
    ) -> Result<bool, domain::StoreError> {
        sqlx::query(
            "UPDATE identity_links SET tokens = $4 \
             WHERE user_id = $1 AND provider = $2 AND tokens = $3",
        )
        .bind(user_id.as_uuid())
        .bind(provider.as_str())
        .bind(old.as_str())
        .bind(new.as_str())
        .execute(self.pool())
        .await
        .map(|d| d.rows_affected() == 1)
        .map_err(crate::error::store("resealing provider tokens"))
    }

    async fn unlink(
        &self,
        user_id: domain::UserId,
        provider: &domain::ProviderName,
        keep_one: bool,
    ) -> Result<domain::Unlinked, domain::StoreError> {
        if keep_one {
            return self.unlink_keeping_one(user_id, provider).await;
        }
        let gone = sqlx::query("DELETE FROM identity_links WHERE user_id = $1 AND provider = $2")
            .bind(user_id.as_uuid())
            .bind(provider.as_str())
            .execute(self.pool())
            .await
            .map_err(crate::error::store("unlinking a provider"))?
            .rows_affected();
        Ok(if gone == 0 {
            domain::Unlinked::NotLinked
        } else {
            domain::Unlinked::Removed
        })
    }

    async fn delete_for_user(&self, user_id: domain::UserId) -> Result<u64, domain::StoreError> {
        sqlx::query("DELETE FROM identity_links WHERE user_id = $1")
            .bind(user_id.as_uuid())
            .execute(self.pool())
            .await
            .map(|d| d.rows_affected())
            .map_err(crate::error::store("deleting links"))
    }

    async fn list_after(
        &self,
        after: Option<(domain::UserId, domain::ProviderName)>,
        limit: u32,
    ) -> Result<Vec<domain::IdentityLink>, domain::StoreError> {
        let rows = match &after {
            Some((user, provider)) => {
                sqlx::query(&format!(
                    "{LINK} WHERE user_id > $1 OR (user_id = $1 AND provider > $2) \
                     ORDER BY user_id, provider LIMIT $3"
                ))
                .bind(user.as_uuid())
                .bind(provider.as_str())
                .bind(i64::from(limit))
                .fetch_all(self.pool())
                .await
            }
            None => {
                sqlx::query(&format!("{LINK} ORDER BY user_id, provider LIMIT $1"))
                    .bind(i64::from(limit))
                    .fetch_all(self.pool())
                    .await
            }
        };
        rows.map_err(crate::error::store("walking links"))?
            .iter()
            .map(Self::link_row)
            .collect()
    }
}

#[async_trait::async_trait]
impl domain::OAuthFlowRepository for Store {
    async fn insert(&self, f: &domain::OAuthFlow) -> Result<(), domain::StoreError> {
        sqlx::query(
            "INSERT INTO oauth_flows (state_hash, provider, pkce_verifier, nonce, redirect_uri, \
             linking_user, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(f.state_hash.as_str())
        .bind(f.provider.as_str())
        .bind(&f.pkce_verifier)
        .bind(&f.nonce)
        .bind(&f.redirect_uri)
        .bind(f.linking_user.map(|u| u.as_uuid()))
        .bind(<Ts>::to_db(f.created_at))
        .bind(<Ts>::to_db(f.expires_at))
        .execute(self.pool())
        .await
        .map(drop)
        .map_err(crate::error::store("storing a sign-in flow"))
    }

    async fn take(
        &self,
        state_hash: &domain::TokenHash,
        now: time::OffsetDateTime,
    ) -> Result<Option<domain::OAuthFlow>, domain::StoreError> {
        sqlx::query("DELETE FROM oauth_flows WHERE state_hash = $1 AND expires_at > $2 RETURNING *")
            .bind(state_hash.as_str())
            .bind(<Ts>::to_db(now))
            .fetch_optional(self.pool())
            .await
            .map_err(crate::error::store("taking a sign-in flow"))?
            .as_ref()
            .map(Self::flow_row)
            .transpose()
    }

    async fn delete_for_user(&self, user_id: domain::UserId) -> Result<u64, domain::StoreError> {
        sqlx::query("DELETE FROM oauth_flows WHERE linking_user = $1")
            .bind(user_id.as_uuid())
            .execute(self.pool())
            .await
            .map(|d| d.rows_affected())
            .map_err(crate::error::store("deleting sign-in flows"))
    }

    async fn purge_expired(
        &self,
        now: time::OffsetDateTime,
        limit: u32,
    ) -> Result<u64, domain::StoreError> {
        self.purge_batch(
            "oauth_flows",
            "state_hash",
            "expires_at <= $1",
            now,
            limit,
            "purging sign-in flows",
        )
        .await
    }
}
