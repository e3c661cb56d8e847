//! Base64 as the formats use it: standard alphabet with padding when writing; when reading,
//! standard or URL-safe, padded or not (DSSE requires readers to accept both; protobuf JSON
//! parsers do the same), surrounding whitespace ignored.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;

/// Standard base64 with padding.
pub(crate) fn encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Decodes any of the four base64 spellings; `None` when the text is none of them.
pub(crate) fn decode(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD].iter().find_map(|engine| engine.decode(text).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_spelling_and_writes_standard() {
        let bytes = [0xfbu8, 0xff, 0x01];
        assert_eq!(encode(&bytes), "+/8B");
        for text in ["+/8B", "-_8B", " +/8B\n"] {
            assert_eq!(decode(text).as_deref(), Some(&bytes[..]), "{text}");
        }
        assert_eq!(decode("AQ").as_deref(), Some(&[1u8][..]));
        assert_eq!(decode("AQ=="), Some(vec![1u8]));
        assert_eq!(decode("not base64!"), None);
    }
}
