//! `events.insert`, `events.patch` and `events.delete` on the sandbox calendar.
//!
//! Times and recurrence lines of a request are written as one iCalendar `VEVENT` and read
//! back through the same parser as `.ics` files, so both paths share one reading of zones,
//! RRULEs and EXDATEs.
//!
//! Limits: a field sent as `null` in a patch is treated as absent, not cleared. Changing a
//! series' times moves the keys of its changed occurrences by the same local shift, but not
//! their own times.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDateTime, SecondsFormat, Utc};
use serde::Deserialize;

use crate::domain::models::calendar::{Event, EventAttendee, EventDateTime, EventPerson};

use super::series::{Recurrence, Series, Start, Timing, local_to_utc};
use super::{CalendarStore, GoogleErrorBody, event_id, ics, not_found, recurrence};

/// The fields of an `Event` request body the sandbox reads; others are ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EventBody {
    id: Option<String>,
    summary: Option<String>,
    description: Option<String>,
    location: Option<String>,
    start: Option<EventDateTime>,
    end: Option<EventDateTime>,
    attendees: Option<Vec<EventAttendee>>,
    recurrence: Option<Vec<String>>,
    transparency: Option<String>,
    status: Option<String>,
}

impl EventBody {
    /// Parses a request body, rejecting a malformed one with Google's 400.
    pub(crate) fn parse(body: serde_json::Value) -> Result<Self, GoogleErrorBody> {
        serde_json::from_value(body).map_err(|error| {
            GoogleErrorBody::bad_request(format!("Invalid JSON payload received. {error}"))
        })
    }
}

impl CalendarStore {
    /// `events.insert` into `calendar_id`.
    pub(crate) fn insert_event(
        &mut self,
        calendar_id: &str,
        body: EventBody,
        now: DateTime<Utc>,
    ) -> Result<Event, GoogleErrorBody> {
        self.check_calendar(calendar_id)?;
        let start = body
            .start
            .as_ref()
            .ok_or_else(|| GoogleErrorBody::bad_request("Missing start time."))?;
        let end = body
            .end
            .as_ref()
            .ok_or_else(|| GoogleErrorBody::bad_request("Missing end time."))?;
        let lines = body.recurrence.clone().unwrap_or_default();
        let (timing, recurrence) = read_times(start, end, &lines, &self.owner_email)?;

        let id = match body.id.as_deref() {
            Some(id) => {
                check_new_id(id)?;
                if self.by_id.contains_key(id) {
                    return Err(GoogleErrorBody::conflict(
                        "The requested identifier already exists.",
                    ));
                }
                id.to_owned()
            }
            None => self.unused_id(now),
        };
        let stamp = now.to_rfc3339_opts(SecondsFormat::Millis, true);
        let mut series = Series {
            id: id.clone(),
            uid: format!("{id}@google.com"),
            summary: None,
            description: None,
            location: None,
            status: "confirmed",
            timing,
            recurrence,
            attendees: Vec::new(),
            organizer: Some(EventPerson {
                email: Some(self.owner_email.clone()),
                display_name: None,
                is_self: Some(true),
            }),
            transparency: None,
            created: Some(stamp.clone()),
            updated: Some(stamp),
            overrides: BTreeMap::new(),
        };
        self.apply_fields(&mut series, &body)?;
        if !series.attendees.is_empty() {
            self.add_organizer_entry(&mut series.attendees);
        }

        let index = self.series.len();
        self.by_id.insert(id, index);
        self.series.push(series);
        Ok(self.render_series(&self.series[index], None))
    }

