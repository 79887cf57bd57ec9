//! Knobs: the settings of a lane that can change while a run goes on.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// How a lane's workers handle broker acknowledgements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AckStrategy {
    /// Await each ack before the next publish.
    Sync,
    /// Submit and go on; one collector per lane takes the acks.
    Async,
    /// Spawn one task per ack (a goroutine per message).
    TaskPerMessage,
    /// Submit `batch` messages, then await all of their acks.
    Batch,
    /// Never wait for acks; only submit is measured.
    None,
    /// An all-or-nothing batch of `batch` messages (NATS atomic batch publish, Kafka
    /// transactions): only the commit is acknowledged, so every message of a batch has the
    /// commit's ack time.
    Atomic,
    /// A fast-ingest batch of `batch` messages (NATS 2.14+): published one after another, the
    /// server acks every few of them (it sets how many), and the publisher holds back while
    /// `max_outstanding_acks` flow acks are due; each message's ack is the flow ack that covers it.
    Fast,
}

impl AckStrategy {
    /// Every strategy, in the order the `a` key cycles through them.
    pub const ALL: [AckStrategy; 7] = [
        AckStrategy::Sync,
        AckStrategy::Async,
        AckStrategy::TaskPerMessage,
        AckStrategy::Batch,
        AckStrategy::None,
        AckStrategy::Atomic,
        AckStrategy::Fast,
    ];

    /// The name used on the command line, in profiles, reports and on screen.
    pub fn as_str(self) -> &'static str {
        match self {
            AckStrategy::Sync => "sync",
            AckStrategy::Async => "async",
            AckStrategy::TaskPerMessage => "task-per-message",
            AckStrategy::Batch => "batch",
            AckStrategy::None => "none",
            AckStrategy::Atomic => "atomic",
            AckStrategy::Fast => "fast",
        }
    }

    /// The strategy after this one, wrapping around.
    pub fn next(self) -> AckStrategy {
        let i = Self::ALL.iter().position(|s| *s == self).unwrap_or(0);
        Self::ALL[(i + 1) % Self::ALL.len()]
    }
}

impl fmt::Display for AckStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AckStrategy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .copied()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| {
                let all: Vec<&str> = Self::ALL.iter().map(|a| a.as_str()).collect();
                format!("unknown ack strategy `{s}` (expected {})", all.join(", "))
            })
    }
}

/// The live settings of one lane. Every change closes a phase and opens the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Knobs {
    /// Publisher tasks.
    pub concurrency: u32,
    /// Un-acked messages in flight allowed on the lane (pubduel's own semaphore).
    pub max_pending: u32,
    /// Ack handling strategy.
    pub ack: AckStrategy,
    /// Target msg/s for the lane; 0 = as fast as possible (closed loop).
    pub rate: u64,
    /// Payload size in bytes.
    pub message_size: u32,
    /// Messages per batch for the `batch`, `atomic` and `fast` strategies.
    pub batch: u32,
    /// Flow acks a `fast` batch may have due before the publisher waits (the server sets how
    /// many messages each covers).
    #[serde(default = "default_outstanding_acks")]
    pub max_outstanding_acks: u32,
    /// Headers per message (0: none); the end-to-end timing then travels in one more.
    #[serde(default)]
    pub headers: u32,
    /// Bytes of each header's value.
    #[serde(default = "default_header_size")]
    pub header_size: u32,
    /// Distinct message keys: Kafka record keys, and for NATS the last token of the subject.
    /// `None`: the lane's own way (Kafka rotates 64 keys, NATS publishes to one subject);
    /// `Some(0)`: no key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<u32>,
}

fn default_header_size() -> u32 {
    16
}

fn default_outstanding_acks() -> u32 {
    2
}

impl Default for Knobs {
    fn default() -> Self {
        Knobs {
            concurrency: 4,
            max_pending: 1024,
            ack: AckStrategy::Async,
            rate: 1000,
            message_size: 256,
            batch: 64,
            max_outstanding_acks: default_outstanding_acks(),
            headers: 0,
            header_size: default_header_size(),
            keys: None,
        }
    }
}

