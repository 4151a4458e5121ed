//! IANA time zones for the Calendar tools, read from the system's time zone database.
//!
//! [`Tz`] implements chrono's [`TimeZone`], so the tools compute with chrono types while
//! the zone rules come from jiff, which reads `/usr/share/zoneinfo` (or the folder `TZDIR`
//! names) on Unix. The operating system keeps that database current, and the binary
//! carries none of it: chrono-tz compiles the whole database into the program, which
//! cost about 2.8 MB of a stripped release build, mostly pointer tables and their
//! relocations. The cost of this choice: on a system without the database, as in some
//! minimal container images, zone names fail with an error that tells the user to install
//! it, while UTC and RFC 3339 offsets keep working. Looking a zone up is the one place the core
//! reads files; jiff caches what it read.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{Mutex, OnceLock};

use chrono::{Datelike, Timelike};
use chrono::{FixedOffset, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone};
use jiff::tz::AmbiguousOffset;

/// An IANA time zone, such as `Europe/Berlin`, or UTC.
///
/// `Copy`, like a chrono-tz zone: each zone is loaded once per process and kept for its
/// lifetime, so a `Tz` is a reference.
#[derive(Clone, Copy)]
pub struct Tz(&'static jiff::tz::TimeZone);

static UTC_ZONE: jiff::tz::TimeZone = jiff::tz::TimeZone::UTC;

impl Tz {
    /// Coordinated Universal Time.
    pub const UTC: Tz = Tz(&UTC_ZONE);

    /// Returns the zone's IANA name, `UTC` for [`Tz::UTC`].
    pub fn name(&self) -> &str {
        self.0.iana_name().unwrap_or("UTC")
    }

    fn offset_at(&self, utc: &NaiveDateTime) -> FixedOffset {
        // jiff covers the years -9999 to 9999; clamping keeps a date beyond that (from
        // fuzzed input, say) from failing, at the cost of the offset of the nearest year.
        let seconds = utc.and_utc().timestamp().clamp(
            jiff::Timestamp::MIN.as_second(),
            jiff::Timestamp::MAX.as_second(),
        );
        let offset = jiff::Timestamp::new(seconds, 0)
            .map(|instant| self.0.to_offset(instant))
            .unwrap_or(jiff::tz::Offset::UTC);
        fixed(offset)
    }
}

/// Converts a jiff offset to chrono's. IANA offsets stay within ±15 hours; chrono's limit
/// is just under ±24, and anything beyond it (which no real zone has) reads as UTC.
fn fixed(offset: jiff::tz::Offset) -> FixedOffset {
    FixedOffset::east_opt(offset.seconds()).unwrap_or(FixedOffset::east_opt(0).expect("zero"))
}

impl FromStr for Tz {
    type Err = String;

    /// Looks a zone up by its IANA name, ignoring ASCII case.
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        let name = name.trim();
        if name.eq_ignore_ascii_case("UTC") {
            return Ok(Self::UTC);
        }

        interned(name).map(Tz).map_err(|_| {
            let hint = if jiff::tz::db().is_definitively_empty() {
                "; this system has no time zone database: install the tzdata package, or set TZDIR to its folder"
            } else {
                "; use a name such as Europe/Berlin or America/New_York"
            };
            format!("{name:?} is not a known IANA time zone{hint}")
        })
    }
}

/// Returns the zone named `name`, loading it on first use. Zones are kept for the life of
/// the process, keyed by their lower-case name. Unknown names are not kept, so memory stays
/// bounded by the number of IANA zones (about 600) however many lookups are made.
fn interned(name: &str) -> Result<&'static jiff::tz::TimeZone, jiff::Error> {
    static ZONES: OnceLock<Mutex<HashMap<String, &'static jiff::tz::TimeZone>>> = OnceLock::new();

    let key = name.to_ascii_lowercase();
    let zones = ZONES.get_or_init(Mutex::default);
    // A panic while the lock was held cannot leave the map half-written: inserts are single
    // calls. So a poisoned lock is still safe to use.
    let mut zones = zones
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(zone) = zones.get(&key) {
        return Ok(zone);
    }

    let zone: &'static jiff::tz::TimeZone = Box::leak(Box::new(jiff::tz::db().get(name)?));
    zones.insert(key, zone);
    Ok(zone)
}

impl PartialEq for Tz {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name()
    }
}

impl Eq for Tz {}

impl fmt::Display for Tz {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Debug for Tz {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tz({})", self.name())
    }
}

/// The offset of a [`Tz`] at one instant, carrying its zone as chrono requires.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TzOffset {
    zone: Tz,
    fixed: FixedOffset,
}

impl Offset for TzOffset {
    fn fix(&self) -> FixedOffset {
        self.fixed
    }
}

impl fmt::Display for TzOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.fixed, f)
    }
}

impl fmt::Debug for TzOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.fixed, self.zone.name())
    }
}

impl TimeZone for Tz {
    type Offset = TzOffset;

    fn from_offset(offset: &TzOffset) -> Self {
        offset.zone
    }

    fn offset_from_local_date(&self, local: &NaiveDate) -> LocalResult<TzOffset> {
        self.offset_from_local_datetime(&local.and_time(NaiveTime::MIN))
    }

