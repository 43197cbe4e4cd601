//! PutMetadata's limit: at most 5 calls per second per channel; more are refused with
//! `ThrottlingException`. Pure: a sliding one-second window per key.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// Calls allowed per window.
pub const CALLS_PER_SECOND: usize = 5;
const WINDOW: Duration = Duration::from_secs(1);

/// The calls of the last second, per key.
#[derive(Debug, Default)]
pub struct Throttle {
    calls: HashMap<String, VecDeque<Instant>>,
}

impl Throttle {
    /// Counts a call for `key` at `now`; `false` when it is over the limit (and not counted).
    pub fn allow(&mut self, key: &str, now: Instant) -> bool {
        let calls = self.calls.entry(key.to_owned()).or_default();
        while calls
            .front()
            .is_some_and(|&at| now.saturating_duration_since(at) >= WINDOW)
        {
            calls.pop_front();
        }
        if calls.len() >= CALLS_PER_SECOND {
            return false;
        }
        calls.push_back(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_per_second_per_key() {
        let mut throttle = Throttle::default();
        let start = Instant::now();
        for n in 0..5 {
            assert!(throttle.allow("a", start + Duration::from_millis(n * 10)));
        }
        assert!(!throttle.allow("a", start + Duration::from_millis(100)));
        assert!(throttle.allow("b", start + Duration::from_millis(100)));
        assert!(throttle.allow("a", start + Duration::from_millis(1000)));
        assert!(!throttle.allow("a", start + Duration::from_millis(1001)));
        assert!(throttle.allow("a", start + Duration::from_millis(1011)));
    }
}
