//! IANA timezone names as people and browsers give them.
//!
//! Browsers report the zone their ICU data calls canonical, which for some
//! places is a legacy link name (Chromium says "Asia/Calcutta" for India).
//! We store and show the current IANA name, so both spellings mean one zone.

use chrono_tz::Tz;

/// Legacy link names still reported by browsers, and their current names.
const LEGACY: &[(&str, &str)] = &[
    ("Asia/Calcutta", "Asia/Kolkata"),
    ("Asia/Katmandu", "Asia/Kathmandu"),
    ("Asia/Saigon", "Asia/Ho_Chi_Minh"),
    ("Asia/Rangoon", "Asia/Yangon"),
    ("Asia/Ulan_Bator", "Asia/Ulaanbaatar"),
    ("Asia/Dacca", "Asia/Dhaka"),
    ("Asia/Thimbu", "Asia/Thimphu"),
    ("Europe/Kiev", "Europe/Kyiv"),
    ("America/Godthab", "America/Nuuk"),
    ("America/Buenos_Aires", "America/Argentina/Buenos_Aires"),
    ("America/Indianapolis", "America/Indiana/Indianapolis"),
    ("America/Louisville", "America/Kentucky/Louisville"),
    ("Atlantic/Faeroe", "Atlantic/Faroe"),
    ("Pacific/Truk", "Pacific/Chuuk"),
    ("Pacific/Ponape", "Pacific/Pohnpei"),
    ("Pacific/Enderbury", "Pacific/Kanton"),
];

/// Parses an IANA timezone name, accepting legacy spellings, and returns the
/// zone under its current name. `None` for anything that is not a zone.
pub fn parse_timezone(name: &str) -> Option<Tz> {
    let name = name.trim();
    let current = LEGACY.iter().find(|(old, _)| *old == name).map(|(_, new)| *new).unwrap_or(name);
    current.parse::<Tz>().ok()
}

/// The current IANA name for a zone name (legacy links resolved), if it is one.
pub fn canonical_timezone(name: &str) -> Option<&'static str> {
    parse_timezone(name).map(|tz| tz.name())
}

/// Zones offered first when someone picks a timezone (any IANA name is accepted).
pub const COMMON_ZONES: &[&str] = &[
    "UTC",
    "America/Los_Angeles",
    "America/Denver",
    "America/Chicago",
    "America/New_York",
    "America/Sao_Paulo",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Paris",
    "Africa/Lagos",
    "Africa/Nairobi",
    "Asia/Dubai",
    "Asia/Kolkata",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chromiums_legacy_name_for_india_is_kolkata() {
        assert_eq!(canonical_timezone("Asia/Calcutta"), Some("Asia/Kolkata"));
        assert_eq!(canonical_timezone("Asia/Kolkata"), Some("Asia/Kolkata"));
    }

    #[test]
    fn every_replacement_is_a_real_zone() {
        for (old, new) in LEGACY {
            assert_eq!(canonical_timezone(old), Some(*new), "{old}");
        }
    }

    #[test]
    fn nonsense_is_not_a_zone() {
        assert_eq!(canonical_timezone("Mars/Olympus_Mons"), None);
        assert_eq!(canonical_timezone(""), None);
    }
}
