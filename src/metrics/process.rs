//! The process itself, read from Linux's `/proc` at each scrape: CPU seconds, resident and
//! virtual memory, open and allowed file descriptors, start time (the `process_*` family
//! Prometheus's own clients export). Elsewhere than Linux the family is simply empty.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

/// Linux's USER_HZ: the unit of `/proc/<pid>/stat` times on every mainstream architecture.
const TICKS_PER_SECOND: f64 = 100.0;

#[derive(Debug, Default)]
pub struct ProcessCollector;

/// What one scrape reads.
#[derive(Debug, Default, PartialEq)]
struct Reading {
    cpu_seconds: f64,
    resident_bytes: i64,
    virtual_bytes: i64,
    open_fds: i64,
    max_fds: i64,
    start_time_seconds: i64,
}

fn read() -> Option<Reading> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok());
    let cpu_seconds = (ticks(11)? + ticks(12)?) / TICKS_PER_SECOND;
    let started_ticks = ticks(19)?;
    let virtual_bytes = fields.get(20)?.parse().ok()?;
    let page = 4096;
    let resident_bytes = fields.get(21)?.parse::<i64>().ok()? * page;
    let boot = std::fs::read_to_string("/proc/stat").ok().and_then(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("btime "))
            .and_then(|v| v.trim().parse::<f64>().ok())
    })?;
    let open_fds = std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count() as i64);
    let max_fds = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3)?.parse().ok())
        })
        .unwrap_or(0);
    Some(Reading {
        cpu_seconds,
        resident_bytes,
        virtual_bytes,
        open_fds,
        max_fds,
        start_time_seconds: (boot + started_ticks / TICKS_PER_SECOND) as i64,
    })
}

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(r) = read() else { return Ok(()) };
        let cpu = ConstCounter::new(r.cpu_seconds);
        cpu.encode(encoder.encode_descriptor(
            "process_cpu_seconds",
            "User and system CPU time spent, in seconds",
            None,
            MetricType::Counter,
        )?)?;
        for (name, help, value) in [
            (
                "process_resident_memory_bytes",
                "Resident memory, in bytes",
                r.resident_bytes,
            ),
            (
                "process_virtual_memory_bytes",
                "Virtual memory, in bytes",
                r.virtual_bytes,
            ),
            ("process_open_fds", "Open file descriptors", r.open_fds),
            (
                "process_max_fds",
                "The most file descriptors the process may open",
                r.max_fds,
            ),
            (
                "process_start_time_seconds",
                "Start time of the process, in seconds since the Unix epoch",
                r.start_time_seconds,
            ),
        ] {
            ConstGauge::new(value).encode(encoder.encode_descriptor(
                name,
                help,
                None,
                MetricType::Gauge,
            )?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_read_from_proc() {
        let r = read().expect("Linux /proc");
        assert!(r.resident_bytes > 1024 * 1024);
        assert!(r.open_fds > 2 && r.max_fds >= r.open_fds);
        assert!(r.start_time_seconds > 1_600_000_000);
    }
}
