//! The Calendar tools.

mod events;
mod freebusy;
mod slots;
mod when;
mod write;

pub(crate) use events::{GetEvent, ListCalendars, ListEvents};
pub(crate) use freebusy::{FindFreeSlots, QueryFreeBusy};
pub(crate) use write::{CreateEvent, DeleteEvent, RespondToEvent, UpdateEvent};

use crate::domain::zone::Tz;
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};

use crate::domain::models::calendar::EventDateTime;

/// Parses an IANA zone name.
fn parse_zone(name: &str) -> Result<Tz, String> {
    name.parse::<Tz>()
}

/// Parses a time bound given by the model: RFC 3339 with an offset, a local date-time
/// (`2025-03-30T09:00`), or a date (`2025-03-30`, meaning its midnight). Local forms are read
/// in `zone`, or in UTC when no zone is given.
///
/// A local time that the zone skips is rejected, as event times are, because any instant
/// picked for it would be a guess. One that occurs twice takes the earlier instant. A date
/// whose midnight is skipped means the first instant of that day.
fn parse_time_bound(value: &str, zone: Option<Tz>) -> Result<DateTime<Utc>, String> {
    let value = value.trim();
    if let Ok(instant) = DateTime::parse_from_rfc3339(value) {
        return Ok(instant.with_timezone(&Utc));
    }
    let zone = zone.unwrap_or(Tz::UTC);

    if let Ok(date) = NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        let midnight = date.and_time(chrono::NaiveTime::MIN);
        return zone
            .from_local_datetime(&midnight)
            .earliest()
            .or_else(|| {
                zone.from_local_datetime(&(midnight + chrono::TimeDelta::hours(1)))
                    .earliest()
            })
            .map(|instant| instant.with_timezone(&Utc))
            .ok_or_else(|| format!("{value:?} has no midnight in {zone}"));
    }

    let local = NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M"))
        .map_err(|_| format!("{value:?} is not a date or time; use RFC 3339 (2025-03-30T09:00:00+02:00), a local time (2025-03-30T09:00) or a date (2025-03-30)"))?;
    when::resolve_local(local, zone).map(|resolved| resolved.instant.with_timezone(&Utc))
}

/// An event boundary as shown to the model: the date of an all-day event, else the
/// RFC 3339 instant with its offset.
fn show_boundary(boundary: &EventDateTime) -> String {
    boundary
        .date
        .clone()
        .or_else(|| boundary.date_time.clone())
        .unwrap_or_default()
}

/// Renders an event's span for text: `2025-03-30 (all day)`, `2025-03-30 to 2025-04-01
/// (all day)` with the last day inclusive, or `start to end`.
fn render_span(start: &EventDateTime, end: &EventDateTime) -> String {
    if let Some(start_date) = &start.date {
        let last_day = end
            .date
            .as_deref()
            .and_then(|end| NaiveDate::parse_from_str(end, "%Y-%m-%d").ok())
            .and_then(|end| end.pred_opt())
            .map(|day| day.to_string());
        return match last_day {
            Some(last) if &last != start_date => format!("{start_date} to {last} (all day)"),
            _ => format!("{start_date} (all day)"),
        };
    }
    format!("{} to {}", show_boundary(start), show_boundary(end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rfc3339_and_local_forms() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        assert_eq!(
            parse_time_bound("2025-03-30T09:00:00+02:00", None)
                .unwrap()
                .to_rfc3339(),
            "2025-03-30T07:00:00+00:00"
        );
        assert_eq!(
            parse_time_bound("2025-03-30T09:00", Some(berlin))
                .unwrap()
                .to_rfc3339(),
            "2025-03-30T07:00:00+00:00"
        );
        assert_eq!(
            parse_time_bound("2025-01-15", Some(berlin))
                .unwrap()
                .to_rfc3339(),
            "2025-01-14T23:00:00+00:00"
        );
        assert_eq!(
            parse_time_bound("2025-01-15", None).unwrap().to_rfc3339(),
            "2025-01-15T00:00:00+00:00"
        );
    }

    #[test]
    fn local_time_in_dst_gap_is_rejected() {
        let new_york: Tz = "America/New_York".parse().unwrap();
        // Clocks in New York skip from 02:00 to 03:00 on 2026-03-08.
        let error = parse_time_bound("2026-03-08T02:30", Some(new_york)).unwrap_err();
        assert!(error.contains("2026-03-08T02:30"), "{error}");
        assert!(error.contains("does not exist"), "{error}");
        assert!(parse_time_bound("2026-03-08T02:30:00-05:00", Some(new_york)).is_ok());
    }

    #[test]
    fn date_with_skipped_midnight_starts_after_gap() {
        let santiago: Tz = "America/Santiago".parse().unwrap();
        // Clocks in Santiago skip from 00:00 to 01:00 on 2025-09-07.
        assert_eq!(
            parse_time_bound("2025-09-07", Some(santiago))
                .unwrap()
                .to_rfc3339(),
            "2025-09-07T04:00:00+00:00"
        );
    }

    #[test]
    fn repeated_local_time_takes_earlier() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        assert_eq!(
            parse_time_bound("2026-10-25T02:30", Some(berlin))
                .unwrap()
                .to_rfc3339(),
            "2026-10-25T00:30:00+00:00"
        );
    }

    #[test]
    fn rejects_garbage_with_hint() {
        let error = parse_time_bound("next tuesday", None).unwrap_err();
        assert!(error.contains("RFC 3339"), "{error}");
        assert!(parse_zone("Mars/Olympus").unwrap_err().contains("IANA"));
    }

    #[test]
    fn all_day_span_shows_inclusive_last_day() {
        let day = |date: &str| EventDateTime {
            date: Some(date.to_owned()),
            ..EventDateTime::default()
        };
        assert_eq!(
            render_span(&day("2025-05-01"), &day("2025-05-02")),
            "2025-05-01 (all day)"
        );
        assert_eq!(
            render_span(&day("2025-05-01"), &day("2025-05-04")),
            "2025-05-01 to 2025-05-03 (all day)"
        );
    }
}
