//! The Lua shared by several families, and how scripts are called: EVALSHA,
//! loading the script on a NOSCRIPT reply. Every script touches only keys of
//! one family tag, hence one hash slot, as Redis Cluster requires.

use std::sync::LazyLock;

use std::collections::HashMap;

use domain::{Listed, Page, PageRequest, StoreError, WriteError};
use fred::prelude::*;
use fred::types::Value;
use fred::types::scripts::Script;

use crate::RedisStore;
use crate::codec::{Record, bound, records};
use crate::error::store;

/// Reads a page of records through a lex-ordered index, newest first.
/// KEYS: index. ARGV: upper bound, how many, record key prefix, now in ms or
/// '' (skip records whose `expiresAtMs` is not after it), '1' to skip seen
/// ones. Index entries whose record is gone (expired) are removed on the way.
/// A record is a hash (returned as its field/value list) or a JSON string
/// (returned as it is, and never filtered).
pub(crate) static LIST_PAGE: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
local want = tonumber(ARGV[2])
local bound = ARGV[1]
local out = {}
while #out < want do
  local batch = redis.call('ZREVRANGEBYLEX', KEYS[1], bound, '-', 'LIMIT', 0, want - #out)
  if #batch == 0 then break end
  for _, m in ipairs(batch) do
    bound = '(' .. m
    local key = ARGV[3] .. string.sub(m, 17)
    local kind = redis.call('TYPE', key).ok
    if kind == 'none' then
      redis.call('ZREM', KEYS[1], m)
    elseif kind == 'string' then
      table.insert(out, redis.call('GET', key))
    else
      local keep = true
      if ARGV[4] ~= '' then
        local exp = redis.call('HGET', key, 'expiresAtMs')
        if exp and tonumber(exp) <= tonumber(ARGV[4]) then keep = false end
      end
      if keep and ARGV[5] == '1' then
        local seen = redis.call('HGET', key, 'seenAt')
        if seen and seen ~= '' then keep = false end
      end
      if keep then table.insert(out, redis.call('HGETALL', key)) end
    end
  end
end
return out
"#,
    )
});

/// Marks every record of an index that is not marked yet. KEYS: index.
/// ARGV: record key prefix, the guard field (the record counts as marked
/// when it holds a non-empty value), then field/value pairs to set. Index
/// entries whose record is gone are removed on the way. Returns how many
/// records it marked.
pub(crate) static MARK_ALL: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
local n = 0
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local key = ARGV[1] .. string.sub(m, 17)
  if redis.call('EXISTS', key) == 0 then
    redis.call('ZREM', KEYS[1], m)
  else
    local mark = redis.call('HGET', key, ARGV[2])
    if not mark or mark == '' then
      redis.call('HSET', key, unpack(ARGV, 3))
      n = n + 1
    end
  end
end
return n
"#,
    )
});

/// Changes fields of an existing hash when guards hold. KEYS: the hash.
/// ARGV: number of guards, then (field, expected value; '' = absent) pairs,
/// number of fields to delete, their names, then field/value pairs to set.
/// Returns 0 when the hash is missing, 2 when a guard fails, 1 when written.
pub(crate) static GUARDED_SET: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local i = 1
local ng = tonumber(ARGV[i]); i = i + 1
for g = 1, ng do
  local cur = redis.call('HGET', KEYS[1], ARGV[i]) or ''
  if cur ~= ARGV[i + 1] then return 2 end
  i = i + 2
end
local nd = tonumber(ARGV[i]); i = i + 1
for d = 1, nd do
  redis.call('HDEL', KEYS[1], ARGV[i])
  i = i + 1
end
if i <= #ARGV then redis.call('HSET', KEYS[1], unpack(ARGV, i)) end
return 1
"#,
    )
});

/// KEYS: a pointer key holding a record id. ARGV: the record key prefix.
/// The record the pointer names (its pairs), or an empty reply.
pub(crate) static FOLLOW_POINTER: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
local id = redis.call('GET', KEYS[1])
if not id then return {} end
return redis.call('HGETALL', ARGV[1] .. id)
"#,
    )
});

/// What [`GUARDED_SET`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Guarded {
    /// No such record.
    Missing,
    /// A guard did not hold; nothing changed.
    Refused,
    /// The record exists, the guards held, and the fields are written.
    Done,
}

impl Guarded {
    /// `Ok` when written; `NotFound` when the record is missing or a guard
    /// did not hold (for writes whose guards only identify the record).
    pub(crate) fn written(self) -> Result<(), WriteError> {
        match self {
            Self::Done => Ok(()),
            Self::Missing | Self::Refused => Err(WriteError::NotFound),
        }
    }
}

