//! Histograms in the report: the standard HdrHistogram V2 compressed encoding, base64, so any
//! HdrHistogram library (Java, Go, Python, C) decodes them, and runs merge exactly.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use hdrhistogram::Histogram;

/// Encodes `h` as base64 of its V2 compressed (deflate) form.
pub fn encode(h: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    // Serialising into memory fails only for a histogram too large for the format's length field.
    match V2DeflateSerializer::new().serialize(h, &mut bytes) {
        Ok(_) => STANDARD.encode(bytes),
        Err(_) => String::new(),
    }
}

/// Decodes a histogram written by [`encode`] (or any HdrHistogram V2 writer, compressed or not).
pub fn decode(text: &str) -> Result<Histogram<u64>, String> {
    let bytes = STANDARD
        .decode(text.trim())
        .map_err(|e| format!("not base64: {e}"))?;
    Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| format!("not an HdrHistogram V2 histogram: {e:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_histogram_round_trips_exactly() {
        let mut h = Histogram::<u64>::new_with_bounds(1, 2, 3).unwrap();
        h.auto(true);
        for v in [1, 7, 250, 1_000, 31_000, 59_000_000] {
            h.record_n(v, v % 5 + 1).unwrap();
        }
        let back = decode(&encode(&h)).unwrap();
        assert_eq!(back.len(), h.len());
        for q in [0.5, 0.9, 0.99, 0.999, 1.0] {
            assert_eq!(back.value_at_quantile(q), h.value_at_quantile(q), "q {q}");
        }
    }

    #[test]
    fn garbage_does_not_decode() {
        assert!(decode("not base64 at all!").unwrap_err().contains("base64"));
        assert!(decode("aGVsbG8gd29ybGQ=")
            .unwrap_err()
            .contains("HdrHistogram"));
    }
}