/// Knob values a flag, a profile or a per-lane override may set; unset ones fall through to the
/// next layer. This is the one list of knobs: the CLI flattens it into its flags, profiles
/// flatten it into their top level and `[lane.*]` tables, and the profile's known keys are
/// [`KnobLayer::KEYS`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct KnobLayer {
    /// Publisher tasks per lane.
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = whole_number::<u32>)]
    pub concurrency: Option<u32>,
    /// Un-acked messages allowed in flight per lane (pubduel's own limit, same for both lanes).
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = whole_number::<u32>)]
    pub max_pending: Option<u32>,
    /// Ack handling: sync, async, task-per-message, batch, none, atomic or fast.
    #[arg(long, value_name = "STRATEGY")]
    pub ack: Option<AckStrategy>,
    /// Target msg/s per lane; 0 = as fast as possible (closed loop).
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = whole_number::<u64>)]
    pub rate: Option<u64>,
    /// Payload size in bytes.
    #[arg(long, value_name = "BYTES", allow_negative_numbers = true, value_parser = whole_number::<u32>)]
    pub message_size: Option<u32>,
    /// Messages per batch for the batch, atomic and fast strategies.
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = whole_number::<u32>)]
    pub batch: Option<u32>,
    /// Flow acks a fast batch may have due before the publisher waits.
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = whole_number::<u32>)]
    pub max_outstanding_acks: Option<u32>,
    /// Headers per message (0: none); the end-to-end timing then travels in a header too.
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = whole_number::<u32>)]
    pub headers: Option<u32>,
    /// Bytes of each header's value.
    #[arg(long, value_name = "BYTES", allow_negative_numbers = true, value_parser = whole_number::<u32>)]
    pub header_size: Option<u32>,
    /// Distinct message keys: Kafka record keys, NATS subject tokens (0: no key).
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = whole_number::<u32>)]
    pub keys: Option<u32>,
}

/// A knob's value on the command line: a whole number, 0 or more (the range is checked later).
fn whole_number<T: std::str::FromStr>(s: &str) -> Result<T, String> {
    if s.trim().starts_with('-') {
        return Err(format!("must be 0 or more, got {s}"));
    }
    s.trim()
        .parse()
        .map_err(|_| format!("must be a whole number, got {s}"))
}

impl KnobLayer {
    /// The knobs' names, as profile keys (`max_pending`); flags spell them with dashes.
    pub const KEYS: &'static [&'static str] = &[
        "concurrency",
        "max_pending",
        "ack",
        "rate",
        "message_size",
        "batch",
        "max_outstanding_acks",
        "headers",
        "header_size",
        "keys",
    ];

    /// `base` with this layer's values on top.
    pub fn over(&self, base: Knobs) -> Knobs {
        Knobs {
            concurrency: self.concurrency.unwrap_or(base.concurrency),
            max_pending: self.max_pending.unwrap_or(base.max_pending),
            ack: self.ack.unwrap_or(base.ack),
            rate: self.rate.unwrap_or(base.rate),
            message_size: self.message_size.unwrap_or(base.message_size),
            batch: self.batch.unwrap_or(base.batch),
            max_outstanding_acks: (self.max_outstanding_acks).unwrap_or(base.max_outstanding_acks),
            headers: self.headers.unwrap_or(base.headers),
            header_size: self.header_size.unwrap_or(base.header_size),
            keys: self.keys.or(base.keys),
        }
    }

    /// Every knob of `k`, set.
    pub fn of(k: &Knobs) -> KnobLayer {
        KnobLayer {
            concurrency: Some(k.concurrency),
            max_pending: Some(k.max_pending),
            ack: Some(k.ack),
            rate: Some(k.rate),
            message_size: Some(k.message_size),
            batch: Some(k.batch),
            max_outstanding_acks: Some(k.max_outstanding_acks),
            headers: Some(k.headers),
            header_size: Some(k.header_size),
            keys: k.keys,
        }
    }
}

