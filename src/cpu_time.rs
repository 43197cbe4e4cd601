//! CPU time of threads and of the process, read from Linux's `/proc` (for the cost a rung
//! reports to `bench`).
//!
//! A thread started by another inherits its name, so the threads x264 starts from a rung's thread
//! (lookahead, frame threads) carry the rung's name: the rung's cost is the CPU time of every
//! thread of the process with its thread's name. Names are made unique by [`unique_name`].

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// Clock ticks per second of `/proc`'s `utime` and `stime` (`USER_HZ`, 100 on Linux).
const TICKS_PER_SECOND: u64 = 100;
/// Linux keeps 15 bytes of a thread's name.
const NAME_BYTES: usize = 15;

/// `base` with a number that makes it unique in this process, within Linux's 15 bytes.
pub fn unique_name(base: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let suffix = format!("/{}", NEXT.fetch_add(1, Ordering::Relaxed) % 10_000);
    let room = NAME_BYTES.saturating_sub(suffix.len());
    let kept: String = base.chars().take(room).collect();
    format!("{kept}{suffix}")
}

/// CPU time (user + system) of the calling thread and every other thread of the process that
/// has its name; zero where `/proc` cannot be read.
pub fn this_thread_and_its_helpers() -> Duration {
    let Ok(own_name) = std::fs::read_to_string("/proc/thread-self/comm") else {
        return Duration::ZERO;
    };
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Duration::ZERO;
    };
    let ticks: u64 = tasks
        .flatten()
        .filter(|task| {
            std::fs::read_to_string(task.path().join("comm")).is_ok_and(|name| name == own_name)
        })
        .filter_map(|task| std::fs::read_to_string(task.path().join("stat")).ok())
        .filter_map(|stat| cpu_ticks(&stat))
        .sum();
    Duration::from_millis(ticks * 1000 / TICKS_PER_SECOND)
}

/// CPU time (user + system) of the whole process so far; zero where `/proc` cannot be read.
pub fn this_process() -> Duration {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| cpu_ticks(&stat))
        .map_or(Duration::ZERO, |ticks| {
            Duration::from_millis(ticks * 1000 / TICKS_PER_SECOND)
        })
}

/// `utime + stime` of a `/proc/…/stat` line (fields 14 and 15, counted after the name, which is
/// in parentheses and may hold spaces).
fn cpu_ticks(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(user + system)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_user_and_system_ticks_after_a_name_with_spaces() {
        let stat = "4242 (rung 720p30) R 1 2 3 4 5 6 7 8 9 10 250 31 0 0 20 0 1 0";
        assert_eq!(cpu_ticks(stat), Some(281));
        assert_eq!(cpu_ticks("garbage"), None);
    }

    #[test]
    fn names_are_unique_and_fit_in_fifteen_bytes() {
        let a = unique_name("rung 1080p60 encoder");
        let b = unique_name("rung 1080p60 encoder");
        assert_ne!(a, b);
        assert!(a.len() <= 15 && a.starts_with("rung 1080"), "{a}");
    }

    #[test]
    fn a_busy_thread_is_counted() {
        // Spin until the thread's own CPU time says 100 ms were spent: a counter that does not
        // grow with work never gets there. Bounded by wall time (on a loaded machine the thread
        // gets only a share of a core, so wall time says nothing about CPU time).
        let spent = std::thread::Builder::new()
            .name(unique_name("cpu test"))
            .spawn(|| {
                let began = std::time::Instant::now();
                let mut x = 0u64;
                while this_thread_and_its_helpers() < Duration::from_millis(100)
                    && began.elapsed() < Duration::from_secs(60)
                {
                    for _ in 0..1_000_000 {
                        x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
                    }
                }
                this_thread_and_its_helpers()
            })
            .unwrap()
            .join()
            .unwrap();
        assert!(spent >= Duration::from_millis(100), "{spent:?}");
    }
}
