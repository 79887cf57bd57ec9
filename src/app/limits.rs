//! What a lane's own settings rule out: a latency bound no rate can meet with them, or a rate
//! they cap. A verdict that names the setting says what to change; one that only says "broken"
//! sends the user lowering the rate for nothing.
//!
//! - Kafka `linger_ms`: librdkafka holds a message until its batch is full or the batch's first
//!   message has waited `linger_ms`. Below the rate that fills a batch within the linger, the
//!   waits spread evenly over `[0, linger]` (all of it when a batch holds one message), so the
//!   q-quantile of every stage that waits for the broker (`ack`, `flight`, `e2e`) is at least
//!   `q * linger`. A bound at or below that is unreachable at any such rate.
//! - In flight (Little's law): in flight = rate x ack latency, and a lane holds at most
//!   `max_pending` in flight (`concurrency` with `sync`, `concurrency x batch` with the batch
//!   strategies), so it cannot sustain more than that cap over the ack latency.
//! - NATS `ack_timeout_ms`: an ack later than it is an error, not a latency.

use crate::brokers::BrokerSettings;
use crate::report::threshold::{Bound, Metric, Op, Stat, Threshold};
use crate::vocab::{fmt_us, AckStrategy, Knobs, Stage};

/// librdkafka's `batch.num.messages` and `batch.size` defaults.
const RDKAFKA_BATCH_MESSAGES: u64 = 10_000;
const RDKAFKA_BATCH_BYTES: u64 = 1_000_000;
/// Bytes a record takes in a batch beyond its payload (a record's own header, roughly).
const RECORD_OVERHEAD: u64 = 20;

/// A setting that keeps a bound from holding.
#[derive(Debug, Clone, PartialEq)]
pub struct Limit {
    /// What the setting does to the figure, naming it and its value.
    pub text: String,
    /// No rate up to the search's highest can meet the bound with this setting.
    pub unreachable: bool,
}

/// The setting that keeps the latency bound `t` from holding on a lane with `settings` and
/// first knobs `knobs`, at rates up to `max_rate`; `None` when no setting explains it.
pub fn latency_limit(
    settings: &BrokerSettings,
    knobs: &Knobs,
    t: &Threshold,
    max_rate: u64,
) -> Option<Limit> {
    let (Metric::Stage(stage, stat), Bound::Value(bound_us)) = (t.metric, t.bound) else {
        return None;
    };
    if !matches!(t.op, Op::Lt | Op::Le) {
        return None;
    }
    let BrokerSettings::Kafka(k) = settings else {
        return None;
    };
    let waits_for_broker = matches!(
        stage,
        Stage::Ack | Stage::AckRaw | Stage::Flight | Stage::E2e | Stage::E2eRaw
    ) || (stage == Stage::Submit && knobs.ack == AckStrategy::Sync);
    if k.linger_ms == 0 || !waits_for_broker {
        return None;
    }
    let linger_us = f64::from(k.linger_ms) * 1000.0;
    let floor_us = share(stat) * linger_us;
    if bound_us > linger_us {
        return None;
    }
    let per_batch = batch_messages(k, knobs.message_size);
    let fill_rate = (per_batch as f64 / (linger_us / 1e6)) as u64;
    let unreachable = bound_us <= floor_us && max_rate < fill_rate;
    let text = if unreachable {
        format!(
            "unreachable while linger_ms = {}: librdkafka holds each message up to {} ms for its \
             batch, so {} cannot go below about {} at any rate that does not fill a batch of {} \
             within the linger ({} msg/s); set linger_ms below the bound (0 sends at once)",
            k.linger_ms,
            k.linger_ms,
            t.text.split(['<', '>', '=']).next().unwrap_or("").trim(),
            fmt_us(floor_us as u64),
            per_batch,
            fill_rate
        )
    } else {
        format!(
            "linger_ms = {} takes up to {} of the {} the bound allows (each message waits up to \
             the linger for its batch)",
            k.linger_ms,
            fmt_us(floor_us as u64),
            fmt_us(bound_us as u64)
        )
    };
    Some(Limit { text, unreachable })
}

/// The smallest share of the linger the quantile `stat` of the waits can be.
fn share(stat: Stat) -> f64 {
    match stat {
        Stat::P50 | Stat::Mean => 0.5,
        Stat::P90 => 0.9,
        Stat::P99 => 0.99,
        Stat::P999 => 0.999,
        Stat::Max => 1.0,
    }
}

/// Messages of `size` bytes a Kafka batch holds before it is sent without waiting for the linger.
fn batch_messages(k: &crate::brokers::kafka::KafkaSettings, size: u32) -> u64 {
    let prop = |name: &str| k.properties.get(name).and_then(|v| v.parse::<u64>().ok());
    let count = prop("batch.num.messages").unwrap_or(RDKAFKA_BATCH_MESSAGES);
    let bytes = (k.batch_size.map(u64::from))
        .or_else(|| prop("batch.size"))
        .unwrap_or(RDKAFKA_BATCH_BYTES);
    count
        .min(bytes / (u64::from(size) + RECORD_OVERHEAD))
        .max(1)
}

/// Messages a lane with `knobs` may have in flight at once.
pub fn in_flight_cap(knobs: &Knobs) -> u64 {
    let c = u64::from(knobs.concurrency);
    match knobs.ack {
        AckStrategy::Sync => c,
        AckStrategy::Batch | AckStrategy::Atomic => {
            (c * u64::from(knobs.batch)).min(u64::from(knobs.max_pending))
        }
        _ => u64::from(knobs.max_pending),
    }
}

