//! How bodies are stored: a webhook body is JSON text, which LZ4 shrinks to a third or less (a
//! 4.9 KB Bitbucket commit status to 1.7 KB), so a group commit writes and syncs fewer bytes
//! (bench P1: 318 → 206 KB per durable commit). A stored body is either the text itself (short
//! bodies, and every body written before compression) or [`LZ4_TAG`] followed by the text's
//! length (u32, little-endian) and its LZ4 block; the tag is a byte UTF-8 text never holds, so
//! the two forms cannot be confused.

use crate::store::StoreError;

/// The first byte of a compressed body; 0xFF never occurs in UTF-8.
const LZ4_TAG: u8 = 0xFF;

/// Bodies shorter than this are stored as they are: compressing them saves nothing.
const COMPRESS_FROM: usize = 256;

/// The longest body a stored length may announce (far past any body limit), so a damaged
/// length cannot make a read allocate gigabytes.
const MAX_BODY: usize = 256 * 1024 * 1024;

/// The stored form of `body`: compressed when that makes it shorter.
pub(super) fn encode_body(body: &str) -> Vec<u8> {
    let text = body.as_bytes();
    if text.len() < COMPRESS_FROM || text.len() > MAX_BODY {
        return text.to_vec();
    }
    let mut stored = Vec::with_capacity(5 + lz4_flex::block::get_maximum_output_size(text.len()));
    stored.push(LZ4_TAG);
    stored.extend_from_slice(&(text.len() as u32).to_le_bytes());
    let header = stored.len();
    stored.resize(stored.capacity(), 0);
    match lz4_flex::block::compress_into(text, &mut stored[header..]) {
        Ok(written) if header + written < text.len() => {
            stored.truncate(header + written);
            stored
        }
        _ => text.to_vec(),
    }
}

/// The body text of a stored body. Text stored as it is was UTF-8 when written (a rejected
/// request's body was decoded lossily first), so it is read lossily as before.
pub(super) fn decode_body(stored: &[u8]) -> Result<String, StoreError> {
    let Some((&LZ4_TAG, rest)) = stored.split_first() else {
        return Ok(String::from_utf8_lossy(stored).into_owned());
    };
    let corrupt = |why: &str| StoreError::Corrupt(format!("inbound body: {why}"));
    let (length, block) = rest
        .split_first_chunk::<4>()
        .ok_or_else(|| corrupt("compressed body without its length"))?;
    let length = u32::from_le_bytes(*length) as usize;
    if length > MAX_BODY {
        return Err(corrupt("compressed body announces more than 256 MiB"));
    }
    let text = lz4_flex::block::decompress(block, length)
        .map_err(|error| corrupt(&format!("compressed body does not decompress: {error}")))?;
    String::from_utf8(text).map_err(|_| corrupt("compressed body is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A JSON body comes back as it went in, stored in fewer bytes; short bodies and bodies
    /// written before compression are read as text.
    #[test]
    fn bodies_come_back_as_written_and_json_is_stored_smaller() {
        let json = serde_json::json!({
            "repository": {"full_name": "team/repo", "links": {"html": {"href": "https://bitbucket.org/team/repo"}}},
            "commit_status": {"state": "FAILED", "key": "pipeline", "url": "https://bitbucket.org/team/repo/pipelines/results/1"},
            "actor": {"display_name": "Ada", "links": {"html": {"href": "https://bitbucket.org/ada"}}}
        })
        .to_string()
        .repeat(8);
        let stored = encode_body(&json);
        assert_eq!(stored[0], LZ4_TAG);
        assert!(
            stored.len() * 2 < json.len(),
            "{} of {}",
            stored.len(),
            json.len()
        );
        assert_eq!(decode_body(&stored).unwrap(), json);

        for text in ["", "{}", "short body ünïcode"] {
            assert_eq!(encode_body(text), text.as_bytes());
            assert_eq!(decode_body(text.as_bytes()).unwrap(), text);
        }
        // A long body stored raw by an older version.
        assert_eq!(decode_body(json.as_bytes()).unwrap(), json);
    }

    /// Text that does not compress is stored as it is.
    #[test]
    fn a_body_that_does_not_compress_is_stored_as_text() {
        let noise: String = (0..2_000u32)
            .map(|i| char::from_u32(0x4E00 + (i.wrapping_mul(2_654_435_761) % 20_000)).unwrap())
            .collect();
        let stored = encode_body(&noise);
        assert_eq!(decode_body(&stored).unwrap(), noise);
        assert!(stored.len() <= noise.len());
    }

    /// A damaged compressed body is an error naming what is wrong, not a panic or a huge
    /// allocation.
    #[test]
    fn a_damaged_compressed_body_is_reported_as_corrupt() {
        let mut stored = encode_body(&"{\"a\": \"bcdefgh\"}".repeat(40));
        for damaged in [
            vec![LZ4_TAG],
            vec![LZ4_TAG, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3],
            {
                stored.truncate(stored.len() / 2);
                stored
            },
        ] {
            let error = decode_body(&damaged).unwrap_err();
            assert!(
                matches!(&error, StoreError::Corrupt(why) if why.starts_with("inbound body")),
                "{error:?}"
            );
        }
    }
}