    /// `events.patch` of a series, a single event or one occurrence (`{series}_{start}`),
    /// which then becomes a changed occurrence of its series.
    pub(crate) fn patch_event(
        &mut self,
        calendar_id: &str,
        event_id: &str,
        body: EventBody,
        now: DateTime<Utc>,
    ) -> Result<Event, GoogleErrorBody> {
        self.check_calendar(calendar_id)?;
        let stamp = now.to_rfc3339_opts(SecondsFormat::Millis, true);

        if let Some(&index) = self.by_id.get(event_id) {
            let mut series = self.series[index].clone();
            if body.start.is_some() || body.end.is_some() || body.recurrence.is_some() {
                let (start, end) = series.timing.render(None);
                let start = body.start.clone().unwrap_or(start);
                let end = body.end.clone().unwrap_or(end);
                let lines = body
                    .recurrence
                    .clone()
                    .unwrap_or_else(|| series.recurrence.lines.clone());
                let (timing, recurrence) = read_times(&start, &end, &lines, &self.owner_email)?;
                let old_timing = series.timing;
                series.timing = timing;
                series.recurrence = recurrence;
                shift_overrides(&mut series, &old_timing);
            }
            self.apply_fields(&mut series, &body)?;
            series.updated = Some(stamp);
            self.series[index] = series;
            return Ok(self.render_series(&self.series[index], None));
        }

        let (index, original) = self.find_occurrence(event_id)?;
        if body.recurrence.is_some() {
            return Err(GoogleErrorBody::bad_request(
                "Invalid recurrence: a single occurrence of a recurring event cannot have its own recurrence.",
            ));
        }
        let owner_email = self.owner_email.clone();
        let series = &self.series[index];
        let mut changed = match series.overrides.get(&original) {
            Some(changed) => changed.clone(),
            None => Series {
                timing: series.timing.moved_to(original),
                recurrence: Recurrence::default(),
                overrides: BTreeMap::new(),
                ..series.clone()
            },
        };
        if body.start.is_some() || body.end.is_some() {
            let (start, end) = changed.timing.render(None);
            let start = body.start.clone().unwrap_or(start);
            let end = body.end.clone().unwrap_or(end);
            changed.timing = read_times(&start, &end, &[], &owner_email)?.0;
        }
        self.apply_fields(&mut changed, &body)?;
        changed.updated = Some(stamp);

        let series = &mut self.series[index];
        series.overrides.insert(original, changed);
        let series = &self.series[index];
        Ok(self.render_occurrence(series, original, None))
    }

    /// `events.delete`. A series or single event is marked cancelled; an occurrence becomes
    /// a cancelled changed occurrence, so its series skips it.
    pub(crate) fn delete_event(
        &mut self,
        calendar_id: &str,
        event_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), GoogleErrorBody> {
        self.check_calendar(calendar_id)?;
        let stamp = now.to_rfc3339_opts(SecondsFormat::Millis, true);

        if let Some(&index) = self.by_id.get(event_id) {
            let series = &mut self.series[index];
            if series.status == "cancelled" {
                return Err(GoogleErrorBody::gone("Resource has been deleted"));
            }
            // Deleting a series deletes its changed occurrences too.
            for changed in series.overrides.values_mut() {
                changed.status = "cancelled";
            }
            series.status = "cancelled";
            series.updated = Some(stamp);
            return Ok(());
        }

        let (index, original) = self.find_occurrence(event_id)?;
        let series = &mut self.series[index];
        let mut changed = match series.overrides.get(&original) {
            Some(changed) if changed.status == "cancelled" => {
                return Err(GoogleErrorBody::gone("Resource has been deleted"));
            }
            Some(changed) => changed.clone(),
            None => Series {
                timing: series.timing.moved_to(original),
                recurrence: Recurrence::default(),
                overrides: BTreeMap::new(),
                ..series.clone()
            },
        };
        changed.status = "cancelled";
        changed.updated = Some(stamp);
        series.overrides.insert(original, changed);
        Ok(())
    }

    /// Finds the series and original start of an occurrence id `{series id}_{suffix}`.
    pub(super) fn find_occurrence(
        &self,
        event_id: &str,
    ) -> Result<(usize, Start), GoogleErrorBody> {
        let (series_id, suffix) = event_id.rsplit_once('_').ok_or_else(not_found)?;
        let original = Start::from_instance_suffix(suffix).ok_or_else(not_found)?;
        let index = *self.by_id.get(series_id).ok_or_else(not_found)?;
        let series = &self.series[index];
        if !series.is_recurring() {
            return Err(not_found());
        }

        let probe = match original {
            Start::Date(date) => date.and_time(chrono::NaiveTime::MIN).and_utc(),
            Start::Instant(instant) => instant,
        };
        let exists = series.overrides.contains_key(&original)
            || recurrence::starts(series, Some(probe), probe + Duration::seconds(1))
                .contains(&original);
        if exists {
            Ok((index, original))
        } else {
            Err(not_found())
        }
    }

