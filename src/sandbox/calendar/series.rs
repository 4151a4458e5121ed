//! The stored form of an event: one per `VEVENT`, with its recurrence kept as rules so that
//! occurrences are computed per request.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use chrono_tz::Tz;

use crate::domain::models::calendar::{EventAttendee, EventDateTime, EventPerson};

/// The start of an event or occurrence: a date for all-day events, an instant otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) enum Start {
    Date(NaiveDate),
    Instant(DateTime<Utc>),
}

impl Start {
    /// The suffix Google appends to a series id to name one occurrence:
    /// `YYYYMMDD` for all-day events, `YYYYMMDDTHHMMSSZ` (UTC) for timed ones.
    pub(super) fn instance_suffix(self) -> String {
        match self {
            Self::Date(date) => date.format("%Y%m%d").to_string(),
            Self::Instant(instant) => instant.format("%Y%m%dT%H%M%SZ").to_string(),
        }
    }

    /// Parses an [`Self::instance_suffix`].
    pub(super) fn from_instance_suffix(suffix: &str) -> Option<Self> {
        if suffix.len() == 8 && suffix.bytes().all(|b| b.is_ascii_digit()) {
            return NaiveDate::parse_from_str(suffix, "%Y%m%d")
                .ok()
                .map(Self::Date);
        }
        let local = suffix.strip_suffix('Z')?;
        if local.len() != 15 {
            return None;
        }
        chrono::NaiveDateTime::parse_from_str(local, "%Y%m%dT%H%M%S")
            .ok()
            .map(|naive| Self::Instant(naive.and_utc()))
    }
}

/// The zone an event's times were written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct EventZone {
    pub(super) tz: Tz,
    /// Whether the event named the zone (`TZID`), so that `timeZone` is reported. UTC
    /// (`Z`) and floating times carry no zone name.
    pub(super) named: bool,
}

impl EventZone {
    pub(super) const UTC: Self = Self {
        tz: chrono_tz::UTC,
        named: false,
    };
}

/// When an event happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Timing {
    /// An all-day event over `[start, end)`, in whole days.
    AllDay { start: NaiveDate, end: NaiveDate },
    /// A timed event over `[start, end)`.
    Timed {
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        start_zone: EventZone,
        end_zone: EventZone,
    },
}

impl Timing {
    pub(super) fn start(&self) -> Start {
        match *self {
            Self::AllDay { start, .. } => Start::Date(start),
            Self::Timed { start, .. } => Start::Instant(start),
        }
    }

    /// The same event moved to start at `start`, keeping its length. A `start` of the other
    /// kind (a date for a timed event, or the reverse) leaves the timing as it is.
    pub(super) fn moved_to(&self, start: Start) -> Self {
        match (*self, start) {
            (Self::AllDay { start: old, end }, Start::Date(new)) => Self::AllDay {
                start: new,
                end: new + (end - old),
            },
            (
                Self::Timed {
                    start: old,
                    end,
                    start_zone,
                    end_zone,
                },
                Start::Instant(new),
            ) => Self::Timed {
                start: new,
                end: new + (end - old),
                start_zone,
                end_zone,
            },
            (timing, _) => timing,
        }
    }

    /// The interval `[start, end)` in instants, with all-day dates taken at midnight in
    /// `zone` (the requested zone or the calendar's).
    pub(super) fn interval(&self, zone: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
        match *self {
            Self::AllDay { start, end } => (midnight(start, zone), midnight(end, zone)),
            Self::Timed { start, end, .. } => (start, end),
        }
    }

    /// The `start` and `end` objects of the Calendar API, with instants rendered in
    /// `display_zone` when given, else in the event's own zone.
    pub(super) fn render(&self, display_zone: Option<Tz>) -> (EventDateTime, EventDateTime) {
        match *self {
            Self::AllDay { start, end } => (render_date(start), render_date(end)),
            Self::Timed {
                start,
                end,
                start_zone,
                end_zone,
            } => (
                render_instant(start, start_zone, display_zone),
                render_instant(end, end_zone, display_zone),
            ),
        }
    }
}

