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

/// One environment override: the variable, the configuration path it
/// sets, and its value.
pub(super) struct Override {
    /// The variable's name, for messages.
    pub(super) var: String,
    path: Vec<String>,
    value: toml::Value,
    /// `PORTICO_*` (applied after the plain URL variables).
    prefixed: bool,
}

/// The overrides in `env`, in the order they apply: the plain URL variables
/// (`DATABASE_URL`, `MONGODB_URL`, `REDIS_URL`) first, then `PORTICO_*`
/// shorter paths before longer ones; so `PORTICO_DATABASE__URL` beats
/// `DATABASE_URL` whatever the order of the environment.
pub(super) fn overrides(env: impl IntoIterator<Item = (String, String)>) -> Vec<Override> {
    let mut out: Vec<Override> = Vec::new();
    for (key, value) in env {
        let plain = match key.as_str() {
            "DATABASE_URL" => Some("database"),
            "MONGODB_URL" => Some("mongodb"),
            "REDIS_URL" => Some("redis"),
            _ => None,
        };
        let (path, prefixed) = if let Some(section) = plain {
            (vec![section.to_owned(), "url".to_owned()], false)
        } else if let Some(rest) = key.strip_prefix("PORTICO_") {
            let path: Vec<String> = rest.split("__").map(|p| p.to_ascii_lowercase()).collect();
            if path.len() < 2 || path.iter().any(String::is_empty) {
                continue;
            }
            (path, true)
        } else {
            continue;
        };
        out.push(Override {
            value: parse_value(&value),
            var: key,
            path,
            prefixed,
        });
    }
    out.sort_by(|a, b| {
        (a.prefixed, a.path.len(), &a.path).cmp(&(b.prefixed, b.path.len(), &b.path))
    });
    out
}

/// Sets `o` in `table`.
pub(super) fn apply(table: &mut toml::Table, o: &Override) -> Result<(), ConfigError> {
    let (leaf, parents) = o.path.split_last().expect("at least two parts");
    let mut node = &mut *table;
    for part in parents {
        node = node
            .entry(part.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .ok_or_else(|| ConfigError::Invalid(format!("{}: {part} is not a section", o.var)))?;
    }
    node.insert(leaf.clone(), o.value.clone());
    Ok(())
}

impl Override {
    /// A string value as a list of its comma-separated items (environment
    /// variables cannot hold TOML arrays comfortably); `false` when the
    /// value is not a string.
    pub(super) fn split_list(&mut self) -> bool {
        let toml::Value::String(s) = &self.value else {
            return false;
        };
        self.value = toml::Value::Array(
            s.split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(|p| toml::Value::String(p.to_owned()))
                .collect(),
        );
        true
    }
}

/// A TOML value when `raw` parses as one, else the string itself.
fn parse_value(raw: &str) -> toml::Value {
    format!("v = {raw}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_owned()))
}
