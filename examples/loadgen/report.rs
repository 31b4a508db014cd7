//! Results: one [`Outcome`] per measured phase, as a table and as JSON.

use std::{collections::BTreeMap, path::Path};

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::server::Usage;

/// What one phase measured.
#[derive(Debug, Default, Serialize)]
pub struct Outcome {
    /// Scenario (and phase).
    pub name: String,
    /// Its size and rate.
    pub params: String,
    /// Open connections.
    pub connections: usize,
    /// Connections per second while connecting (`idle`).
    pub connects_per_sec: f64,
    /// Messages sent.
    pub sent: u64,
    /// Deliveries the sends should cause.
    pub expected: u64,
    /// Deliveries received (each with a latency).
    pub delivered: u64,
    /// Wall time of the phase, drain included.
    pub seconds: f64,
    /// Server CPU seconds used in the phase.
    pub server_cpu_secs: f64,
    /// Server RSS at the end, bytes.
    pub rss_after: u64,
    /// `idle`: RSS growth per connection, bytes.
    pub rss_per_connection: f64,
    /// `idle`: (connections, RSS bytes) as they grew.
    pub rss_curve: Vec<(usize, u64)>,
    /// Latency percentiles, µs (scheduled send → receive, every recipient).
    pub p50_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// 99.9th percentile.
    pub p999_us: u64,
    /// Worst.
    pub max_us: u64,
    /// p99 of how late the generator itself sent, against the schedule, µs (part of every
    /// latency figure; when it is large the generator, not the server, is the bottleneck).
    pub send_lateness_p99_us: u64,
    /// `slow`: the others' p99 with one reader stalled over their p99 without; `abuse`: the
    /// crowd's p99 in this phase over its p99 in `baseline` (reported, never checked: noisy).
    pub p99_ratio: Option<f64>,
    /// `slow`: whether the stalled reader was evicted (closed with 4008, or dropped when not even
    /// the close frame fit in its socket).
    pub evicted: Option<bool>,
    /// Readers whose connection ended mid-phase and who reconnected and resumed.
    pub reconnects: u64,
    /// `drain`: milliseconds from SIGTERM to the process's exit.
    pub drain_ms: Option<f64>,
    /// `drain`: sockets that got a `reconnect` frame and close 1001.
    pub goodbyes: Option<usize>,
    /// `abuse`: the server's highest RSS in the phase (sampled every 50 ms), bytes.
    pub rss_peak: Option<u64>,
    /// `abuse`: the server's open file descriptors at the end of the phase.
    pub fds_after: Option<u64>,
    /// `abuse`: the most open file descriptors seen in the phase.
    pub fds_peak: Option<u64>,
    /// `abuse`: what the attackers did and what the server made of it (refused, closed, still
    /// held, rate limited, applied…), by name.
    pub attack: BTreeMap<&'static str, u64>,
    /// What went wrong (a run with problems exits non-zero).
    pub problems: Vec<String>,
    #[serde(skip)]
    server: Usage,
}

impl Outcome {
    /// An empty outcome for `name`.
    pub fn new(name: &str, params: String) -> Self {
        Self {
            name: name.into(),
            params,
            ..Self::default()
        }
    }

    /// Records the phase's latency percentiles.
    pub fn set_latency(&mut self, histogram: &Histogram<u64>) {
        self.p50_us = histogram.value_at_quantile(0.50);
        self.p99_us = histogram.value_at_quantile(0.99);
        self.p999_us = histogram.value_at_quantile(0.999);
        self.max_us = histogram.max();
        if self.delivered < self.expected {
            self.problems.push(format!(
                "{} of {} deliveries did not arrive within the drain time",
                self.expected - self.delivered,
                self.expected
            ));
        }
        if self.delivered > self.expected {
            self.problems.push(format!(
                "{} deliveries more than sent: duplicates",
                self.delivered - self.expected
            ));
        }
    }

    /// Deliveries per second of wall time.
    fn deliveries_per_sec(&self) -> f64 {
        self.delivered as f64 / self.seconds.max(1e-9)
    }

