//! Process-wide counters rendered as Prometheus text on `/metrics`. Kept apart from
//! the logs; nothing here identifies a client.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};

use crate::mailbox::refusal::Refusal;

/// Results a nameplate or mailbox summary can end with.
pub(crate) const RESULTS: [&str; 6] = ["happy", "lonely", "scary", "errory", "pruney", "crowded"];
/// How a relay connection can end.
pub(crate) const RELAY_RESULTS: [&str; 7] = [
    "happy",
    "lonely",
    "errory",
    "impatient",
    "redundant",
    "busy",
    "over_limit",
];

#[derive(Default)]
pub(crate) struct Gauge(AtomicI64);

impl Gauge {
    pub(crate) fn inc(&self) {
        self.0.fetch_add(1, Relaxed);
    }
    pub(crate) fn dec(&self) {
        self.0.fetch_sub(1, Relaxed);
    }
    pub(crate) fn set(&self, v: i64) {
        self.0.store(v, Relaxed);
    }
    pub(crate) fn get(&self) -> i64 {
        self.0.load(Relaxed)
    }
}

#[derive(Default)]
pub(crate) struct Counter(AtomicU64);

impl Counter {
    pub(crate) fn inc(&self) {
        self.add(1);
    }
    pub(crate) fn add(&self, n: u64) {
        self.0.fetch_add(n, Relaxed);
    }
    pub(crate) fn get(&self) -> u64 {
        self.0.load(Relaxed)
    }
}

/// All metrics; one instance per server, shared by `Arc`.
#[derive(Default)]
pub(crate) struct Metrics {
    pub(crate) ws_connections: Gauge,
    pub(crate) ws_connections_total: Counter,
    pub(crate) http_requests_total: Counter,
    pub(crate) refused_per_ip_mailbox: Counter,
    pub(crate) refused_per_ip_relay: Counter,
    pub(crate) slow_clients_dropped: Counter,
    /// Batches run again after a conflict with another instance (shared store).
    pub(crate) store_conflicts: Counter,
    pub(crate) idle_clients_dropped: Counter,
    pub(crate) oversize_frames: Counter,
    pub(crate) mailboxes: Gauge,
    pub(crate) nameplates: Gauge,
    pub(crate) subscribers: Gauge,
    pub(crate) messages_total: Counter,
    pub(crate) errors: [Counter; Refusal::ALL.len()],
    pub(crate) nameplate_results: [Counter; RESULTS.len()],
    pub(crate) mailbox_results: [Counter; RESULTS.len()],
    pub(crate) relay_connections: Gauge,
    pub(crate) relay_connections_total: Counter,
    pub(crate) relay_waiting: Gauge,
    pub(crate) relay_active_pairs: Gauge,
    pub(crate) relay_bytes_total: Counter,
    pub(crate) relay_results: [Counter; RELAY_RESULTS.len()],
    pub(crate) relay_forwarded_total: Counter,
    pub(crate) relay_forwarding: Gauge,
    pub(crate) relay_forwarded_bytes_total: Counter,
    pub(crate) relay_pool_refused_total: Counter,
    pub(crate) relay_pool_evictions_total: Counter,
    pub(crate) relay_pool_errors_total: Counter,
}

fn result_index(table: &[&str], result: &str) -> Option<usize> {
    table.iter().position(|r| *r == result)
}

impl Metrics {
    pub(crate) fn refused(&self, r: Refusal) {
        self.errors[r.index()].inc();
    }

    pub(crate) fn nameplate_result(&self, result: &str) {
        if let Some(i) = result_index(&RESULTS, result) {
            self.nameplate_results[i].inc();
        }
    }

    pub(crate) fn mailbox_result(&self, result: &str) {
        if let Some(i) = result_index(&RESULTS, result) {
            self.mailbox_results[i].inc();
        }
    }

    pub(crate) fn relay_result(&self, result: &str) {
        if let Some(i) = result_index(&RELAY_RESULTS, result) {
            self.relay_results[i].inc();
        }
    }