impl RedisStore {
    /// Runs `script` with `keys` and `args`.
    pub(crate) async fn eval<R: FromValue>(
        &self,
        script: &Script,
        keys: Vec<String>,
        args: Vec<String>,
        context: &'static str,
    ) -> Result<R, StoreError> {
        script
            .evalsha_with_reload(self.client(), keys, args)
            .await
            .map_err(store(context))
    }

    /// A page of records read through `index`.
    pub(crate) async fn list_page(
        &self,
        index: String,
        bound: String,
        want: usize,
        record_prefix: String,
        now_ms: Option<i64>,
        unseen_only: bool,
    ) -> Result<Value, StoreError> {
        let args = vec![
            bound,
            want.to_string(),
            record_prefix,
            now_ms.map_or_else(String::new, |n| n.to_string()),
            if unseen_only { "1" } else { "0" }.to_owned(),
        ];
        self.eval(&LIST_PAGE, vec![index], args, "list records")
            .await
    }

    /// One page of records read through `index` (see [`LIST_PAGE`]), parsed
    /// by `parse` and cut at `page`'s limit.
    pub(crate) async fn page_of<T: Listed>(
        &self,
        index: String,
        page: PageRequest,
        record_prefix: String,
        now_ms: Option<i64>,
        unseen_only: bool,
        parse: impl Fn(HashMap<String, String>) -> Result<Option<T>, StoreError>,
    ) -> Result<Page<T>, StoreError> {
        let v = self
            .list_page(
                index,
                bound(&page),
                page.limit() as usize + 1,
                record_prefix,
                now_ms,
                unseen_only,
            )
            .await?;
        let items = records(v)?
            .into_iter()
            .filter_map(|m| parse(m).transpose())
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(items, page))
    }

    /// A page of the records an index lists that pass `keep`, for filters
    /// the index cannot answer: reads on in batches of the largest page until
    /// the page is full, the index ends, or the last record read satisfies
    /// `past` (records beyond it cannot match). A scan, which the ports allow
    /// for an administrator's search; not for a hot path.
    pub(crate) async fn filtered_page<T, R, F>(
        page: PageRequest,
        read: R,
        keep: impl Fn(&T) -> bool,
        past: impl Fn(&T) -> bool,
    ) -> Result<Page<T>, StoreError>
    where
        T: Listed,
        R: Fn(PageRequest) -> F,
        F: Future<Output = Result<Page<T>, StoreError>>,
    {
        let want = page.limit() as usize + 1;
        let next = |cursor| PageRequest::after(PageRequest::MAX_LIMIT, cursor);
        let mut batch = page
            .cursor()
            .map_or(PageRequest::first(PageRequest::MAX_LIMIT), next);
        let mut found = Vec::new();
        loop {
            let read = read(batch).await?;
            let beyond = read.items.last().is_some_and(&past);
            found.extend(read.items.into_iter().filter(|item| keep(item)));
            match read.next_cursor {
                Some(cursor) if found.len() < want && !beyond => batch = next(cursor),
                _ => break,
            }
        }
        found.truncate(want);
        Ok(Page::from_overfetch(found, page))
    }

    /// [`GUARDED_SET`]: `guards` must hold; `delete` fields go, `set` is written.
    pub(crate) async fn guarded_set(
        &self,
        key: String,
        guards: &[(&str, &str)],
        delete: &[&str],
        set: &Record,
    ) -> Result<Guarded, StoreError> {
        let mut args = vec![guards.len().to_string()];
        for (field, value) in guards {
            args.push((*field).to_owned());
            args.push((*value).to_owned());
        }
        args.push(delete.len().to_string());
        args.extend(delete.iter().map(|d| (*d).to_owned()));
        args.extend(set.args());
        let n: i64 = self
            .eval(&GUARDED_SET, vec![key], args, "update record")
            .await?;
        Ok(match n {
            0 => Guarded::Missing,
            2 => Guarded::Refused,
            _ => Guarded::Done,
        })
    }

    /// Every member of a sorted set, in its order.
    pub(crate) async fn members(
        &self,
        key: String,
        context: &'static str,
    ) -> Result<Vec<String>, StoreError> {
        self.pool()
            .zrange(key, 0, -1, None, false, None, false)
            .await
            .map_err(store(context))
    }

    /// HGETALL of one key (empty map when missing).
    pub(crate) async fn hgetall(
        &self,
        key: String,
        context: &'static str,
    ) -> Result<HashMap<String, String>, StoreError> {
        self.pool().hgetall(key).await.map_err(store(context))
    }
}
