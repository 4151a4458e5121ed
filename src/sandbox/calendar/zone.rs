//! Resolution of iCalendar `TZID` values to IANA zones.
//!
//! Real files name zones in many ways: IANA names, IANA names wrapped in a vendor prefix
//! (`/mozilla.org/20070129_1/America/New_York`, `custom_America/New_York`), Windows names
//! (`Eastern Standard Time`) and free text with a UTC offset (`(UTC-03:00) Brasilia`).

use chrono_tz::Tz;

/// Windows zone names and the IANA zone of their "001" territory in the Unicode CLDR
/// `windowsZones` table. Only the names seen most often in exported calendars are listed.
const WINDOWS_ZONES: &[(&str, &str)] = &[
    ("AUS Eastern Standard Time", "Australia/Sydney"),
    ("Alaskan Standard Time", "America/Anchorage"),
    ("Arabian Standard Time", "Asia/Dubai"),
    ("Atlantic Standard Time", "America/Halifax"),
    ("Central Europe Standard Time", "Europe/Budapest"),
    ("Central European Standard Time", "Europe/Warsaw"),
    ("Central Standard Time", "America/Chicago"),
    ("China Standard Time", "Asia/Shanghai"),
    ("E. Australia Standard Time", "Australia/Brisbane"),
    ("E. South America Standard Time", "America/Sao_Paulo"),
    ("Eastern Standard Time", "America/New_York"),
    ("FLE Standard Time", "Europe/Kiev"),
    ("Fiji Standard Time", "Pacific/Fiji"),
    ("GMT Standard Time", "Europe/London"),
    ("GTB Standard Time", "Europe/Bucharest"),
    ("Hawaiian Standard Time", "Pacific/Honolulu"),
    ("India Standard Time", "Asia/Kolkata"),
    ("Israel Standard Time", "Asia/Jerusalem"),
    ("Korea Standard Time", "Asia/Seoul"),
    ("Mountain Standard Time", "America/Denver"),
    ("New Zealand Standard Time", "Pacific/Auckland"),
    ("Pacific Standard Time", "America/Los_Angeles"),
    ("Romance Standard Time", "Europe/Paris"),
    ("Russian Standard Time", "Europe/Moscow"),
    ("SA Pacific Standard Time", "America/Bogota"),
    ("Singapore Standard Time", "Asia/Singapore"),
    ("South Africa Standard Time", "Africa/Johannesburg"),
    ("Tokyo Standard Time", "Asia/Tokyo"),
    ("US Eastern Standard Time", "America/Indianapolis"),
    ("UTC", "UTC"),
    ("W. Europe Standard Time", "Europe/Berlin"),
];

/// How a `TZID` was understood.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Resolved {
    /// The value is, or contains, an IANA name or a Windows name.
    Named(Tz),
    /// Only a UTC offset could be read from the value or from its `VTIMEZONE`, so the zone
    /// is the fixed-offset `Etc/GMT±N` zone and has no daylight-saving rules.
    FixedOffset(Tz),
}

/// Resolves `tzid` to a zone. `standard_offset_seconds` is the `TZOFFSETTO` of the
/// matching `VTIMEZONE`'s last `STANDARD` part, used when the name says nothing usable.
/// Returns `None` when neither gives a zone; the caller then falls back to the calendar's
/// zone.
pub(super) fn resolve(tzid: &str, standard_offset_seconds: Option<i32>) -> Option<Resolved> {
    let name = tzid.trim().trim_matches('"').trim();

    if let Some(tz) = parse_iana(name) {
        return Some(Resolved::Named(tz));
    }

    if let Some((_, iana)) = WINDOWS_ZONES
        .iter()
        .find(|(windows, _)| windows.eq_ignore_ascii_case(name))
        && let Ok(tz) = iana.parse::<Tz>()
    {
        return Some(Resolved::Named(tz));
    }

    if let Some(tz) = embedded_iana(name) {
        return Some(Resolved::Named(tz));
    }

    offset_in_text(name)
        .or(standard_offset_seconds)
        .and_then(fixed_offset_zone)
        .map(Resolved::FixedOffset)
}

/// Parses an IANA name, accepting spaces in place of underscores (`America/Los Angeles`).
fn parse_iana(name: &str) -> Option<Tz> {
    if name.is_empty() {
        return None;
    }
    name.parse::<Tz>()
        .ok()
        .or_else(|| name.replace(' ', "_").parse::<Tz>().ok())
}

/// Finds the longest IANA name inside a vendor-decorated `TZID`, trying every substring that
/// starts and ends at a `/`, `_`, `-` or space boundary. Names without a `/` are skipped so
/// that a word such as `York` is never taken for a zone.
fn embedded_iana(name: &str) -> Option<Tz> {
    let is_boundary = |c: char| matches!(c, '/' | '_' | '-' | ' ');
    let starts: Vec<usize> = std::iter::once(0)
        .chain(
            name.char_indices()
                .filter(|(_, c)| is_boundary(*c))
                .map(|(i, c)| i + c.len_utf8()),
        )
        .collect();
    let ends: Vec<usize> = name
        .char_indices()
        .filter(|(_, c)| is_boundary(*c))
        .map(|(i, _)| i)
        .chain(std::iter::once(name.len()))
        .collect();

    let mut best: Option<(usize, Tz)> = None;
    for &start in &starts {
        for &end in &ends {
            if end <= start || best.is_some_and(|(len, _)| len >= end - start) {
                continue;
            }
            let candidate = &name[start..end];
            if !candidate.contains('/') {
                continue;
            }
            if let Some(tz) = parse_iana(candidate) {
                best = Some((end - start, tz));
            }
        }
    }
    best.map(|(_, tz)| tz)
}