    /// The Prometheus text exposition.
    pub(crate) fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        let w = &mut out;
        gauge(
            w,
            "ferry_mailbox_connections",
            "Open mailbox WebSocket connections.",
            self.ws_connections.get(),
        );
        counter(
            w,
            "ferry_mailbox_connections_total",
            "Mailbox WebSocket connections accepted.",
            self.ws_connections_total.get(),
        );
        counter(
            w,
            "ferry_http_requests_total",
            "Plain HTTP requests (/, /health, /metrics, others).",
            self.http_requests_total.get(),
        );
        gauge(
            w,
            "ferry_mailboxes",
            "Mailboxes stored.",
            self.mailboxes.get(),
        );
        gauge(
            w,
            "ferry_nameplates",
            "Nameplates in use.",
            self.nameplates.get(),
        );
        gauge(
            w,
            "ferry_mailbox_subscribers",
            "Connections listening on a mailbox.",
            self.subscribers.get(),
        );
        counter(
            w,
            "ferry_messages_total",
            "Messages added to mailboxes.",
            self.messages_total.get(),
        );
        counter(
            w,
            "ferry_store_conflicts_total",
            "Command batches run again after a conflict with another instance (PostgreSQL).",
            self.store_conflicts.get(),
        );
        header(
            w,
            "ferry_connections_refused_total",
            "counter",
            "Connections refused by the per-IP cap.",
        );
        let _ = writeln!(
            w,
            "ferry_connections_refused_total{{service=\"mailbox\"}} {}",
            self.refused_per_ip_mailbox.get()
        );
        let _ = writeln!(
            w,
            "ferry_connections_refused_total{{service=\"relay\"}} {}",
            self.refused_per_ip_relay.get()
        );
        header(
            w,
            "ferry_clients_dropped_total",
            "counter",
            "Clients dropped by the server.",
        );
        let _ = writeln!(
            w,
            "ferry_clients_dropped_total{{reason=\"slow\"}} {}",
            self.slow_clients_dropped.get()
        );
        let _ = writeln!(
            w,
            "ferry_clients_dropped_total{{reason=\"idle\"}} {}",
            self.idle_clients_dropped.get()
        );
        let _ = writeln!(
            w,
            "ferry_clients_dropped_total{{reason=\"oversize\"}} {}",
            self.oversize_frames.get()
        );
        self.render_errors(w);
        labelled(
            w,
            "ferry_nameplate_results_total",
            "Nameplates by final result.",
            &RESULTS,
            &self.nameplate_results,
        );
        labelled(
            w,
            "ferry_mailbox_results_total",
            "Mailboxes by final result (mood).",
            &RESULTS,
            &self.mailbox_results,
        );
        gauge(
            w,
            "ferry_relay_connections",
            "Open relay connections.",
            self.relay_connections.get(),
        );
        counter(
            w,
            "ferry_relay_connections_total",
            "Relay connections accepted.",
            self.relay_connections_total.get(),
        );
        gauge(
            w,
            "ferry_relay_waiting",
            "Relay connections waiting for their partner.",
            self.relay_waiting.get(),
        );
        gauge(
            w,
            "ferry_relay_active_pairs",
            "Relayed pairs now.",
            self.relay_active_pairs.get(),
        );
        counter(
            w,
            "ferry_relay_bytes_total",
            "Bytes relayed (both directions).",
            self.relay_bytes_total.get(),
        );
        labelled(
            w,
            "ferry_relay_results_total",
            "Relay connections by result.",
            &RELAY_RESULTS,
            &self.relay_results,
        );
        self.render_pool(w);
        out
    }

    fn render_pool(&self, w: &mut String) {
        counter(
            w,
            "ferry_relay_forwarded_total",
            "Relay connections handed over to the pool instance owning their token.",
            self.relay_forwarded_total.get(),
        );
        gauge(
            w,
            "ferry_relay_forwarding",
            "Relay connections being handed over now.",
            self.relay_forwarding.get(),
        );
        counter(
            w,
            "ferry_relay_forwarded_bytes_total",
            "Bytes copied for handed-over connections (both directions; the owner counts them as relayed).",
            self.relay_forwarded_bytes_total.get(),
        );
        counter(
            w,
            "ferry_relay_pool_refused_total",
            "Hand-over lines refused (wrong tag or stale).",
            self.relay_pool_refused_total.get(),
        );
        counter(
            w,
            "ferry_relay_pool_evictions_total",
            "Pool instances that did not answer a hand-over; their token was evicted.",
            self.relay_pool_evictions_total.get(),
        );
        counter(
            w,
            "ferry_relay_pool_errors_total",
            "Relay directory calls that failed or timed out (the connection stayed here).",
            self.relay_pool_errors_total.get(),
        );
    }

    fn render_errors(&self, w: &mut String) {
        header(
            w,
            "ferry_mailbox_errors_total",
            "counter",
            "Error replies by kind.",
        );
        // Several refusals share a label: sum them.
        let mut seen: Vec<(&str, u64)> = Vec::new();
        for r in Refusal::ALL {
            let n = self.errors[r.index()].get();
            match seen.iter_mut().find(|(l, _)| *l == r.label()) {
                Some((_, total)) => *total += n,
                None => seen.push((r.label(), n)),
            }
        }
        for (label, n) in seen {
            let _ = writeln!(w, "ferry_mailbox_errors_total{{kind=\"{label}\"}} {n}");
        }
    }
}

fn header(w: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(w, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn gauge(w: &mut String, name: &str, help: &str, v: i64) {
    header(w, name, "gauge", help);
    let _ = writeln!(w, "{name} {v}");
}

fn counter(w: &mut String, name: &str, help: &str, v: u64) {
    header(w, name, "counter", help);
    let _ = writeln!(w, "{name} {v}");
}

fn labelled(w: &mut String, name: &str, help: &str, labels: &[&str], values: &[Counter]) {
    header(w, name, "counter", help);
    for (l, v) in labels.iter().zip(values) {
        let _ = writeln!(w, "{name}{{result=\"{l}\"}} {}", v.get());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::default();
        m.refused(Refusal::Crowded);
        m.mailbox_result("scary");
        m.relay_bytes_total.add(42);
        let text = m.render();
        assert!(text.contains("ferry_mailbox_errors_total{kind=\"crowded\"} 1"));
        assert!(text.contains("ferry_mailbox_results_total{result=\"scary\"} 1"));
        assert!(text.contains("ferry_relay_bytes_total 42"));
        assert!(text.contains("# TYPE ferry_relay_active_pairs gauge"));
        assert!(text.contains("ferry_relay_forwarded_total 0"));
        assert!(text.contains("# TYPE ferry_relay_forwarding gauge"));
    }
}
