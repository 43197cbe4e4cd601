//! Time: media timestamps in a stream's time base, and the wall clock (injectable for tests).
//!
//! Everything that schedules work (thumbnail boundaries, durations, later segment cuts) uses media
//! time; the wall clock only fills the prefix date and the `recording_*_at` fields.

use std::fmt;

use time::OffsetDateTime;
use time::macros::format_description;

/// A stream's time base: one tick lasts `numerator / denominator` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeBase {
    /// Numerator (seconds).
    pub numerator: i64,
    /// Denominator (ticks per `numerator` seconds); never zero.
    pub denominator: i64,
}

impl TimeBase {
    /// A time base of `numerator / denominator` seconds per tick; `None` when either is not positive.
    pub fn new(numerator: i64, denominator: i64) -> Option<Self> {
        (numerator > 0 && denominator > 0).then_some(Self {
            numerator,
            denominator,
        })
    }

    /// The first tick at or after `seconds` (seconds may be fractional only as `millis / 1000`).
    pub fn ticks_at_or_after_millis(self, millis: i64) -> i64 {
        // ticks = millis / 1000 * den / num, rounded up.
        let numerator = i128::from(millis) * i128::from(self.denominator);
        let denominator = 1000 * i128::from(self.numerator);
        let ticks =
            numerator.div_euclid(denominator) + i128::from(numerator.rem_euclid(denominator) != 0);
        i64::try_from(ticks).unwrap_or(i64::MAX)
    }

    /// A tick count as whole milliseconds, rounded to nearest.
    pub fn ticks_to_millis(self, ticks: i64) -> i64 {
        let numerator = i128::from(ticks) * i128::from(self.numerator) * 1000;
        let denominator = i128::from(self.denominator);
        let rounded = (2 * numerator + denominator).div_euclid(2 * denominator);
        i64::try_from(rounded).unwrap_or(i64::MAX)
    }

    /// A tick count as seconds.
    pub fn ticks_to_seconds(self, ticks: i64) -> f64 {
        ticks as f64 * self.numerator as f64 / self.denominator as f64
    }
}

impl fmt::Display for TimeBase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.numerator, self.denominator)
    }
}

/// Where wall-clock time comes from.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current UTC time.
    fn now(&self) -> OffsetDateTime;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock stopped at one instant, for tests.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub OffsetDateTime);

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        self.0
    }
}

/// RFC 3339 in whole seconds with `Z`, as the `recording_*_at` fields use: `2023-02-09T22:55:41Z`.
pub fn rfc3339_seconds(instant: OffsetDateTime) -> String {
    let utc = instant.to_offset(time::UtcOffset::UTC);
    let format = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    utc.format(format)
        .unwrap_or_else(|_| utc.unix_timestamp().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn rfc3339_drops_fractions() {
        assert_eq!(
            rfc3339_seconds(datetime!(2023-02-09 22:55:41.550 UTC)),
            "2023-02-09T22:55:41Z"
        );
        assert_eq!(
            rfc3339_seconds(datetime!(2023-02-09 23:55:41 +01:00)),
            "2023-02-09T22:55:41Z"
        );
    }

    #[test]
    fn tick_conversions() {
        let mpeg = TimeBase::new(1, 90_000).unwrap();
        assert_eq!(mpeg.ticks_at_or_after_millis(2000), 180_000);
        assert_eq!(mpeg.ticks_to_millis(900_000), 10_000);
        let odd = TimeBase::new(1001, 30_000).unwrap();
        // 1 s = 29.97 ticks: the first tick at or after it is 30.
        assert_eq!(odd.ticks_at_or_after_millis(1000), 30);
        assert_eq!(odd.ticks_to_millis(30), 1001);
        assert_eq!(mpeg.ticks_at_or_after_millis(-1000), -90_000);
        assert!(TimeBase::new(0, 1).is_none());
        assert!(TimeBase::new(1, 0).is_none());
    }
}