    /// Copies the plain fields of a request onto `series`.
    fn apply_fields(&self, series: &mut Series, body: &EventBody) -> Result<(), GoogleErrorBody> {
        if let Some(summary) = &body.summary {
            series.summary = Some(summary.clone()).filter(|text| !text.is_empty());
        }
        if let Some(description) = &body.description {
            series.description = Some(description.clone()).filter(|text| !text.is_empty());
        }
        if let Some(location) = &body.location {
            series.location = Some(location.clone()).filter(|text| !text.is_empty());
        }
        if let Some(transparency) = body.transparency.as_deref() {
            series.transparency = match transparency {
                "opaque" => None,
                "transparent" => Some("transparent"),
                other => {
                    return Err(GoogleErrorBody::bad_request(format!(
                        "Invalid value for transparency: '{other}'"
                    )));
                }
            };
        }
        if let Some(status) = body.status.as_deref() {
            series.status = match status {
                "confirmed" => "confirmed",
                "tentative" => "tentative",
                "cancelled" => "cancelled",
                other => {
                    return Err(GoogleErrorBody::bad_request(format!(
                        "Invalid value for status: '{other}'"
                    )));
                }
            };
        }
        if let Some(attendees) = &body.attendees {
            let mut list = Vec::with_capacity(attendees.len());
            for attendee in attendees {
                let Some(email) = attendee
                    .email
                    .as_deref()
                    .filter(|email| email.contains('@'))
                else {
                    return Err(GoogleErrorBody::bad_request("Invalid attendee email."));
                };
                list.push(EventAttendee {
                    is_self: email
                        .eq_ignore_ascii_case(&self.owner_email)
                        .then_some(true),
                    response_status: Some(
                        attendee
                            .response_status
                            .clone()
                            .unwrap_or_else(|| "needsAction".to_owned()),
                    ),
                    ..attendee.clone()
                });
            }
            series.attendees = list;
        }
        Ok(())
    }

    /// Adds the owner as the accepted organizer, as Google lists the organizer of an event
    /// with guests.
    fn add_organizer_entry(&self, attendees: &mut Vec<EventAttendee>) {
        let listed = attendees.iter().any(|attendee| {
            attendee
                .email
                .as_deref()
                .is_some_and(|email| email.eq_ignore_ascii_case(&self.owner_email))
        });
        if !listed {
            attendees.insert(
                0,
                EventAttendee {
                    email: Some(self.owner_email.clone()),
                    organizer: Some(true),
                    is_self: Some(true),
                    response_status: Some("accepted".to_owned()),
                    ..EventAttendee::default()
                },
            );
        }
    }

    fn unused_id(&self, now: DateTime<Utc>) -> String {
        let mut attempt = self.series.len();
        loop {
            let id = event_id(&format!("inserted\u{1f}{now}\u{1f}{attempt}"));
            if !self.by_id.contains_key(&id) {
                return id;
            }
            attempt += 1;
        }
    }
}

/// Moves the keys of a series' changed occurrences by the shift of its start, in local
/// time, so that each change stays with the occurrence it was made for.
fn shift_overrides(series: &mut Series, old: &Timing) {
    let new = series.timing;
    let overrides = std::mem::take(&mut series.overrides);
    series.overrides = overrides
        .into_iter()
        .map(|(original, changed)| (shift_start(original, old, &new), changed))
        .collect();
}

