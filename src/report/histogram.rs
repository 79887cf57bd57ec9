//! Histograms in the report: the standard HdrHistogram V2 compressed encoding, base64, so any
//! HdrHistogram library (Java, Go, Python, C) decodes them, and runs merge exactly.

use crate::metrics::{decode_v2, encode_v2, HistogramError};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hdrhistogram::Histogram;

/// Encodes `h` as base64 of its V2 compressed (deflate) form.
pub fn encode(h: &Histogram<u64>) -> Result<String, HistogramError> {
    Ok(base64_of(&encode_v2(h)?))
}

/// Base64 of a histogram already in its V2 form.
pub fn base64_of(v2: &[u8]) -> String {
    STANDARD.encode(v2)
}

/// Decodes a histogram written by [`encode`] (or any HdrHistogram V2 writer, compressed or not).
pub fn decode(text: &str) -> Result<Histogram<u64>, HistogramError> {
    let bytes = STANDARD
        .decode(text.trim())
        .map_err(|e| HistogramError::Decode(format!("not base64: {e}")))?;
    decode_v2(&bytes)
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
        let back = decode(&encode(&h).unwrap()).unwrap();
        assert_eq!(back.len(), h.len());
        for q in [0.5, 0.9, 0.99, 0.999, 1.0] {
            assert_eq!(back.value_at_quantile(q), h.value_at_quantile(q), "q {q}");
        }
    }

    #[test]
    fn garbage_does_not_decode() {
        let e = decode("not base64 at all!").unwrap_err().to_string();
        assert!(e.contains("base64"), "{e}");
        let e = decode("aGVsbG8gd29ybGQ=").unwrap_err().to_string();
        assert!(e.contains("HdrHistogram"), "{e}");
    }
}
