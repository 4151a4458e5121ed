//! Free-slot finding: the working time of each local day in a window, minus merged busy
//! intervals widened by a buffer.

use crate::domain::zone::Tz;
use chrono::offset::LocalResult;
use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc, Weekday,
};

/// A half-open interval `[start, end)` of instants.
pub(super) type Interval = (DateTime<Utc>, DateTime<Utc>);

/// The working time of a day, the same on every working day, in local time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct WorkingHours {
    pub(super) start: NaiveTime,
    /// The end; `None` means midnight at the end of the day (`24:00`).
    pub(super) end: Option<NaiveTime>,
    /// The working days.
    pub(super) days: Vec<Weekday>,
}

impl Default for WorkingHours {
    /// 09:00 to 17:00, Monday to Friday.
    fn default() -> Self {
        Self {
            start: NaiveTime::from_hms_opt(9, 0, 0).unwrap_or(NaiveTime::MIN),
            end: NaiveTime::from_hms_opt(17, 0, 0),
            days: vec![
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
            ],
        }
    }
}

/// Parses `HH:MM` for working hours; `24:00` is accepted as an end and returned as `None`.
///
/// # Errors
///
/// The reason, naming the value.
pub(super) fn parse_clock(
    value: &str,
    allow_midnight_end: bool,
) -> Result<Option<NaiveTime>, String> {
    let value = value.trim();
    if allow_midnight_end && value == "24:00" {
        return Ok(None);
    }
    NaiveTime::parse_from_str(value, "%H:%M")
        .map(Some)
        .map_err(|_| format!("{value:?} is not a time of day; use HH:MM, such as 09:00"))
}

/// Parses a weekday name: `mon`, `monday`, `Mon` and so on.
///
/// # Errors
///
/// The reason, naming the value.
pub(super) fn parse_weekday(value: &str) -> Result<Weekday, String> {
    value
        .trim()
        .parse::<Weekday>()
        .map_err(|_| format!("{value:?} is not a weekday; use mon, tue, wed, thu, fri, sat or sun"))
}