/// Upper limits that keep a knob change from exhausting the machine.
pub mod limits {
    /// Most publisher tasks per lane.
    pub const MAX_CONCURRENCY: u32 = 4096;
    /// Most un-acked messages per lane.
    pub const MAX_PENDING: u32 = 4_000_000;
    /// Largest payload (the NATS default max_payload is 1 MiB).
    pub const MAX_MESSAGE_SIZE: u32 = 1024 * 1024;
    /// Largest batch.
    pub const MAX_BATCH: u32 = 100_000;
    /// Highest rate per lane.
    pub const MAX_RATE: u64 = 10_000_000;
    /// Most headers per message.
    pub const MAX_HEADERS: u32 = 64;
    /// Longest header value.
    pub const MAX_HEADER_SIZE: u32 = 4096;
    /// Most distinct keys.
    pub const MAX_KEYS: u32 = 1_000_000;
    /// Most flow acks due in a fast batch (the reply subject's 16-bit field).
    pub const MAX_OUTSTANDING_ACKS: u32 = 65_535;
}

impl Knobs {
    /// Checks every knob against its allowed range; the error names the knob.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        use limits::*;
        let range = |name: &'static str, v: u64, lo: u64, hi: u64| {
            if v < lo || v > hi {
                Err((name, format!("must be between {lo} and {hi}, got {v}")))
            } else {
                Ok(())
            }
        };
        range(
            "concurrency",
            self.concurrency.into(),
            1,
            MAX_CONCURRENCY.into(),
        )?;
        range(
            "max_pending",
            self.max_pending.into(),
            1,
            MAX_PENDING.into(),
        )?;
        range(
            "message_size",
            self.message_size.into(),
            1,
            MAX_MESSAGE_SIZE.into(),
        )?;
        range("batch", self.batch.into(), 1, MAX_BATCH.into())?;
        range(
            "max_outstanding_acks",
            self.max_outstanding_acks.into(),
            1,
            MAX_OUTSTANDING_ACKS.into(),
        )?;
        range("headers", self.headers.into(), 0, MAX_HEADERS.into())?;
        range(
            "header_size",
            self.header_size.into(),
            1,
            MAX_HEADER_SIZE.into(),
        )?;
        range("keys", self.keys.unwrap_or(0).into(), 0, MAX_KEYS.into())?;
        range("rate", self.rate, 0, MAX_RATE)?;
        Ok(())
    }

    /// `concurrency 8  max-pending 4000  ack async  rate 500/s  size 256B`, as the UI shows it.
    pub fn summary(&self) -> String {
        let rate = if self.rate == 0 {
            "max".to_string()
        } else {
            format!("{}/s", self.rate)
        };
        let mut s = format!(
            "concurrency {}  max-pending {}  ack {}  rate {}  size {}B",
            self.concurrency, self.max_pending, self.ack, rate, self.message_size
        );
        if matches!(
            self.ack,
            AckStrategy::Batch | AckStrategy::Atomic | AckStrategy::Fast
        ) {
            s.push_str(&format!("  batch {}", self.batch));
        }
        if self.ack == AckStrategy::Fast {
            s.push_str(&format!("  acks-out {}", self.max_outstanding_acks));
        }
        if self.headers > 0 {
            s.push_str(&format!("  headers {}x{}B", self.headers, self.header_size));
        }
        if let Some(k) = self.keys {
            s.push_str(&format!("  keys {k}"));
        }
        s
    }
}

/// Which way a knob moves: doubled (up) or halved (down).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// Doubled (or, for a cycle, forward).
    Up,
    /// Halved (or, for a cycle, backward).
    Down,
}

/// One change to the knobs, as the TUI keys and the engine API express it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KnobChange {
    /// Add (or remove, when negative) publisher tasks.
    Concurrency(i32),
    /// Double or halve max-pending.
    MaxPending(Dir),
    /// Switch to the next ack strategy.
    NextAck,
    /// Set a given ack strategy.
    Ack(AckStrategy),
    /// Double or halve the rate; 0 (max) stays put.
    Rate(Dir),
    /// Double or halve the message size.
    MessageSize(Dir),
    /// Double or halve the batch.
    Batch(Dir),
    /// Replace all knobs.
    Set(Knobs),
}

