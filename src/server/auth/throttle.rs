//! Brute-force protection policy: five free failures, then a lockout that
//! doubles with every further failure (30 s, 1 min, 2 min, …, at most 15 min).

use std::time::Duration;

pub const FREE_FAILURES: i32 = 5;
const FIRST_LOCK: Duration = Duration::from_secs(30);
const LONGEST_LOCK: Duration = Duration::from_secs(15 * 60);

/// How long to lock a key out after its `failures`-th consecutive failure.
pub fn lockout_after(failures: i32) -> Option<Duration> {
    if failures < FREE_FAILURES {
        return None;
    }
    let doublings = (failures - FREE_FAILURES).min(16) as u32;
    Some(FIRST_LOCK.saturating_mul(1 << doublings).min(LONGEST_LOCK))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_are_allowed_before_any_lockout() {
        for n in 0..FREE_FAILURES {
            assert_eq!(lockout_after(n), None, "{n}");
        }
    }

    #[test]
    fn from_the_fifth_failure_the_lockout_doubles_up_to_fifteen_minutes() {
        assert_eq!(lockout_after(5), Some(Duration::from_secs(30)));
        assert_eq!(lockout_after(6), Some(Duration::from_secs(60)));
        assert_eq!(lockout_after(7), Some(Duration::from_secs(120)));
        assert_eq!(lockout_after(10), Some(Duration::from_secs(900)));
        assert_eq!(lockout_after(1000), Some(Duration::from_secs(900)));
    }
}
