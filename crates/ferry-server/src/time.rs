//! Wall-clock timestamps as the protocol carries them: float seconds since the epoch.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, as `server_tx`/`server_rx` carry them.
pub(crate) fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Rounds a timestamp down to a multiple of `blur` seconds (usage records keep no
/// more precision than the operator asked for).
pub(crate) fn blur(t: f64, blur: Option<f64>) -> f64 {
    match blur {
        Some(b) if b > 0.0 => (t / b).floor() * b,
        _ => t,
    }
}

/// Rounds a relayed byte count like the reference relay's `--blur-usage` does:
/// under 1 kB to 0, then to kB up to 1 MB, MB up to 1 GB, else 100 MB steps.
pub(crate) fn blur_bytes(n: u64) -> u64 {
    const KB: u64 = 1000;
    const MB: u64 = 1000 * KB;
    const GB: u64 = 1000 * MB;
    let step = match n {
        n if n < KB => return 0,
        n if n < MB => KB,
        n if n < GB => MB,
        _ => 100 * MB,
    };
    n / step * step
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blur_rounds_down() {
        assert_eq!(blur(125.7, Some(60.0)), 120.0);
        assert_eq!(blur(125.7, None), 125.7);
        assert_eq!(blur_bytes(999), 0);
        assert_eq!(blur_bytes(12_345), 12_000);
        assert_eq!(blur_bytes(1_234_567_890), 1_200_000_000);
    }
}