    /// Deliveries per second of server CPU: holds on a shared machine.
    fn deliveries_per_cpu_sec(&self) -> f64 {
        self.delivered as f64 / self.server_cpu_secs.max(1e-9)
    }
}

impl Outcome {
    /// Sets the server usage for the phase.
    pub fn set_server(&mut self, usage: Usage) {
        self.server = usage;
        self.server_cpu_secs = usage.cpu_secs;
    }
}

fn ms(us: u64) -> String {
    format!("{:.2}", us as f64 / 1000.0)
}

/// Bytes as MiB, one decimal.
fn mib(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / (1024.0 * 1024.0))
}

/// Prints one line per outcome, then the `abuse` phases' costs if there are any.
pub fn print_table(outcomes: &[Outcome]) {
    println!(
        "{:<30} {:<34} {:>7} {:>10} {:>10} {:>11} {:>12} {:>7} {:>7} {:>7} {:>8} {:>9}",
        "scenario",
        "parameters",
        "conns",
        "sent",
        "delivered",
        "deliv/s",
        "deliv/cpu-s",
        "p50 ms",
        "p99 ms",
        "p99.9",
        "max ms",
        "RSS MiB"
    );
    for o in outcomes {
        println!(
            "{:<30} {:<34} {:>7} {:>10} {:>10} {:>11.0} {:>12.0} {:>7} {:>7} {:>7} {:>8} {:>9.1}",
            o.name,
            o.params,
            o.connections,
            o.sent,
            o.delivered,
            o.deliveries_per_sec(),
            o.deliveries_per_cpu_sec(),
            ms(o.p50_us),
            ms(o.p99_us),
            ms(o.p999_us),
            ms(o.max_us),
            o.rss_after as f64 / (1024.0 * 1024.0)
        );
        if !o.rss_curve.is_empty() {
            println!(
                "    connects/s {:.0}; RSS per connection {:.0} B; growth {}",
                o.connects_per_sec,
                o.rss_per_connection,
                o.rss_curve
                    .iter()
                    .map(|(n, rss)| format!("{n}:{:.1}MiB", *rss as f64 / 1048576.0))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
        }
        if let (Some(ms), Some(goodbyes)) = (o.drain_ms, o.goodbyes) {
            println!(
                "    SIGTERM to exit {ms:.1} ms; {goodbyes} of {} sockets got reconnect + close 1001",
                o.connections
            );
        }
        if o.sent > 0 {
            println!(
                "    generator send lateness p99 {} ms",
                ms(o.send_lateness_p99_us)
            );
        }
        if let (Some(ratio), Some(evicted)) = (o.p99_ratio, o.evicted) {
            println!(
                "    others' p99 ratio stalled/baseline {ratio:.2}; stalled reader evicted: {evicted}"
            );
        }
    }
    print_abuse_table(outcomes);
}

/// The `abuse` phases: what each cost the server and the crowd, and what the attackers got.
fn print_abuse_table(outcomes: &[Outcome]) {
    let phases: Vec<&Outcome> = outcomes.iter().filter(|o| o.rss_peak.is_some()).collect();
    if phases.is_empty() {
        return;
    }
    println!();
    println!(
        "{:<30} {:>8} {:>8} {:>6} {:>7} {:>7} {:>6}  attack",
        "abuse phase", "RSS MiB", "peak", "fds", "fd peak", "p99 ms", "×base"
    );
    for o in phases {
        let attack = if o.attack.is_empty() {
            "-".to_owned()
        } else {
            o.attack
                .iter()
                .map(|(name, n)| format!("{name}={n}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        println!(
            "{:<30} {:>8} {:>8} {:>6} {:>7} {:>7} {:>6}  {attack}",
            o.name,
            mib(o.rss_after),
            mib(o.rss_peak.unwrap_or(0)),
            o.fds_after.unwrap_or(0),
            o.fds_peak.unwrap_or(0),
            ms(o.p99_us),
            o.p99_ratio.map_or("-".to_owned(), |r| format!("{r:.2}")),
        );
    }
}

/// Writes every outcome as a JSON array.
pub fn write_json(path: &Path, outcomes: &[Outcome]) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(outcomes).map_err(std::io::Error::other)?;
    std::fs::write(path, text)
}