pub(super) fn render_start(
    start: Start,
    zone: EventZone,
    display_zone: Option<Tz>,
) -> EventDateTime {
    match start {
        Start::Date(date) => render_date(date),
        Start::Instant(instant) => render_instant(instant, zone, display_zone),
    }
}

fn render_date(date: NaiveDate) -> EventDateTime {
    EventDateTime {
        date: Some(date.format("%Y-%m-%d").to_string()),
        ..EventDateTime::default()
    }
}

fn render_instant(
    instant: DateTime<Utc>,
    zone: EventZone,
    display_zone: Option<Tz>,
) -> EventDateTime {
    let shown = display_zone.unwrap_or(zone.tz);
    EventDateTime {
        date_time: Some(
            instant
                .with_timezone(&shown)
                .to_rfc3339_opts(SecondsFormat::Secs, true),
        ),
        time_zone: zone.named.then(|| zone.tz.name().to_owned()),
        ..EventDateTime::default()
    }
}

/// Midnight at the start of `date` in `zone`. Where midnight falls into a daylight-saving
/// gap, the first instant of the day is an hour later.
pub(super) fn midnight(date: NaiveDate, zone: Tz) -> DateTime<Utc> {
    local_to_utc(date.and_time(chrono::NaiveTime::MIN), zone)
}

/// Converts a wall-clock time in `zone` to an instant. An ambiguous time (the repeated hour
/// when clocks go back) takes the earlier instant, and a time in a gap (clocks go forward)
/// is moved an hour later, as RFC 5545 section 3.3.5 prescribes.
pub(super) fn local_to_utc(local: chrono::NaiveDateTime, zone: Tz) -> DateTime<Utc> {
    use chrono::TimeZone;
    use chrono::offset::LocalResult;

    match zone.from_local_datetime(&local) {
        LocalResult::Single(instant) | LocalResult::Ambiguous(instant, _) => {
            instant.with_timezone(&Utc)
        }
        LocalResult::None => {
            match zone.from_local_datetime(&(local + chrono::Duration::hours(1))) {
                LocalResult::Single(instant) | LocalResult::Ambiguous(instant, _) => {
                    instant.with_timezone(&Utc)
                }
                LocalResult::None => local.and_utc(),
            }
        }
    }
}

/// One `VEVENT`, possibly the master of a recurring series.
#[derive(Debug, Clone)]
pub(super) struct Series {
    /// The Calendar API id: base32hex, derived from the UID.
    pub(super) id: String,
    pub(super) uid: String,
    pub(super) summary: Option<String>,
    pub(super) description: Option<String>,
    pub(super) location: Option<String>,
    /// `confirmed`, `tentative` or `cancelled`.
    pub(super) status: &'static str,
    pub(super) timing: Timing,
    pub(super) recurrence: Recurrence,
    pub(super) attendees: Vec<EventAttendee>,
    pub(super) organizer: Option<EventPerson>,
    /// `transparent` when the event does not block time; Google omits the default `opaque`.
    pub(super) transparency: Option<&'static str>,
    /// RFC 3339 with milliseconds, as Google writes it.
    pub(super) created: Option<String>,
    pub(super) updated: Option<String>,
    /// Changed occurrences (`VEVENT`s with the same UID and a `RECURRENCE-ID`), by the start
    /// the rule gives them.
    pub(super) overrides: BTreeMap<Start, Series>,
}

impl Series {
    pub(super) fn is_recurring(&self) -> bool {
        !self.recurrence.rules.is_empty() || !self.recurrence.rdates.is_empty()
    }

    pub(super) fn zone(&self) -> EventZone {
        match self.timing {
            Timing::AllDay { .. } => EventZone::UTC,
            Timing::Timed { start_zone, .. } => start_zone,
        }
    }
}

/// The recurrence of a series.
#[derive(Debug, Clone, Default)]
pub(super) struct Recurrence {
    /// The `RRULE`, `EXRULE`, `RDATE` and `EXDATE` lines as written in the file.
    pub(super) lines: Vec<String>,
    /// The rules, validated against the series' start.
    pub(super) rules: Vec<rrule::RRule>,
    pub(super) rdates: Vec<Start>,
    pub(super) exdates: Vec<Start>,
}