/// Sorts intervals and merges those that overlap or touch.
pub(super) fn merge(mut intervals: Vec<Interval>) -> Vec<Interval> {
    intervals.retain(|(start, end)| end > start);
    intervals.sort();
    let mut merged: Vec<Interval> = Vec::with_capacity(intervals.len());
    for (start, end) in intervals {
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    merged
}

/// Finds the free intervals of at least `min_length` inside `window` and inside the
/// working hours of each local day in `zone`, with each busy interval widened by `buffer`
/// on both sides. Returns them ordered by start.
///
/// Working hours are wall-clock times, so across a daylight-saving change they keep their
/// local times and move in UTC. A working-hours boundary that the zone skips moves to the
/// first local time after the gap; one that occurs twice takes the earlier instant.
pub(super) fn free_slots(
    busy: &[Interval],
    window: Interval,
    hours: &WorkingHours,
    zone: Tz,
    min_length: Duration,
    buffer: Duration,
) -> Vec<Interval> {
    let blocked = merge(
        busy.iter()
            .map(|(start, end)| (*start - buffer, *end + buffer))
            .collect(),
    );

    // One day of margin on each side covers windows that start or end near midnight.
    let first_day = window.0.with_timezone(&zone).date_naive() - Duration::days(1);
    let last_day = window.1.with_timezone(&zone).date_naive() + Duration::days(1);

    let mut slots = Vec::new();
    let mut day = first_day;
    while day <= last_day {
        if hours.days.contains(&day.weekday())
            && let Some(working) = working_interval(day, hours, zone)
        {
            let start = working.0.max(window.0);
            let end = working.1.min(window.1);
            if end > start {
                for free in subtract((start, end), &blocked) {
                    if free.1 - free.0 >= min_length {
                        slots.push(free);
                    }
                }
            }
        }
        day += Duration::days(1);
    }
    slots
}

/// The working interval of `day` in `zone`, or `None` when it is empty.
fn working_interval(day: NaiveDate, hours: &WorkingHours, zone: Tz) -> Option<Interval> {
    let start = local_instant(day.and_time(hours.start), zone);
    let end = match hours.end {
        Some(end) => local_instant(day.and_time(end), zone),
        None => local_instant((day + Duration::days(1)).and_time(NaiveTime::MIN), zone),
    };
    (end > start).then_some((start, end))
}

/// Resolves a wall-clock time for working hours: the earlier instant of a repeated time,
/// and the first existing minute after a skipped one.
fn local_instant(local: NaiveDateTime, zone: Tz) -> DateTime<Utc> {
    // Gaps last at most a few hours; 24 hours of minutes bounds the search.
    for minutes in 0..=24 * 60 {
        match zone.from_local_datetime(&(local + Duration::minutes(minutes))) {
            LocalResult::Single(instant) | LocalResult::Ambiguous(instant, _) => {
                return instant.with_timezone(&Utc);
            }
            LocalResult::None => {}
        }
    }
    local.and_utc()
}

/// `range` minus the sorted, merged `blocked` intervals.
fn subtract(range: Interval, blocked: &[Interval]) -> Vec<Interval> {
    let mut free = Vec::new();
    let mut cursor = range.0;
    for &(start, end) in blocked {
        if end <= cursor {
            continue;
        }
        if start >= range.1 {
            break;
        }
        if start > cursor {
            free.push((cursor, start));
        }
        cursor = cursor.max(end);
    }
    if cursor < range.1 {
        free.push((cursor, range.1));
    }
    free
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn span(start: &str, end: &str) -> Interval {
        (at(start), at(end))
    }

    fn show(slots: &[Interval]) -> Vec<(String, String)> {
        slots
            .iter()
            .map(|(start, end)| (start.to_rfc3339(), end.to_rfc3339()))
            .collect()
    }

    fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
        expected
            .iter()
            .map(|(start, end)| (at(start).to_rfc3339(), at(end).to_rfc3339()))
            .collect()
    }

    fn utc_zone() -> Tz {
        Tz::UTC
    }

    #[test]
    fn merge_joins_overlapping_and_touching() {
        let merged = merge(vec![
            span("2026-03-02T11:00:00Z", "2026-03-02T12:00:00Z"),
            span("2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z"),
            span("2026-03-02T09:30:00Z", "2026-03-02T10:30:00Z"),
            span("2026-03-02T10:30:00Z", "2026-03-02T10:45:00Z"),
            span("2026-03-02T11:15:00Z", "2026-03-02T11:30:00Z"),
        ]);
        assert_eq!(
            show(&merged),
            pairs(&[
                ("2026-03-02T09:00:00Z", "2026-03-02T10:45:00Z"),
                ("2026-03-02T11:00:00Z", "2026-03-02T12:00:00Z"),
            ])
        );
    }

    #[test]
    fn busy_intervals_are_cut_out() {
        // Monday 2026-03-02, 09:00 to 17:00 UTC.
        let busy = [
            span("2026-03-02T10:00:00Z", "2026-03-02T11:00:00Z"),
            span("2026-03-02T10:30:00Z", "2026-03-02T12:00:00Z"),
            span("2026-03-02T15:00:00Z", "2026-03-02T18:00:00Z"),
        ];
        let slots = free_slots(
            &busy,
            span("2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z"),
            &WorkingHours::default(),
            utc_zone(),
            Duration::minutes(30),
            Duration::zero(),
        );
        assert_eq!(
            show(&slots),
            pairs(&[
                ("2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z"),
                ("2026-03-02T12:00:00Z", "2026-03-02T15:00:00Z"),
            ])
        );
    }

    #[test]
    fn buffer_widens_busy_and_drops_short_gaps() {
        let busy = [
            span("2026-03-02T10:00:00Z", "2026-03-02T11:00:00Z"),
            span("2026-03-02T11:45:00Z", "2026-03-02T12:00:00Z"),
        ];
        let slots = free_slots(
            &busy,
            span("2026-03-02T09:00:00Z", "2026-03-02T13:00:00Z"),
            &WorkingHours::default(),
            utc_zone(),
            Duration::minutes(30),
            Duration::minutes(15),
        );
        // 09:00-09:45 before the first meeting; the 11:15-11:30 gap is too short;
        // 12:15-13:00 after the second.
        assert_eq!(
            show(&slots),
            pairs(&[
                ("2026-03-02T09:00:00Z", "2026-03-02T09:45:00Z"),
                ("2026-03-02T12:15:00Z", "2026-03-02T13:00:00Z"),
            ])
        );
    }

    #[test]
    fn working_hours_follow_new_york_dst() {
        // Friday 2026-03-06 to Tuesday 2026-03-10; New York moves to EDT on Sunday the 8th.
        let slots = free_slots(
            &[],
            span("2026-03-06T00:00:00Z", "2026-03-11T00:00:00Z"),
            &WorkingHours::default(),
            "America/New_York".parse().unwrap(),
            Duration::minutes(30),
            Duration::zero(),
        );
        assert_eq!(
            show(&slots),
            pairs(&[
                ("2026-03-06T14:00:00Z", "2026-03-06T22:00:00Z"),
                ("2026-03-09T13:00:00Z", "2026-03-09T21:00:00Z"),
                ("2026-03-10T13:00:00Z", "2026-03-10T21:00:00Z"),
            ])
        );
    }

    #[test]
    fn working_hours_follow_berlin_dst_back() {
        // Berlin returns to CET on Sunday 2026-10-25; all days are working days here.
        let hours = WorkingHours {
            days: vec![Weekday::Sat, Weekday::Sun, Weekday::Mon],
            ..WorkingHours::default()
        };
        let slots = free_slots(
            &[],
            span("2026-10-24T00:00:00Z", "2026-10-27T00:00:00Z"),
            &hours,
            "Europe/Berlin".parse().unwrap(),
            Duration::minutes(30),
            Duration::zero(),
        );
        assert_eq!(
            show(&slots),
            pairs(&[
                ("2026-10-24T07:00:00Z", "2026-10-24T15:00:00Z"),
                ("2026-10-25T08:00:00Z", "2026-10-25T16:00:00Z"),
                ("2026-10-26T08:00:00Z", "2026-10-26T16:00:00Z"),
            ])
        );
    }

    #[test]
    fn weekends_are_skipped() {
        // Saturday 2026-03-07 and Sunday 2026-03-08 only.
        let slots = free_slots(
            &[],
            span("2026-03-07T00:00:00Z", "2026-03-09T00:00:00Z"),
            &WorkingHours::default(),
            utc_zone(),
            Duration::minutes(30),
            Duration::zero(),
        );
        assert!(slots.is_empty(), "{slots:?}");
    }

    #[test]
    fn window_edges_cut_working_hours() {
        // The window opens at 15:30 on Monday and closes at 10:00 on Tuesday.
        let slots = free_slots(
            &[],
            span("2026-03-02T15:30:00Z", "2026-03-03T10:00:00Z"),
            &WorkingHours::default(),
            utc_zone(),
            Duration::minutes(60),
            Duration::zero(),
        );
        assert_eq!(
            show(&slots),
            pairs(&[
                ("2026-03-02T15:30:00Z", "2026-03-02T17:00:00Z"),
                ("2026-03-03T09:00:00Z", "2026-03-03T10:00:00Z"),
            ])
        );

        // A 30-minute window inside the day yields a slot only for a 30-minute meeting.
        let window = span("2026-03-02T12:00:00Z", "2026-03-02T12:30:00Z");
        let hours = WorkingHours::default();
        let short = free_slots(
            &[],
            window,
            &hours,
            utc_zone(),
            Duration::minutes(30),
            Duration::zero(),
        );
        assert_eq!(short.len(), 1);
        let long = free_slots(
            &[],
            window,
            &hours,
            utc_zone(),
            Duration::minutes(31),
            Duration::zero(),
        );
        assert!(long.is_empty());
    }

    #[test]
    fn local_days_in_zone_east_of_utc() {
        // 09:00-17:00 in Kolkata (+05:30) is 03:30-11:30 UTC; the UTC day of the window
        // starts inside the Monday's local working hours.
        let slots = free_slots(
            &[span("2026-03-02T05:00:00Z", "2026-03-02T06:00:00Z")],
            span("2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z"),
            &WorkingHours::default(),
            "Asia/Kolkata".parse().unwrap(),
            Duration::minutes(30),
            Duration::zero(),
        );
        assert_eq!(
            show(&slots),
            pairs(&[
                ("2026-03-02T03:30:00Z", "2026-03-02T05:00:00Z"),
                ("2026-03-02T06:00:00Z", "2026-03-02T11:30:00Z"),
            ])
        );
    }

    #[test]
    fn combined_calendars_block_union() {
        // Two people's busy times: the slot must be free for both.
        let alice = [span("2026-03-02T09:00:00Z", "2026-03-02T12:00:00Z")];
        let bob = [span("2026-03-02T13:00:00Z", "2026-03-02T17:00:00Z")];
        let busy: Vec<Interval> = alice.iter().chain(bob.iter()).copied().collect();
        let slots = free_slots(
            &busy,
            span("2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z"),
            &WorkingHours::default(),
            utc_zone(),
            Duration::minutes(30),
            Duration::zero(),
        );
        assert_eq!(
            show(&slots),
            pairs(&[("2026-03-02T12:00:00Z", "2026-03-02T13:00:00Z")])
        );
    }

    #[test]
    fn clock_and_weekday_parsing() {
        assert_eq!(
            parse_clock("08:30", false).unwrap(),
            NaiveTime::from_hms_opt(8, 30, 0)
        );
        assert_eq!(parse_clock("24:00", true).unwrap(), None);
        assert!(parse_clock("24:00", false).is_err());
        assert!(parse_clock("9am", false).unwrap_err().contains("HH:MM"));
        assert_eq!(parse_weekday("Mon").unwrap(), Weekday::Mon);
        assert_eq!(parse_weekday("saturday").unwrap(), Weekday::Sat);
        assert!(parse_weekday("funday").is_err());
    }
}
