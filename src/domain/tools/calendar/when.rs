//! Event times from tool arguments: RFC 3339 instants, local times in an IANA zone, and
//! all-day dates, turned into the `start`/`end` objects of the Calendar API.
//!
//! Local times that the zone skips (clocks go forward) are rejected, because any instant
//! picked for them would be a guess. Local times that occur twice (clocks go back) take the
//! earlier instant, and the result carries a note saying so.

use crate::domain::zone::Tz;
use chrono::offset::LocalResult;
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, SecondsFormat, TimeZone};

use crate::domain::models::calendar::EventDateTime;

/// A timed boundary resolved to an instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ResolvedTime {
    /// The instant, with the offset of the zone when one was given.
    pub(super) instant: DateTime<FixedOffset>,
    /// Set when the local time was ambiguous, saying which instant was taken.
    pub(super) note: Option<String>,
}

/// Parses one timed boundary: RFC 3339 with an offset, or a local date-time
/// (`2026-03-06T09:00` or `2026-03-06T09:00:00`) read in `zone`.
///
/// An instant with an offset keeps its instant; with a zone it is shown in that zone.
///
/// # Errors
///
/// The reason, naming the value: no offset and no zone, a local time the zone skips, a
/// bare date (all-day events use the date fields), or text that is no time at all.
pub(super) fn parse_event_time(value: &str, zone: Option<Tz>) -> Result<ResolvedTime, String> {
    let value = value.trim();
    if let Ok(instant) = DateTime::parse_from_rfc3339(value) {
        let instant = match zone {
            Some(zone) => instant.with_timezone(&zone).fixed_offset(),
            None => instant,
        };
        return Ok(ResolvedTime {
            instant,
            note: None,
        });
    }

    if NaiveDate::parse_from_str(value, "%Y-%m-%d").is_ok() {
        return Err(format!(
            "{value:?} is a date without a time; for an all-day event use start_date and end_date"
        ));
    }
    let local = NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M"))
        .map_err(|_| {
            format!(
                "{value:?} is not a time; use RFC 3339 with an offset (2026-03-06T09:00:00-05:00) \
                 or a local time (2026-03-06T09:00) with time_zone"
            )
        })?;
    let Some(zone) = zone else {
        return Err(format!(
            "{value:?} has no UTC offset; add one (2026-03-06T09:00:00-05:00) or set time_zone \
             to the IANA zone it is in"
        ));
    };

    resolve_local(local, zone)
}

/// Resolves a wall-clock time in `zone` by the rules in the module documentation.
pub(super) fn resolve_local(local: NaiveDateTime, zone: Tz) -> Result<ResolvedTime, String> {
    let shown = local.format("%Y-%m-%dT%H:%M");
    match zone.from_local_datetime(&local) {
        LocalResult::Single(instant) => Ok(ResolvedTime {
            instant: instant.fixed_offset(),
            note: None,
        }),
        LocalResult::Ambiguous(earlier, later) => Ok(ResolvedTime {
            instant: earlier.fixed_offset(),
            note: Some(format!(
                "{shown} occurs twice in {zone} because clocks go back that night; the earlier one, {}, was used (give {} to mean the later one)",
                rfc3339(&earlier.fixed_offset()),
                rfc3339(&later.fixed_offset()),
            )),
        }),
        LocalResult::None => Err(format!(
            "{shown} does not exist in {zone} because clocks skip forward over it that night; \
             choose a time outside the gap"
        )),
    }
}

