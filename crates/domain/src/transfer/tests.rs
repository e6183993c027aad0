//! The dump document's rules: what a restore refuses before writing.

use super::*;
use crate::test_support::{T0, sample_user};

fn document(records: &[DumpRecord], counts: Option<&[(&str, u64)]>) -> Vec<String> {
    let mut lines = vec![serde_json::to_string(&DumpHeader::new("9.9.9", T0)).unwrap()];
    lines.extend(records.iter().map(|r| serde_json::to_string(r).unwrap()));
    if let Some(counts) = counts {
        let trailer = DumpTrailer {
            counts: counts.iter().map(|(k, n)| ((*k).to_owned(), *n)).collect(),
        };
        lines.push(DumpLine::end(&trailer));
    }
    lines
}

fn validate(lines: &[String]) -> Result<Vec<DumpRecord>, FormatError> {
    let mut validator = DumpValidator::default();
    let mut records = Vec::new();
    for line in lines {
        records.extend(validator.line(line)?);
    }
    validator.finish()?;
    Ok(records)
}

fn two_users() -> Vec<DumpRecord> {
    vec![
        DumpRecord::User(Box::new(sample_user(1))),
        DumpRecord::User(Box::new(sample_user(2))),
    ]
}

#[test]
fn a_complete_document_reads_back_its_records() {
    let records = two_users();
    let lines = document(&records, Some(&[("user", 2)]));
    assert_eq!(validate(&lines).unwrap(), records);
}

#[test]
fn a_document_without_its_end_line_is_truncated() {
    let lines = document(&two_users(), None);
    assert_eq!(
        validate(&lines).unwrap_err(),
        FormatError::Truncated { records: 2 }
    );
    // Cut in the middle of a line: that line does not parse.
    let mut cut = document(&two_users(), Some(&[("user", 2)]));
    let half = cut[2].len() / 2;
    cut[2].truncate(half);
    cut.pop();
    assert!(matches!(
        validate(&cut).unwrap_err(),
        FormatError::BadLine { number: 3, .. }
    ));
}

#[test]
fn counts_that_differ_from_the_records_are_refused() {
    let lines = document(&two_users(), Some(&[("user", 3)]));
    assert!(matches!(
        validate(&lines).unwrap_err(),
        FormatError::Counts { .. }
    ));
}

#[test]
fn a_newer_or_unknown_format_is_refused() {
    let mut lines = document(&[], Some(&[]));
    let mut header = DumpHeader::new("99.0.0", T0);
    header.version = DUMP_VERSION + 1;
    lines[0] = serde_json::to_string(&header).unwrap();
    assert!(matches!(
        validate(&lines).unwrap_err(),
        FormatError::Version { found, .. } if found == DUMP_VERSION + 1
    ));
    lines[0] = r#"{"format":"something-else","version":1}"#.into();
    assert_eq!(validate(&lines).unwrap_err(), FormatError::NotADump);
    assert_eq!(
        validate(&["not json".to_owned()]).unwrap_err(),
        FormatError::NotADump
    );
    assert_eq!(validate(&[]).unwrap_err(), FormatError::NotADump);
}

#[test]
fn lines_after_the_end_are_refused() {
    let mut lines = document(&two_users(), Some(&[("user", 2)]));
    lines.push(serde_json::to_string(&two_users()[0]).unwrap());
    assert_eq!(
        validate(&lines).unwrap_err(),
        FormatError::AfterEnd { number: 5 }
    );
}

#[test]
fn every_kind_has_a_distinct_wire_name() {
    let mut kinds = DumpRecord::KINDS.to_vec();
    kinds.sort_unstable();
    kinds.dedup();
    assert_eq!(kinds.len(), DumpRecord::KINDS.len());
}