    /// Resolves a wall-clock time: one offset normally, none in a gap where clocks skip
    /// forward, and two (earlier instant first) in a fold where clocks go back.
    fn offset_from_local_datetime(&self, local: &NaiveDateTime) -> LocalResult<TzOffset> {
        let Some(civil) = to_civil(local) else {
            return LocalResult::None;
        };
        let offset = |offset| TzOffset {
            zone: *self,
            fixed: fixed(offset),
        };

        match self.0.to_ambiguous_timestamp(civil).offset() {
            AmbiguousOffset::Unambiguous { offset: single } => LocalResult::Single(offset(single)),
            AmbiguousOffset::Gap { .. } => LocalResult::None,
            // `before` is the offset in force before clocks go back, which is larger, so
            // it gives the earlier of the two instants.
            AmbiguousOffset::Fold { before, after } => {
                LocalResult::Ambiguous(offset(before), offset(after))
            }
        }
    }

    fn offset_from_utc_date(&self, utc: &NaiveDate) -> TzOffset {
        self.offset_from_utc_datetime(&utc.and_time(NaiveTime::MIN))
    }

    fn offset_from_utc_datetime(&self, utc: &NaiveDateTime) -> TzOffset {
        TzOffset {
            zone: *self,
            fixed: self.offset_at(utc),
        }
    }
}

/// Converts a chrono date-time to jiff's, or `None` outside jiff's years -9999 to 9999.
fn to_civil(local: &NaiveDateTime) -> Option<jiff::civil::DateTime> {
    let narrow = |value: u32| i8::try_from(value).ok();
    jiff::civil::DateTime::new(
        i16::try_from(local.year()).ok()?,
        narrow(local.month())?,
        narrow(local.day())?,
        narrow(local.hour())?,
        narrow(local.minute())?,
        // A leap second (chrono's 60th second) is read as the 59th.
        narrow(local.second().min(59))?,
        i32::try_from(local.nanosecond() % 1_000_000_000).ok()?,
    )
    .ok()
}

#[cfg(test)]
mod tests {
    use chrono::{SecondsFormat, Utc};

    use super::*;

    fn zone(name: &str) -> Tz {
        name.parse().unwrap()
    }

    fn local(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M").unwrap()
    }

    fn rfc3339<Z: TimeZone>(instant: chrono::DateTime<Z>) -> String {
        instant
            .fixed_offset()
            .to_rfc3339_opts(SecondsFormat::Secs, true)
    }

    #[test]
    fn names_parse_ignoring_case() {
        assert_eq!(zone("Europe/Berlin").name(), "Europe/Berlin");
        assert_eq!(
            zone("europe/berlin").to_string().to_ascii_lowercase(),
            "europe/berlin"
        );
        assert_eq!(zone(" utc "), Tz::UTC);
        assert_eq!(Tz::UTC.name(), "UTC");

        let error = "Mars/Olympus".parse::<Tz>().unwrap_err();
        assert!(error.contains("\"Mars/Olympus\""), "{error}");
    }

    #[test]
    fn local_times_west_and_east() {
        let new_york = zone("America/New_York");
        let kolkata = zone("Asia/Kolkata");

        let winter = new_york
            .from_local_datetime(&local("2026-01-15T09:00"))
            .unwrap();
        assert_eq!(rfc3339(winter), "2026-01-15T09:00:00-05:00");
        let summer = new_york
            .from_local_datetime(&local("2026-07-15T09:00"))
            .unwrap();
        assert_eq!(rfc3339(summer), "2026-07-15T09:00:00-04:00");
        let india = kolkata
            .from_local_datetime(&local("2026-07-15T09:00"))
            .unwrap();
        assert_eq!(rfc3339(india), "2026-07-15T09:00:00+05:30");
    }

    #[test]
    fn gap_has_no_instant() {
        let new_york = zone("America/New_York");

        let gap = new_york.from_local_datetime(&local("2026-03-08T02:30"));

        assert_eq!(gap, LocalResult::None);
    }

    #[test]
    fn fold_gives_earlier_first() {
        let berlin = zone("Europe/Berlin");

        let LocalResult::Ambiguous(earlier, later) =
            berlin.from_local_datetime(&local("2026-10-25T02:30"))
        else {
            panic!("02:30 on 2026-10-25 occurs twice in Berlin");
        };

        assert_eq!(rfc3339(earlier), "2026-10-25T02:30:00+02:00");
        assert_eq!(rfc3339(later), "2026-10-25T02:30:00+01:00");
    }

    #[test]
    fn utc_instants_convert() {
        let sydney = zone("Australia/Sydney");
        let instant = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);

        let shown = instant.with_timezone(&sydney);

        assert_eq!(rfc3339(shown), "2026-01-01T11:00:00+11:00");
    }

    #[test]
    fn far_dates_do_not_panic() {
        let berlin = zone("Europe/Berlin");
        let far = NaiveDate::from_ymd_opt(200_000, 1, 1)
            .unwrap()
            .and_time(NaiveTime::MIN);

        assert_eq!(berlin.from_local_datetime(&far), LocalResult::None);
        let _ = berlin.offset_from_utc_datetime(&far);
    }
}
