//! `freebusy.query` over the sandbox calendar.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;

use crate::domain::models::calendar::{
    FreeBusyCalendar, FreeBusyError, FreeBusyRequest, FreeBusyResponse, TimePeriod,
};

use super::series::{Series, Timing};
use super::{CalendarStore, GoogleErrorBody, parse_time, parse_zone, recurrence};

impl CalendarStore {
    /// `freebusy.query`: the merged busy periods of each requested calendar inside the
    /// window, in the requested zone (UTC by default).
    ///
    /// An event is busy unless it is cancelled, marked free (`transparent`), or declined by
    /// the user. Recurring events are expanded. An id that is not the user's calendar gets
    /// an entry with the error reason `notFound` rather than an HTTP error, as Google
    /// reports a calendar it cannot read.
    pub(crate) fn freebusy(
        &self,
        request: &FreeBusyRequest,
    ) -> Result<FreeBusyResponse, GoogleErrorBody> {
        if request.time_min.is_empty() {
            return Err(GoogleErrorBody::bad_request("Missing timeMin parameter."));
        }
        if request.time_max.is_empty() {
            return Err(GoogleErrorBody::bad_request("Missing timeMax parameter."));
        }
        let time_min = parse_time(&request.time_min)?;
        let time_max = parse_time(&request.time_max)?;
        if time_max <= time_min {
            return Err(GoogleErrorBody::bad_request(
                "The specified time range is empty.",
            ));
        }
        let zone = request
            .time_zone
            .as_deref()
            .filter(|name| !name.is_empty())
            .map(parse_zone)
            .transpose()?
            .unwrap_or(chrono_tz::UTC);

        let mut calendars = BTreeMap::new();
        for item in &request.items {
            let entry = if self.check_calendar(&item.id).is_ok() {
                FreeBusyCalendar {
                    busy: self
                        .busy_periods(time_min, time_max)
                        .into_iter()
                        .map(|(start, end)| TimePeriod {
                            start: render(start, zone),
                            end: render(end, zone),
                        })
                        .collect(),
                    errors: Vec::new(),
                }
            } else {
                FreeBusyCalendar {
                    busy: Vec::new(),
                    errors: vec![FreeBusyError {
                        domain: Some("global".to_owned()),
                        reason: Some("notFound".to_owned()),
                    }],
                }
            };
            calendars.insert(item.id.clone(), entry);
        }

        Ok(FreeBusyResponse {
            kind: Some("calendar#freeBusy".to_owned()),
            time_min: render(time_min, chrono_tz::UTC),
            time_max: render(time_max, chrono_tz::UTC),
            calendars,
        })
    }

    /// Computes the merged busy intervals of the calendar, clipped to `[from, until)`.
    fn busy_periods(
        &self,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        let mut intervals = Vec::new();
        // `flags` gives the status, transparency and attendees; `timing` the interval.
        let mut add = |flags: &Series, timing: &Timing| {
            if !blocks_time(flags) {
                return;
            }
            let (start, end) = timing.interval(self.time_zone);
            let (start, end) = (start.max(from), end.min(until));
            if end > start {
                intervals.push((start, end));
            }
        };

        for series in &self.series {
            if series.status == "cancelled" {
                continue;
            }
            if !series.is_recurring() {
                add(series, &series.timing);
                continue;
            }
            let mut originals = recurrence::starts(series, Some(from), until);
            // A changed occurrence may have moved into the window from outside it.
            originals.extend(series.overrides.keys().copied());
            originals.sort();
            originals.dedup();
            for original in originals {
                match series.overrides.get(&original) {
                    Some(changed) => add(changed, &changed.timing),
                    None => add(series, &series.timing.moved_to(original)),
                }
            }
        }

        intervals.sort();
        let mut merged: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::new();
        for (start, end) in intervals {
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        merged
    }
}

/// Whether an event or occurrence makes the user busy: not cancelled, not marked free,
/// and not declined by the user.
fn blocks_time(occurrence: &Series) -> bool {
    let declined = occurrence.attendees.iter().any(|attendee| {
        attendee.is_self == Some(true) && attendee.response_status.as_deref() == Some("declined")
    });
    occurrence.status != "cancelled" && occurrence.transparency.is_none() && !declined
}

fn render(instant: DateTime<Utc>, zone: Tz) -> String {
    instant
        .with_timezone(&zone)
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}
