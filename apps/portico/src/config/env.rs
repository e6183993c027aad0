//! Reading the TOML file and applying `PORTICO_*` environment overrides.

use std::path::Path;

use super::ConfigError;

pub(super) fn read_table(path: &Path) -> Result<toml::Table, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    text.parse::<toml::Table>()
        .map_err(|e| ConfigError::Invalid(format!("{}: {e}", path.display())))
}

pub(super) fn apply_env(
    table: &mut toml::Table,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<(), ConfigError> {
    let mut overrides: Vec<(Vec<String>, String)> = Vec::new();
    for (key, value) in env {
        if key == "DATABASE_URL" {
            overrides.push((vec!["database".into(), "url".into()], value));
        } else if key == "MONGODB_URL" {
            overrides.push((vec!["mongodb".into(), "url".into()], value));
        } else if key == "REDIS_URL" {
            overrides.push((vec!["redis".into(), "url".into()], value));
        } else if let Some(rest) = key.strip_prefix("PORTICO_") {
            let path: Vec<String> = rest.split("__").map(|p| p.to_ascii_lowercase()).collect();
            if path.len() >= 2 && path.iter().all(|p| !p.is_empty()) {
                overrides.push((path, value));
            }
        }
    }
    // PORTICO_DATABASE__URL beats DATABASE_URL (and PORTICO_MONGODB__URL
    // beats MONGODB_URL): apply the generic ones last.
    overrides.sort_by_key(|(path, _)| path.len());
    for (path, value) in overrides {
        let (leaf, parents) = path.split_last().expect("at least two parts");
        let mut node = &mut *table;
        for part in parents {
            node = node
                .entry(part.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()))
                .as_table_mut()
                .ok_or_else(|| ConfigError::Invalid(format!("{part} is not a section")))?;
        }
        node.insert(leaf.clone(), parse_value(&value));
    }
    Ok(())
}

/// A TOML value when `raw` parses as one, else the string itself.
fn parse_value(raw: &str) -> toml::Value {
    format!("v = {raw}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_owned()))
}
