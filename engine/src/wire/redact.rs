//! Error-text redaction shared by the frame and protocol decoders: what rkyv's validator says
//! is useful (field and type names), but it may quote values read from untrusted bytes, which
//! could be masked data from a buggy peer. Nothing read from the input survives.

/// Keeps the structure of an rkyv error message (field and type names) but replaces every
/// token containing a digit by `#` and every unusual character by `?`, so that no value read
/// from the input survives into logs.
pub(crate) fn redact(msg: &str) -> String {
    let mut out = String::new();
    let mut chars = msg.chars().peekable();
    while let Some(c) = chars.next() {
        if out.len() >= 400 {
            out.push_str("...");
            break;
        }
        if c.is_ascii_alphanumeric() || c == '_' {
            let mut token = String::from(c);
            while let Some(&n) = chars.peek() {
                if n.is_ascii_alphanumeric() || n == '_' {
                    token.push(n);
                    chars.next();
                } else {
                    break;
                }
            }
            if token.bytes().any(|b| b.is_ascii_digit()) {
                out.push('#');
            } else {
                out.push_str(&token);
            }
        } else if " :;'\",.()<>[]-=\n".contains(c) {
            out.push(c);
        } else {
            out.push('?');
        }
    }
    out
}
