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
fn parse_time_bound(value: &str, zone: Option<Tz>) -> Result<DateTime<Utc>, String> {
    let value = value.trim();
    if let Ok(instant) = DateTime::parse_from_rfc3339(value) {
        return Ok(instant.with_timezone(&Utc));
    }

    let local = NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M"))
        .or_else(|_| NaiveDate::parse_from_str(value, "%Y-%m-%d").map(|date| date.and_time(chrono::NaiveTime::MIN)))
        .map_err(|_| format!("{value:?} is not a date or time; use RFC 3339 (2025-03-30T09:00:00+02:00), a local time (2025-03-30T09:00) or a date (2025-03-30)"))?;

    let zone = zone.unwrap_or(Tz::UTC);
    // In a daylight-saving gap the local time does not exist; the first instant after it is
    // what a person means by "09:00" on that day.
    zone.from_local_datetime(&local)
        .earliest()
        .or_else(|| {
            zone.from_local_datetime(&(local + chrono::TimeDelta::hours(1)))
                .earliest()
        })
        .map(|instant| instant.with_timezone(&Utc))
        .ok_or_else(|| format!("{value:?} does not exist in {zone}"))
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
    fn local_time_in_dst_gap_moves_forward() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        // 02:30 does not exist in Berlin on 2025-03-30; 03:30 CEST is 01:30 UTC.
        assert_eq!(
            parse_time_bound("2025-03-30T02:30", Some(berlin))
                .unwrap()
                .to_rfc3339(),
            "2025-03-30T01:30:00+00:00"
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