/// Formats an instant as RFC 3339 with its offset and whole seconds.
pub(super) fn rfc3339(instant: &DateTime<FixedOffset>) -> String {
    instant.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Parses an all-day date, `yyyy-mm-dd`.
///
/// # Errors
///
/// The reason, naming the value.
pub(super) fn parse_date(value: &str) -> Result<NaiveDate, String> {
    let value = value.trim();
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .map_err(|_| format!("{value:?} is not a date; use yyyy-mm-dd, such as 2026-12-24"))
}

/// Builds the Calendar API `start` or `end` of a timed event. `timeZone` is sent when a
/// zone was given, because Google needs it to expand a recurring event in local time.
pub(super) fn timed_boundary(instant: &DateTime<FixedOffset>, zone: Option<Tz>) -> EventDateTime {
    EventDateTime {
        date_time: Some(rfc3339(instant)),
        time_zone: zone.map(|zone| zone.name().to_owned()),
        ..EventDateTime::default()
    }
}

/// Builds the Calendar API `start` or `end` of an all-day event.
pub(super) fn date_boundary(date: NaiveDate) -> EventDateTime {
    EventDateTime {
        date: Some(date.format("%Y-%m-%d").to_string()),
        ..EventDateTime::default()
    }
}

/// Checks an all-day span given with an exclusive end.
///
/// # Errors
///
/// The reason when `end` is not after `start`, with the date a one-day event needs.
pub(super) fn check_date_span(start: NaiveDate, end: NaiveDate) -> Result<(), String> {
    if end > start {
        return Ok(());
    }
    let next = start.succ_opt().unwrap_or(start);
    Err(format!(
        "end_date {end} is not after start_date {start}; end_date is exclusive, so a one-day \
         event on {start} has end_date {next} (or leave end_date out)"
    ))
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, Utc};

    use super::*;

    fn zone(name: &str) -> Tz {
        name.parse().unwrap()
    }

    fn utc(value: &str, zone_name: Option<&str>) -> String {
        parse_event_time(value, zone_name.map(zone))
            .unwrap()
            .instant
            .with_timezone(&Utc)
            .to_rfc3339_opts(SecondsFormat::Secs, true)
    }

    fn shown(value: &str, zone_name: &str) -> String {
        rfc3339(
            &parse_event_time(value, Some(zone(zone_name)))
                .unwrap()
                .instant,
        )
    }

    #[test]
    fn rfc3339_keeps_instant() {
        assert_eq!(
            utc("2026-03-06T09:00:00-05:00", None),
            "2026-03-06T14:00:00Z"
        );
        assert_eq!(
            utc("2026-03-06T09:00:00+05:30", None),
            "2026-03-06T03:30:00Z"
        );
        assert_eq!(utc("2026-03-06T09:00:00Z", None), "2026-03-06T09:00:00Z");
        assert_eq!(
            shown("2026-03-06T14:00:00Z", "Europe/Berlin"),
            "2026-03-06T15:00:00+01:00"
        );
    }

    #[test]
    fn local_time_west_of_utc() {
        assert_eq!(
            utc("2026-01-15T09:00", Some("America/New_York")),
            "2026-01-15T14:00:00Z"
        );
        assert_eq!(
            utc("2026-07-15T09:00:00", Some("America/New_York")),
            "2026-07-15T13:00:00Z"
        );
        assert_eq!(
            utc("2026-01-15T09:00", Some("America/Los_Angeles")),
            "2026-01-15T17:00:00Z"
        );
        assert_eq!(
            shown("2026-07-15T09:00", "America/Los_Angeles"),
            "2026-07-15T09:00:00-07:00"
        );
    }

    #[test]
    fn local_time_east_of_utc() {
        assert_eq!(
            utc("2026-01-15T09:00", Some("Asia/Kolkata")),
            "2026-01-15T03:30:00Z"
        );
        assert_eq!(
            shown("2026-01-15T09:00", "Asia/Kolkata"),
            "2026-01-15T09:00:00+05:30"
        );
        // Sydney is on daylight time (+11) in January and standard time (+10) in July.
        assert_eq!(
            utc("2026-01-15T09:00", Some("Australia/Sydney")),
            "2026-01-14T22:00:00Z"
        );
        assert_eq!(
            utc("2026-07-15T09:00", Some("Australia/Sydney")),
            "2026-07-14T23:00:00Z"
        );
        assert_eq!(
            utc("2026-01-15T09:00", Some("Europe/Berlin")),
            "2026-01-15T08:00:00Z"
        );
    }

    #[test]
    fn new_york_keeps_nine_across_dst() {
        // Daylight saving time begins in New York on Sunday 2026-03-08.
        let expected = [
            ("2026-03-06", "2026-03-06T14:00:00Z"),
            ("2026-03-07", "2026-03-07T14:00:00Z"),
            ("2026-03-08", "2026-03-08T13:00:00Z"),
            ("2026-03-09", "2026-03-09T13:00:00Z"),
            ("2026-03-10", "2026-03-10T13:00:00Z"),
        ];
        for (day, instant) in expected {
            let local = format!("{day}T09:00");
            assert_eq!(utc(&local, Some("America/New_York")), instant, "{local}");
            assert!(
                shown(&local, "America/New_York").starts_with(&local),
                "{local} is shown at 09:00 local"
            );
        }
    }

    #[test]
    fn berlin_keeps_nine_across_dst() {
        // Summer time in Berlin begins on 2026-03-29 and ends on 2026-10-25.
        let expected = [
            ("2026-03-28", "2026-03-28T08:00:00Z"),
            ("2026-03-29", "2026-03-29T07:00:00Z"),
            ("2026-10-24", "2026-10-24T07:00:00Z"),
            ("2026-10-25", "2026-10-25T08:00:00Z"),
        ];
        for (day, instant) in expected {
            let local = format!("{day}T09:00");
            assert_eq!(utc(&local, Some("Europe/Berlin")), instant, "{local}");
        }
    }

    #[test]
    fn gap_is_rejected_naming_time_and_zone() {
        for (local, zone_name) in [
            ("2026-03-08T02:30", "America/New_York"),
            ("2026-03-29T02:30", "Europe/Berlin"),
        ] {
            let error = parse_event_time(local, Some(zone(zone_name))).unwrap_err();
            assert!(error.contains(local), "{error}");
            assert!(error.contains(zone_name), "{error}");
            assert!(error.contains("does not exist"), "{error}");
        }
    }

    #[test]
    fn overlap_takes_earlier_with_note() {
        // 02:30 happens twice in Berlin on 2026-10-25: first CEST (+02), then CET (+01).
        let resolved = parse_event_time("2026-10-25T02:30", Some(zone("Europe/Berlin"))).unwrap();
        assert_eq!(rfc3339(&resolved.instant), "2026-10-25T02:30:00+02:00");
        let note = resolved.note.expect("a note on the ambiguity");
        assert!(note.contains("earlier"), "{note}");
        assert!(note.contains("2026-10-25T02:30:00+01:00"), "{note}");

        // 01:30 happens twice in New York on 2026-11-01.
        let resolved =
            parse_event_time("2026-11-01T01:30", Some(zone("America/New_York"))).unwrap();
        assert_eq!(rfc3339(&resolved.instant), "2026-11-01T01:30:00-04:00");
        assert!(resolved.note.is_some());
    }

    #[test]
    fn offset_without_zone_has_no_note() {
        let resolved = parse_event_time("2026-10-25T02:30:00+01:00", None).unwrap();
        assert_eq!(rfc3339(&resolved.instant), "2026-10-25T02:30:00+01:00");
        assert!(resolved.note.is_none());
    }

    #[test]
    fn local_time_needs_zone() {
        let error = parse_event_time("2026-03-06T09:00", None).unwrap_err();
        assert!(error.contains("time_zone"), "{error}");
        let error = parse_event_time("2026-03-06", Some(zone("UTC"))).unwrap_err();
        assert!(error.contains("start_date"), "{error}");
        let error = parse_event_time("tomorrow at nine", None).unwrap_err();
        assert!(error.contains("RFC 3339"), "{error}");
    }

    #[test]
    fn boundaries_carry_zone_name() {
        let resolved = parse_event_time("2026-03-06T09:00", Some(zone("Asia/Kolkata"))).unwrap();
        let boundary = timed_boundary(&resolved.instant, Some(zone("Asia/Kolkata")));
        assert_eq!(
            boundary.date_time.as_deref(),
            Some("2026-03-06T09:00:00+05:30")
        );
        assert_eq!(boundary.time_zone.as_deref(), Some("Asia/Kolkata"));
        assert!(boundary.date.is_none());
    }

    #[test]
    fn all_day_end_is_exclusive_in_every_zone() {
        let start = parse_date("2026-12-24").unwrap();
        let end = start + Duration::days(1);
        check_date_span(start, end).unwrap();
        assert_eq!(date_boundary(start).date.as_deref(), Some("2026-12-24"));
        assert_eq!(date_boundary(end).date.as_deref(), Some("2026-12-25"));
        // Dates carry no zone, so nothing can shift them by a day.
        assert!(date_boundary(start).time_zone.is_none());
        assert!(date_boundary(start).date_time.is_none());

        let error = check_date_span(start, start).unwrap_err();
        assert!(error.contains("2026-12-25"), "{error}");
        assert!(error.contains("exclusive"), "{error}");
        assert!(parse_date("24.12.2026").is_err());
    }
}