fn shift_start(original: Start, old: &Timing, new: &Timing) -> Start {
    match (original, old, new) {
        (
            Start::Date(date),
            Timing::AllDay { start: from, .. },
            Timing::AllDay { start: to, .. },
        ) => Start::Date(date + (*to - *from)),
        (
            Start::Instant(instant),
            Timing::Timed {
                start: from,
                start_zone: from_zone,
                ..
            },
            Timing::Timed {
                start: to,
                start_zone: to_zone,
                ..
            },
        ) => {
            let zone = to_zone.tz;
            let shift = to.with_timezone(&zone).naive_local()
                - from.with_timezone(&from_zone.tz).naive_local();
            Start::Instant(local_to_utc(
                instant.with_timezone(&zone).naive_local() + shift,
                zone,
            ))
        }
        (original, _, _) => original,
    }
}

/// Checks a client-chosen id against Google's rules: base32hex (`0-9a-v`), 5 to 1024
/// characters.
fn check_new_id(id: &str) -> Result<(), GoogleErrorBody> {
    let valid = (5..=1024).contains(&id.len())
        && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'v'));
    if valid {
        Ok(())
    } else {
        Err(GoogleErrorBody::bad_request("Invalid resource id value."))
    }
}

/// Reads `start`, `end` and recurrence lines through the iCalendar parser.
fn read_times(
    start: &EventDateTime,
    end: &EventDateTime,
    lines: &[String],
    owner_email: &str,
) -> Result<(Timing, Recurrence), GoogleErrorBody> {
    let start_line = ics_time("DTSTART", start)?;
    let end_line = ics_time("DTEND", end)?;
    if start.date.is_some() != end.date.is_some() {
        return Err(GoogleErrorBody::bad_request(
            "Start and end times must either both be date or both be dateTime.",
        ));
    }
    if !lines.is_empty() && start.date.is_none() && start.time_zone.is_none() {
        return Err(GoogleErrorBody::bad_request(
            "Missing time zone definition for start time.",
        ));
    }

    let mut text = String::from(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:sandbox\r\nBEGIN:VEVENT\r\nUID:request@sandbox.invalid\r\n",
    );
    text.push_str(&start_line);
    text.push_str(&end_line);
    for line in lines {
        if line.contains(['\r', '\n']) || !line.is_ascii() {
            return Err(invalid_recurrence());
        }
        text.push_str(line.trim());
        text.push_str("\r\n");
    }
    text.push_str("END:VEVENT\r\nEND:VCALENDAR\r\n");

    // The rrule crate may panic on input its validation lets through; `parse` touches no
    // shared state, so unwinding out of it is safe. The DTSTART and DTEND lines were
    // checked above, so any other error of the reader is about the recurrence lines. It
    // gets Google's message, because the reader's names the text's internal UID.
    let parsed = std::panic::catch_unwind(|| ics::parse(&text, chrono_tz::UTC, owner_email))
        .map_err(|_| invalid_recurrence())?
        .map_err(|_| invalid_recurrence())?;
    if let Some(reason) = parsed.skipped.first().or(parsed.ignored.first()) {
        tracing::debug!(%reason, "rejecting event request");
        return Err(if reason.ends_with(ics::END_BEFORE_START) {
            empty_range()
        } else {
            invalid_recurrence()
        });
    }
    let event = parsed
        .events
        .into_iter()
        .next()
        .ok_or_else(|| GoogleErrorBody::bad_request("Invalid event."))?;

    let recurring = event.series.is_recurring();
    let timing = keep_offset_instants(event.series.timing, start, end);
    let mut recurrence = event.series.recurrence;
    if timing != event.series.timing {
        recurrence.rules = rebuild_rules(&recurrence.lines, &timing)?;
    }
    let empty = match timing {
        Timing::AllDay { start, end } => end <= start || end_date_before(end_line.as_str(), start),
        Timing::Timed { start, end, .. } => end < start,
    };
    if empty {
        return Err(empty_range());
    }
    if !lines.is_empty() && !recurring {
        return Err(invalid_recurrence());
    }
    Ok((timing, recurrence))
}

