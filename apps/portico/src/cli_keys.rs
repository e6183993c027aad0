//! `portico keys …`: rotating the encryption and JWT signing keys,
//! re-sealing stored secrets, retiring an old key.

use super::*;

/// Appends a new key to the keyring file, written whole to a temporary
/// file and renamed over the old one, so a crash leaves one or the other.
pub(super) fn rotate_keys(config: &Config) -> Result<(), Box<dyn std::error::Error>> {
    use secrecy::ExposeSecret as _;
    if !config
        .security
        .encryption_keys
        .expose_secret()
        .trim()
        .is_empty()
    {
        let entry = platform::Keyring::new_entry("k-new");
        return Err(format!(
            "the keys come from security.encryption_keys, which this command cannot edit: \
             append a new entry such as {entry} (rename the id as you like) last in that list, \
             restart every instance, then run `portico keys reseal`"
        )
        .into());
    }
    let data_dir = &config.server.data_dir;
    let old = crate::keys::keyring("", data_dir)?;
    let path = crate::keys::keyring_path(data_dir);
    let mut text = std::fs::read_to_string(&path)?;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    let id = old.next_id();
    text.push_str(&platform::Keyring::new_entry(&id));
    text.push('\n');
    replace_file(&path, &text)?;
    println!(
        "added key {id} to {} (now current; {} older key(s) kept)",
        path.display(),
        old.ids().len()
    );
    Ok(())
}

/// Appends a new JWT signing key to the key file (creating the file with
/// one key when missing), and drops the keys whose tokens have all expired
/// (replaced more than `tokens.jwt_ttl_secs` ago).
pub(super) fn rotate_jwt_keys(config: &Config) -> Result<(), Box<dyn std::error::Error>> {
    use secrecy::ExposeSecret as _;
    let now = time::OffsetDateTime::now_utc();
    if !config.tokens.jwt_keys.expose_secret().trim().is_empty() {
        let entry = platform::JwtKeys::new_entry("j-new", now);
        return Err(format!(
            "the JWT keys come from tokens.jwt_keys, which this command cannot edit: append a \
             new entry such as {entry} (rename the id as you like) last in that list and restart \
             every instance; remove an old entry once tokens.jwt_ttl_secs have passed"
        )
        .into());
    }
    let path = runtime::jwt_keys::jwt_keys_path(&config.server.data_dir);
    if !path.exists() {
        runtime::jwt_keys::JwtKeyFile::open("", &config.server.data_dir, true)?;
        println!("created {} with key j1 (current)", path.display());
        return Ok(());
    }
    let text = std::fs::read_to_string(&path)?;
    let old =
        platform::JwtKeys::parse(text.lines()).map_err(|e| format!("{}: {e}", path.display()))?;
    let id = old.next_id();
    let kept: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    // A key stays while its tokens may be valid (the rule of what is
    // published); a line whose time does not parse counts as just added.
    let added: Vec<i64> = kept
        .iter()
        .map(|line| {
            line.rsplit(':')
                .next()
                .and_then(|t| t.parse::<i64>().ok())
                .unwrap_or(i64::MAX)
        })
        .collect();
    let needed = platform::JwtKeys::still_needed(&added, now, config.tokens.jwt_ttl());
    let mut out = String::new();
    let mut dropped = Vec::new();
    for (line, needed) in kept.iter().zip(needed) {
        if needed {
            out.push_str(line);
            out.push('\n');
        } else {
            dropped.push(line.split(':').next().unwrap_or_default().to_owned());
        }
    }
    out.push_str(&platform::JwtKeys::new_entry(&id, now));
    out.push('\n');
    platform::JwtKeys::parse(out.lines())?;
    replace_file(&path, &out)?;
    println!(
        "added JWT key {id} to {} (signs new tokens from now on; running instances follow within seconds)",
        path.display()
    );
    if !dropped.is_empty() {
        println!(
            "dropped {} (every token they signed has expired)",
            dropped.join(", ")
        );
    }
    Ok(())
}

/// Writes `text` to a 0600 temporary file beside `path` and renames it over
/// `path`, so a crash leaves the old file or the new one.
fn replace_file(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let temp = path.with_extension("keys.new");
    {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&temp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
    }
    std::fs::rename(&temp, path)
}

/// Removes key `id` from the keyring file once nothing stored is sealed
/// under it.
pub(super) async fn retire_key(
    config: &Config,
    id: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    use secrecy::ExposeSecret as _;
    if !config
        .security
        .encryption_keys
        .expose_secret()
        .trim()
        .is_empty()
    {
        return Err(format!(
            "the keys come from security.encryption_keys, which this command cannot edit: \
             check that nothing is sealed under {id} (`portico keys reseal` re-seals under the \
             current key), then remove its entry there and restart every instance"
        )
        .into());
    }
    let data_dir = &config.server.data_dir;
    let ring = crate::keys::keyring("", data_dir)?;
    let path = crate::keys::keyring_path(data_dir);
    if !ring.ids().iter().any(|k| k == id) {
        return Err(format!(
            "{} holds no key {id} (it holds {})",
            path.display(),
            ring.ids().join(", ")
        )
        .into());
    }
    if ring.current_id() == id {
        return Err(format!(
            "{id} is the current key: rotate first (`portico keys rotate`), then retire it"
        )
        .into());
    }
    let backends = Backends::connect(config).await?;
    let state = &Runtime::build(config, &backends, Arc::new(Metrics::default()))?;
    let counted = match state.mfa.count_sealed_under(id).await {
        Ok(totp) => state
            .federation
            .count_sealed_under(id)
            .await
            .map(|links| (totp, links)),
        Err(e) => Err(e),
    };
    backends.close().await;
    let (totp, links) = counted.map_err(|e| crate::problem::error_chain(&e))?;
    if totp + links > 0 {
        return Err(format!(
            "{totp} TOTP secret(s) and {links} provider link(s) are still sealed under {id}: \
             run `portico keys reseal` (every instance must hold the current key), then retire it"
        )
        .into());
    }
    let text = std::fs::read_to_string(&path)?;
    let kept: String = text
        .lines()
        .filter(|line| line.trim().split(':').next() != Some(id))
        .map(|line| format!("{line}\n"))
        .collect();
    replace_file(&path, &kept)?;
    println!(
        "retired key {id} from {} (nothing was sealed under it)",
        path.display()
    );
    Ok(())
}

/// Re-seals every stored secret under the current key, with a line per page.
pub(super) async fn reseal(config: &Config) -> Result<(), Box<dyn std::error::Error>> {
    let backends = Backends::connect(config).await?;
    let state = &Runtime::build(config, &backends, Arc::new(Metrics::default()))?;
    let started = std::time::Instant::now();
    let progress = |r: domain::ResealReport| {
        println!("… {} secrets looked at, {} re-sealed", r.seen, r.resealed);
    };
    let outcome = match state.mfa.reseal_all(progress).await {
        Ok(totp) => state
            .federation
            .reseal_all(progress)
            .await
            .map(|links| (totp, links)),
        Err(e) => Err(e),
    };
    backends.close().await;
    let (totp, links) = outcome.map_err(|e| crate::problem::error_chain(&e))?;
    println!(
        "re-sealed {} of {} TOTP secrets and {} of {} provider links under the current key in {:.1} s",
        totp.resealed,
        totp.seen,
        links.resealed,
        links.seen,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
