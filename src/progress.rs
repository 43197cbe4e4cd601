//! Progress on a terminal: media time done out of the total, and speed as a multiple of real
//! time. Silent when stderr is not a terminal, so logs and pipes stay clean.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// How often the line is redrawn.
const REDRAW_EVERY: Duration = Duration::from_millis(100);

/// A one-line progress display on stderr.
#[derive(Debug)]
pub struct TerminalProgress {
    total_seconds: Option<f64>,
    started: Instant,
    last_drawn: Option<Instant>,
}

impl TerminalProgress {
    /// A display on stderr; `None` when stderr is not a terminal.
    pub fn on_terminal() -> Option<Self> {
        std::io::stderr().is_terminal().then(|| Self {
            total_seconds: None,
            started: Instant::now(),
            last_drawn: None,
        })
    }

    /// Records that `media_seconds` of `total_seconds` (when known) are done, redrawing at most
    /// every 100 ms.
    pub fn update(&mut self, media_seconds: f64, total_seconds: Option<f64>) {
        self.total_seconds = total_seconds;
        let now = Instant::now();
        if self
            .last_drawn
            .is_some_and(|last| now - last < REDRAW_EVERY)
        {
            return;
        }
        self.last_drawn = Some(now);
        let line = render(media_seconds, self.total_seconds, now - self.started);
        let mut stderr = std::io::stderr().lock();
        let _ = write!(stderr, "\r{line}\x1b[K");
        let _ = stderr.flush();
    }
}

impl Drop for TerminalProgress {
    fn drop(&mut self) {
        if self.last_drawn.is_some() {
            let _ = write!(std::io::stderr(), "\r\x1b[K");
        }
    }
}

/// The progress line: `recording 4.0 s / 12.0 s (33%), 25.3x real time`.
pub fn render(media_seconds: f64, total_seconds: Option<f64>, elapsed: Duration) -> String {
    let speed = media_seconds / elapsed.as_secs_f64().max(1e-3);
    match total_seconds.filter(|total| *total > 0.0) {
        Some(total) => format!(
            "recording {media_seconds:.1} s / {total:.1} s ({:.0}%), {speed:.1}x real time",
            (media_seconds / total * 100.0).min(100.0)
        ),
        None => format!("recording {media_seconds:.1} s, {speed:.1}x real time"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_shows_done_total_and_speed() {
        assert_eq!(
            render(4.0, Some(12.0), Duration::from_millis(500)),
            "recording 4.0 s / 12.0 s (33%), 8.0x real time"
        );
        assert_eq!(
            render(3.0, None, Duration::from_secs(3)),
            "recording 3.0 s, 1.0x real time"
        );
    }
}