/// Reads an offset such as `UTC+11`, `(UTC-03:00)` or `GMT +0100` from free text, in seconds
/// east of UTC. The first `UTC` or `GMT` followed by a sign wins.
fn offset_in_text(name: &str) -> Option<i32> {
    let upper = name.to_ascii_uppercase();
    for marker in ["UTC", "GMT"] {
        let Some(at) = upper.find(marker) else {
            continue;
        };
        let rest = upper[at + marker.len()..].trim_start();
        let mut chars = rest.chars();
        let sign = match chars.next() {
            Some('+') => 1,
            Some('-') => -1,
            _ => continue,
        };
        let digits: String = chars
            .filter(|c| *c != ':')
            .take_while(char::is_ascii_digit)
            .take(4)
            .collect();
        let (hours, minutes) = match digits.len() {
            1 | 2 => (digits.parse::<i32>().ok()?, 0),
            3 => (
                digits[..1].parse::<i32>().ok()?,
                digits[1..].parse::<i32>().ok()?,
            ),
            4 => (
                digits[..2].parse::<i32>().ok()?,
                digits[2..].parse::<i32>().ok()?,
            ),
            _ => continue,
        };
        return Some(sign * (hours * 3600 + minutes * 60));
    }
    None
}

/// Parses a `TZOFFSETTO` value such as `-0500` or `+053000` into seconds east of UTC.
pub(super) fn parse_utc_offset(value: &str) -> Option<i32> {
    let value = value.trim();
    let (sign, digits) = match value.as_bytes().first()? {
        b'+' => (1, &value[1..]),
        b'-' => (-1, &value[1..]),
        _ => return None,
    };
    if !(digits.len() == 4 || digits.len() == 6) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let hours: i32 = digits[..2].parse().ok()?;
    let minutes: i32 = digits[2..4].parse().ok()?;
    let seconds: i32 = if digits.len() == 6 {
        digits[4..].parse().ok()?
    } else {
        0
    };
    Some(sign * (hours * 3600 + minutes * 60 + seconds))
}

/// The `Etc/GMT±N` zone for a whole-hour offset. The IANA names invert the sign, so UTC+11
/// is `Etc/GMT-11`. Offsets that are not whole hours have no such zone and give `None`.
fn fixed_offset_zone(seconds_east: i32) -> Option<Tz> {
    if seconds_east % 3600 != 0 {
        return None;
    }
    let hours = seconds_east / 3600;
    let name = match hours {
        0 => "Etc/GMT".to_owned(),
        h if h > 0 => format!("Etc/GMT-{h}"),
        h => format!("Etc/GMT+{}", -h),
    };
    name.parse::<Tz>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_iana_and_decorated_names() {
        let new_york = Some(Resolved::Named(chrono_tz::America::New_York));
        assert_eq!(resolve("America/New_York", None), new_york);
        assert_eq!(resolve("\"America/New_York\"", None), new_york);
        assert_eq!(
            resolve("/mozilla.org/20070129_1/America/New_York", None),
            new_york
        );
        assert_eq!(resolve("custom_America/New_York", None), new_york);
        assert_eq!(
            resolve("custom_America/New_York_Forward_reference", None),
            new_york
        );
        assert_eq!(resolve("Eastern Standard Time", None), new_york);
        assert_eq!(
            resolve("US/Eastern", None),
            Some(Resolved::Named(chrono_tz::US::Eastern))
        );
        assert_eq!(
            resolve("America/Los Angeles", None),
            Some(Resolved::Named(chrono_tz::America::Los_Angeles))
        );
        assert_eq!(
            resolve(
                "/freeassociation.sourceforge.net/Tzfile/America/Argentina/Buenos_Aires",
                None
            ),
            Some(Resolved::Named(chrono_tz::America::Argentina::Buenos_Aires))
        );
    }

    #[test]
    fn resolve_offsets() {
        assert_eq!(
            resolve("UTC+11", None),
            Some(Resolved::FixedOffset(chrono_tz::Etc::GMTMinus11))
        );
        assert_eq!(
            resolve("(UTC-03:00) Brasilia", None),
            Some(Resolved::FixedOffset(chrono_tz::Etc::GMTPlus3))
        );
        assert_eq!(
            resolve("GMT +0100 (Standard) / GMT +0200 (Daylight)", None),
            Some(Resolved::FixedOffset(chrono_tz::Etc::GMTMinus1))
        );
        assert_eq!(
            resolve("MyTimezone", Some(-5 * 3600)),
            Some(Resolved::FixedOffset(chrono_tz::Etc::GMTPlus5))
        );
        assert_eq!(resolve("MyTimezone", None), None);
        assert_eq!(resolve("Half hour", Some(19_800)), None);
        assert_eq!(parse_utc_offset("+053000"), Some(19_800));
        assert_eq!(parse_utc_offset("-0500"), Some(-18_000));
        assert_eq!(parse_utc_offset("0500"), None);
    }
}
