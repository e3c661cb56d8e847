//! PEM (RFC 7468) blocks: split a text into labelled DER blocks, and write one block.
//!
//! Reading is tolerant of what real key files contain: text before the first block, several
//! blocks (`openssl ecparam -genkey` writes `EC PARAMETERS` before `EC PRIVATE KEY`), CRLF line
//! ends and RFC 1421 headers (`Proc-Type: 4,ENCRYPTED`, which callers refuse by name). Decoded
//! bytes may be a private key, so they are zeroized when dropped. Writing uses the standard
//! 64-column lines every PEM reader accepts.

use zeroize::Zeroizing;

use crate::b64;

/// One `-----BEGIN <label>-----` ... `-----END <label>-----` block.
pub(crate) struct Block {
    pub label: String,
    pub der: Zeroizing<Vec<u8>>,
    /// The block had RFC 1421 headers (`Proc-Type`, `DEK-Info`): OpenSSL's legacy encryption.
    pub has_headers: bool,
}

/// Why a text is not PEM. The messages never quote the body (it may be a secret).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PemError {
    NoBlock,
    Unterminated(String),
    BadBase64(String),
}

impl std::fmt::Display for PemError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PemError::NoBlock => f.write_str("no `-----BEGIN ...-----` line"),
            PemError::Unterminated(label) => write!(f, "no `-----END {label}-----` line"),
            PemError::BadBase64(label) => write!(f, "the `{label}` block is not valid base64"),
        }
    }
}

/// Every block in `text`, in order.
pub(crate) fn parse(text: &str) -> Result<Vec<Block>, PemError> {
    let mut blocks = Vec::new();
    let mut lines = text.lines().map(str::trim);
    while let Some(line) = lines.next() {
        let Some(label) = line.strip_prefix("-----BEGIN ").and_then(|l| l.strip_suffix("-----")) else {
            continue;
        };
        let end = format!("-----END {label}-----");
        let mut body = Zeroizing::new(String::new());
        let mut has_headers = false;
        let mut terminated = false;
        for line in lines.by_ref() {
            if line == end {
                terminated = true;
                break;
            }
            if line.contains(':') {
                has_headers = true;
            } else {
                body.push_str(line);
            }
        }
        if !terminated {
            return Err(PemError::Unterminated(label.to_string()));
        }
        let der = b64::decode(&body).ok_or_else(|| PemError::BadBase64(label.to_string()))?;
        blocks.push(Block { label: label.to_string(), der: Zeroizing::new(der), has_headers });
    }
    if blocks.is_empty() {
        return Err(PemError::NoBlock);
    }
    Ok(blocks)
}

/// One PEM block with 64-column base64 lines and a final newline.
pub(crate) fn encode(label: &str, der: &[u8]) -> String {
    let body = b64::encode(der);
    let mut out = String::with_capacity(body.len() + body.len() / 64 + 2 * label.len() + 40);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    for chunk in body.as_bytes().chunks(64) {
        // base64 output is ASCII, so any byte boundary is a char boundary.
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_long_body() {
        let der: Vec<u8> = (0..=255u8).collect();
        let text = encode("PUBLIC KEY", &der);
        assert!(text.lines().all(|l| l.len() <= 64));
        let blocks = parse(&text).unwrap();
        assert_eq!(blocks.len(), 1);
        assert_eq!(blocks[0].label, "PUBLIC KEY");
        assert_eq!(&blocks[0].der[..], &der[..]);
        assert!(!blocks[0].has_headers);
    }

    #[test]
    fn reads_several_blocks_crlf_and_leading_text() {
        let text = "comment\r\n-----BEGIN EC PARAMETERS-----\r\nBggqhkjOPQMBBw==\r\n-----END EC PARAMETERS-----\r\n\
                    -----BEGIN EC PRIVATE KEY-----\r\nAQID\r\n-----END EC PRIVATE KEY-----\r\n";
        let blocks = parse(text).unwrap();
        let labels: Vec<&str> = blocks.iter().map(|b| b.label.as_str()).collect();
        assert_eq!(labels, ["EC PARAMETERS", "EC PRIVATE KEY"]);
        assert_eq!(&blocks[1].der[..], &[1, 2, 3]);
    }

    #[test]
    fn notes_rfc1421_headers() {
        let text = "-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAQID\n-----END EC PRIVATE KEY-----\n";
        assert!(parse(text).unwrap()[0].has_headers);
    }

    #[test]
    fn refuses_what_is_not_pem() {
        assert_eq!(parse("hello").err(), Some(PemError::NoBlock));
        assert_eq!(
            parse("-----BEGIN PUBLIC KEY-----\nAQID\n").err(),
            Some(PemError::Unterminated("PUBLIC KEY".into()))
        );
        assert_eq!(
            parse("-----BEGIN PUBLIC KEY-----\n@@@@\n-----END PUBLIC KEY-----").err(),
            Some(PemError::BadBase64("PUBLIC KEY".into()))
        );
    }
}