fn scale_u32(v: u32, dir: Dir, lo: u32, hi: u32) -> u32 {
    let next = match dir {
        Dir::Up => v.saturating_mul(2),
        Dir::Down => v / 2,
    };
    next.clamp(lo, hi)
}

impl Knobs {
    /// The knobs after `change`, kept inside the limits.
    pub fn apply(&self, change: KnobChange) -> Knobs {
        use limits::*;
        let mut k = *self;
        match change {
            KnobChange::Concurrency(d) => {
                k.concurrency = (i64::from(k.concurrency) + i64::from(d))
                    .clamp(1, i64::from(MAX_CONCURRENCY)) as u32
            }
            KnobChange::MaxPending(up) => {
                k.max_pending = scale_u32(k.max_pending, up, 1, MAX_PENDING)
            }
            KnobChange::NextAck => k.ack = k.ack.next(),
            KnobChange::Ack(a) => k.ack = a,
            KnobChange::Rate(up) => {
                k.rate = match (k.rate, up) {
                    (0, _) => 0,
                    (r, Dir::Up) => r.saturating_mul(2).min(MAX_RATE),
                    (r, Dir::Down) => (r / 2).max(1),
                }
            }
            KnobChange::MessageSize(up) => {
                k.message_size = scale_u32(k.message_size, up, 1, MAX_MESSAGE_SIZE)
            }
            KnobChange::Batch(up) => k.batch = scale_u32(k.batch, up, 1, MAX_BATCH),
            KnobChange::Set(n) => k = n,
        }
        k
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ack_strategies_round_trip_and_cycle() {
        for a in AckStrategy::ALL {
            assert_eq!(a.as_str().parse::<AckStrategy>().unwrap(), a);
        }
        assert_eq!(AckStrategy::None.next(), AckStrategy::Atomic);
        assert_eq!(AckStrategy::Atomic.next(), AckStrategy::Fast);
        assert_eq!(AckStrategy::Fast.next(), AckStrategy::Sync);
        assert!("faster".parse::<AckStrategy>().is_err());
    }

    #[test]
    fn changes_stay_in_range() {
        let k = Knobs {
            concurrency: 1,
            max_pending: 1,
            rate: 1,
            ..Knobs::default()
        };
        assert_eq!(k.apply(KnobChange::Concurrency(-1)).concurrency, 1);
        assert_eq!(k.apply(KnobChange::MaxPending(Dir::Down)).max_pending, 1);
        assert_eq!(k.apply(KnobChange::MaxPending(Dir::Up)).max_pending, 2);
        assert_eq!(k.apply(KnobChange::Rate(Dir::Down)).rate, 1);
        let max = Knobs { rate: 0, ..k };
        assert_eq!(max.apply(KnobChange::Rate(Dir::Up)).rate, 0);
        assert_eq!(
            k.apply(KnobChange::NextAck).ack,
            AckStrategy::TaskPerMessage
        );
    }

    #[test]
    fn one_knob_schema_for_flags_profiles_and_keys() {
        use clap::CommandFactory;
        #[derive(clap::Parser)]
        struct Flags {
            #[command(flatten)]
            knobs: KnobLayer,
        }
        let flags: Vec<String> = Flags::command()
            .get_arguments()
            .filter_map(|a| a.get_long().map(|l| l.replace('-', "_")))
            .collect();
        assert_eq!(flags, KnobLayer::KEYS);
        let every = KnobLayer::of(&Knobs {
            keys: Some(8),
            ..Knobs::default()
        });
        let text = toml::to_string(&every).unwrap();
        let keys: Vec<&str> = text.lines().filter_map(|l| l.split(" = ").next()).collect();
        assert_eq!(keys, KnobLayer::KEYS);
        assert_eq!(toml::from_str::<KnobLayer>(&text).unwrap(), every);
    }

    #[test]
    fn validate_names_the_knob() {
        let bad = Knobs {
            concurrency: 0,
            ..Knobs::default()
        };
        assert_eq!(bad.validate().unwrap_err().0, "concurrency");
        assert!(Knobs::default().validate().is_ok());
    }
}