/// Puts back the instants that the `dateTime` offsets name. The iCalendar text carries only
/// wall-clock times, which cannot tell the two 02:30s of a night when clocks go back apart,
/// and the reader takes the earlier one. Google keeps the instant of the offset and uses
/// `timeZone` only to expand recurrences and to display times.
///
/// NOTE: the reader still compares the wall-clock times, so an end whose wall-clock time
/// comes before the start's only through the repeated hour is rejected as before its start.
fn keep_offset_instants(timing: Timing, start: &EventDateTime, end: &EventDateTime) -> Timing {
    let Timing::Timed {
        start: read_start,
        end: read_end,
        start_zone,
        end_zone,
    } = timing
    else {
        return timing;
    };

    let instant = |value: &EventDateTime| {
        value
            .date_time
            .as_deref()
            .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
            .map(|instant| instant.with_timezone(&Utc))
    };
    Timing::Timed {
        start: instant(start).unwrap_or(read_start),
        end: instant(end).unwrap_or(read_end),
        start_zone,
        end_zone,
    }
}

/// Validates the `RRULE` lines again against a start that [`keep_offset_instants`] moved.
fn rebuild_rules(lines: &[String], timing: &Timing) -> Result<Vec<rrule::RRule>, GoogleErrorBody> {
    lines
        .iter()
        .filter_map(|line| {
            let (name, value) = line.split_once(':')?;
            let name = name.split(';').next().unwrap_or(name);
            name.eq_ignore_ascii_case("RRULE").then_some(value)
        })
        .map(|value| recurrence::build_rule(value, timing).map_err(|_| invalid_recurrence()))
        .collect()
}

/// Google's 400 for a malformed `recurrence` line.
fn invalid_recurrence() -> GoogleErrorBody {
    GoogleErrorBody::bad_request("Invalid recurrence rule.")
}

/// Google's 400 for an end before the start.
fn empty_range() -> GoogleErrorBody {
    GoogleErrorBody::bad_request("The specified time range is empty.")
}

/// Checks whether an all-day DTEND line names a day on or before `start`. The iCalendar
/// reader would stretch such an event to one day, but Google rejects it.
fn end_date_before(end_line: &str, start: chrono::NaiveDate) -> bool {
    end_line
        .trim_end()
        .rsplit(':')
        .next()
        .and_then(|value| chrono::NaiveDate::parse_from_str(value, "%Y%m%d").ok())
        .is_some_and(|end| end <= start)
}

/// Writes the `DTSTART` or `DTEND` line of an `EventDateTime`.
fn ics_time(name: &str, value: &EventDateTime) -> Result<String, GoogleErrorBody> {
    if let Some(date) = value.date.as_deref() {
        let date = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
            .map_err(|_| GoogleErrorBody::bad_request(format!("Invalid value for: {name}")))?;
        return Ok(format!("{name};VALUE=DATE:{}\r\n", date.format("%Y%m%d")));
    }
    let Some(date_time) = value.date_time.as_deref() else {
        return Err(GoogleErrorBody::bad_request(if name == "DTSTART" {
            "Missing start time."
        } else {
            "Missing end time."
        }));
    };
    let zone = value
        .time_zone
        .as_deref()
        .map(|name| {
            name.parse::<chrono_tz::Tz>().map_err(|_| {
                GoogleErrorBody::bad_request(format!("Invalid time zone definition: '{name}'"))
            })
        })
        .transpose()?;

    match (DateTime::parse_from_rfc3339(date_time), zone) {
        (Ok(instant), Some(zone)) => Ok(format!(
            "{name};TZID={}:{}\r\n",
            zone.name(),
            instant.with_timezone(&zone).format("%Y%m%dT%H%M%S")
        )),
        (Ok(instant), None) => Ok(format!(
            "{name}:{}\r\n",
            instant.with_timezone(&Utc).format("%Y%m%dT%H%M%SZ")
        )),
        (Err(_), Some(zone)) => {
            let local = NaiveDateTime::parse_from_str(date_time, "%Y-%m-%dT%H:%M:%S")
                .map_err(|_| GoogleErrorBody::bad_request(format!("Invalid value for: {name}")))?;
            Ok(format!(
                "{name};TZID={}:{}\r\n",
                zone.name(),
                local.format("%Y%m%dT%H%M%S")
            ))
        }
        (Err(_), None) => Err(GoogleErrorBody::bad_request(if name == "DTSTART" {
            "Missing time zone definition for start time."
        } else {
            "Missing time zone definition for end time."
        })),
    }
}
