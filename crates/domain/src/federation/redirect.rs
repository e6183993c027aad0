//! The return addresses a flow may end at: on the allow-list, and unable
//! to plant what the callback adds.

/// Query keys a `redirect_uri` may not carry: the callback adds them, and a
/// front end reading the first `code` would read a planted one.
const RESERVED_QUERY_KEYS: [&str; 4] = ["code", "linked", "error", "state"];

/// Whether `redirect_uri` may end a flow: no fragment, whitespace or
/// control character, none of the keys the callback adds in its query,
/// and without its query equal to an address of `allowlist`.
pub(crate) fn redirect_allowed(allowlist: &[String], redirect_uri: &str) -> bool {
    if redirect_uri.contains('#')
        || redirect_uri
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
    {
        return false;
    }
    let (base, query) = redirect_uri.split_once('?').unwrap_or((redirect_uri, ""));
    let reserved = query.split('&').any(|pair| {
        let key = percent_decoded(pair.split('=').next().unwrap_or(""));
        RESERVED_QUERY_KEYS
            .iter()
            .any(|r| key.eq_ignore_ascii_case(r))
    });
    !reserved && allowlist.iter().any(|a| a == base)
}

/// `text` with its `%XX` escapes (and `+`, as forms write a space)
/// decoded; a `%` that starts no escape is kept as it is.
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        let escape = match bytes.get(i..i + 3) {
            Some([b'%', h, l]) => hex(*h).zip(hex(*l)),
            _ => None,
        };
        if let Some((h, l)) = escape {
            out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
            i += 3;
            continue;
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