/// When a lane fell behind `rate` with its in-flight cap in the way: the knob that caps it, by
/// Little's law from the ack latency measured (`ack_us`, the broker's part).
pub fn rate_cap(knobs: &Knobs, rate: u64, ack_us: f64) -> Option<String> {
    if ack_us <= 0.0 {
        return None;
    }
    let cap = in_flight_cap(knobs);
    let most = cap as f64 / (ack_us / 1e6);
    if (rate as f64) < 0.9 * most {
        return None;
    }
    let knob = match knobs.ack {
        AckStrategy::Sync => format!("concurrency {} with ack sync", knobs.concurrency),
        AckStrategy::Batch | AckStrategy::Atomic if cap < u64::from(knobs.max_pending) => {
            format!("concurrency {} x batch {}", knobs.concurrency, knobs.batch)
        }
        _ => format!("max-pending {}", knobs.max_pending),
    };
    Some(format!(
        "{knob} caps this lane near {cap} in flight / {} ack = {:.0} msg/s (Little's law: in \
         flight = rate x ack latency); raise it to go faster",
        fmt_us(ack_us as u64),
        most
    ))
}

/// Why errors on a NATS lane may be late acks rather than failures.
pub fn timeout_note(settings: &BrokerSettings, t: &Threshold) -> Option<String> {
    let (BrokerSettings::Nats(n), Bound::Value(bound_us)) = (settings, t.bound) else {
        return None;
    };
    let timeout_us = n.ack_timeout_ms as f64 * 1000.0;
    (timeout_us <= bound_us * 10.0).then(|| {
        format!(
            "acks later than ack_timeout_ms = {} count as errors, not as latency",
            n.ack_timeout_ms
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::brokers::kafka::KafkaSettings;
    use crate::brokers::nats::NatsSettings;

    fn slo(s: &str) -> Threshold {
        crate::profile::parse_assert(s).unwrap()
    }

    fn kafka(linger_ms: u32) -> BrokerSettings {
        BrokerSettings::Kafka(KafkaSettings {
            linger_ms,
            ..KafkaSettings::default()
        })
    }

    #[test]
    fn a_bound_below_the_linger_is_unreachable_and_names_it() {
        let knobs = Knobs::default();
        let l = latency_limit(&kafka(5), &knobs, &slo("ack.p99 < 3ms"), 20_000).unwrap();
        assert!(l.unreachable && l.text.contains("linger_ms = 5"), "{l:?}");
        // At the linger itself the wait takes nearly all of the bound: named, not ruled out.
        let l = latency_limit(&kafka(5), &knobs, &slo("ack.p99 < 5ms"), 20_000).unwrap();
        assert!(!l.unreachable && l.text.contains("linger_ms = 5"), "{l:?}");
        // The median waits half the linger: 3 ms is above that.
        let l = latency_limit(&kafka(5), &knobs, &slo("ack.p50 < 3ms"), 20_000).unwrap();
        assert!(!l.unreachable, "{l:?}");
    }

    #[test]
    fn no_linger_or_a_loose_bound_or_nats_name_nothing() {
        let knobs = Knobs::default();
        let t = slo("ack.p99 < 3ms");
        assert_eq!(latency_limit(&kafka(0), &knobs, &t, 20_000), None);
        assert_eq!(
            latency_limit(&kafka(5), &knobs, &slo("ack.p99 < 20ms"), 20_000),
            None
        );
        let nats = BrokerSettings::Nats(NatsSettings::default());
        assert_eq!(latency_limit(&nats, &knobs, &t, 20_000), None);
        // Submit waits for the broker only when each publish awaits its ack.
        assert_eq!(
            latency_limit(&kafka(5), &knobs, &slo("submit.p99 < 3ms"), 20_000),
            None
        );
        let sync = Knobs {
            ack: AckStrategy::Sync,
            ..knobs
        };
        assert!(latency_limit(&kafka(5), &sync, &slo("submit.p99 < 3ms"), 20_000).is_some());
    }

    #[test]
    fn a_rate_that_fills_batches_within_the_linger_is_not_ruled_out() {
        let small = Knobs {
            message_size: 100,
            ..Knobs::default()
        };
        // 8333 messages of 120 bytes fill 1 MB; in 5 ms that is 1.67M msg/s.
        let t = slo("ack.p99 < 3ms");
        assert!(
            latency_limit(&kafka(5), &small, &t, 100_000)
                .unwrap()
                .unreachable
        );
        assert!(
            !latency_limit(&kafka(5), &small, &t, 2_000_000)
                .unwrap()
                .unreachable
        );
    }

    #[test]
    fn littles_law_names_the_knob_that_caps_the_rate() {
        let knobs = Knobs {
            max_pending: 64,
            ack: AckStrategy::Async,
            ..Knobs::default()
        };
        // 64 in flight over 2 ms: 32 000 msg/s at most.
        let why = rate_cap(&knobs, 40_000, 2000.0).unwrap();
        assert!(
            why.contains("max-pending 64") && why.contains("32000"),
            "{why}"
        );
        assert_eq!(rate_cap(&knobs, 10_000, 2000.0), None);
        let sync = Knobs {
            concurrency: 2,
            ack: AckStrategy::Sync,
            ..knobs
        };
        assert!(rate_cap(&sync, 1000, 2000.0)
            .unwrap()
            .contains("concurrency 2"));
    }
}
