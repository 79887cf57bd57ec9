//! Stages: the stretches of a message's life whose latency is recorded, and how their
//! microseconds are written.

use serde::{Deserialize, Serialize};

/// A stretch of a message's life whose latency is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Publish call start to return, including any wait for a max-pending permit.
    Submit,
    /// Publish start to broker acknowledgement.
    Ack,
    /// Publish start to receipt by the in-process consumer.
    E2e,
    /// Open loop only: actual start minus intended start.
    Lag,
    /// Open loop: `submit` measured from the actual start (uncorrected).
    SubmitRaw,
    /// Open loop: `ack` measured from the actual start (uncorrected).
    AckRaw,
    /// Open loop: `e2e` measured from the actual start (uncorrected).
    E2eRaw,
    /// Publish start to a max-pending permit: the part of `submit` spent waiting for earlier acks.
    Permit,
    /// Hand-over to the client to the broker's ack: `ack` is `submit` plus `flight`.
    Flight,
}

impl Stage {
    /// Every stage, in display order.
    pub const ALL: [Stage; 9] = [
        Stage::Submit,
        Stage::Ack,
        Stage::E2e,
        Stage::Lag,
        Stage::Permit,
        Stage::Flight,
        Stage::SubmitRaw,
        Stage::AckRaw,
        Stage::E2eRaw,
    ];

    /// The name used in reports and on screen.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Submit => "submit",
            Stage::Ack => "ack",
            Stage::E2e => "e2e",
            Stage::Lag => "lag",
            Stage::SubmitRaw => "submit_raw",
            Stage::AckRaw => "ack_raw",
            Stage::E2eRaw => "e2e_raw",
            Stage::Permit => "permit",
            Stage::Flight => "flight",
        }
    }

    /// The stage's position in [`Stage::ALL`]'s declaration order, for arrays indexed by stage.
    #[inline]
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Formats microseconds with a unit chosen for the value: `850us`, `12.3ms`, `1.50s`.
pub fn fmt_us(v: u64) -> String {
    scaled_us(v, false)
}

/// [`fmt_us`] with one digit less, for narrow columns: `850us`, `12ms`, `1.5s`.
pub fn fmt_us_short(v: u64) -> String {
    scaled_us(v, true)
}

fn scaled_us(v: u64, short: bool) -> String {
    if v < 1_000 {
        return format!("{v}us");
    }
    let (x, unit) = if v < 1_000_000 {
        (v as f64 / 1e3, "ms")
    } else {
        (v as f64 / 1e6, "s")
    };
    let decimals = match (short, unit, x < 10.0) {
        (true, _, true) => 1,
        (true, _, false) => 0,
        (false, "ms", false) => 1,
        (false, _, _) => 2,
    };
    format!("{x:.decimals$}{unit}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_follow_the_value() {
        assert_eq!(fmt_us(850), "850us");
        assert_eq!(fmt_us(1_234), "1.23ms");
        assert_eq!(fmt_us(12_345), "12.3ms");
        assert_eq!(fmt_us(1_500_000), "1.50s");
        assert_eq!(fmt_us(12_000_000), "12.00s");
        assert_eq!(fmt_us_short(850), "850us");
        assert_eq!(fmt_us_short(1_234), "1.2ms");
        assert_eq!(fmt_us_short(123_456), "123ms");
        assert_eq!(fmt_us_short(1_500_000), "1.5s");
        assert_eq!(fmt_us_short(12_000_000), "12s");
    }
}
