//! Expansion of recurring series into occurrences with the `rrule` crate.
//!
//! Limits: at most [`MAX_OCCURRENCES`] occurrences of one series are returned per request,
//! and at most [`MAX_SCANNED`] are generated while looking for them. A rule without an end
//! is expanded up to the request's `timeMax`, else up to [`HORIZON_DAYS`] after `timeMin`
//! (or after now when `timeMin` is absent too).

use std::panic::{AssertUnwindSafe, catch_unwind};

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};

use super::series::{Series, Start, Timing, local_to_utc};

/// The maximum number of occurrences of one series in one response.
pub(super) const MAX_OCCURRENCES: usize = 1000;

/// The maximum number of occurrences generated from a series' start while looking for
/// those in the requested window, so a minutely rule from decades ago cannot stall a request.
const MAX_SCANNED: usize = 100_000;

/// How far past `timeMin` (or now) a rule without an end is expanded when `timeMax` is absent.
pub(super) const HORIZON_DAYS: i64 = 2 * 366;

/// The start of a rule's series as the `rrule` crate expects it: the wall-clock start in the
/// event's zone, or midnight UTC of the date for all-day events.
///
/// The crate works in wall-clock times and reads one in the repeated hour of a night when
/// clocks go back as the earlier instant. A series that starts at the later one would lose
/// its first occurrence as being before the start, so the rule gets the earlier instant,
/// and the caller puts the series' own start back in its place.
fn rule_start(timing: &Timing) -> DateTime<rrule::Tz> {
    match *timing {
        Timing::AllDay { start, .. } => {
            rrule::Tz::UTC.from_utc_datetime(&start.and_time(chrono::NaiveTime::MIN))
        }
        Timing::Timed {
            start, start_zone, ..
        } => {
            let wall_clock = start.with_timezone(&start_zone.tz).naive_local();
            local_to_utc(wall_clock, start_zone.tz).with_timezone(&rrule::Tz::Tz(start_zone.tz))
        }
    }
}

fn to_rule_time(start: Start, timing: &Timing) -> DateTime<rrule::Tz> {
    let utc = match start {
        Start::Date(date) => date.and_time(chrono::NaiveTime::MIN).and_utc(),
        Start::Instant(instant) => instant,
    };
    utc.with_timezone(&rule_start(timing).timezone())
}

fn from_rule_time(at: DateTime<rrule::Tz>, timing: &Timing) -> Start {
    match timing {
        Timing::AllDay { .. } => Start::Date(at.naive_utc().date()),
        Timing::Timed { .. } => Start::Instant(at.with_timezone(&Utc)),
    }
}

/// Validates an RRULE value against the series' start.
///
/// `UNTIL` is converted here because the `rrule` crate reads an `UNTIL` without `Z` in the
/// machine's local zone and rejects a non-UTC `UNTIL` for a start with a zone. A date
/// `UNTIL` includes that whole day; a floating one is read in the event's zone; an `UNTIL`
/// before the start leaves the start as the only occurrence.
///
/// # Errors
///
/// Returns the reason when the rule does not parse or validate.
pub(super) fn build_rule(value: &str, timing: &Timing) -> Result<rrule::RRule, String> {
    // RFC 5545 rule values are ASCII. rrule 0.14 slices a BYDAY entry by bytes and panics
    // when one ends inside a multi-byte character, which would lose the whole file.
    if !value.is_ascii() {
        return Err(format!(
            "invalid RRULE {value:?}: it contains non-ASCII characters"
        ));
    }
    let dt_start = rule_start(timing);

    let mut until = None;
    let mut parts = Vec::new();
    for part in value.trim().split(';').filter(|p| !p.trim().is_empty()) {
        match part.split_once('=') {
            Some((key, until_value)) if key.trim().eq_ignore_ascii_case("UNTIL") => {
                until = Some(
                    parse_until(until_value.trim(), timing)
                        .ok_or_else(|| format!("invalid UNTIL {until_value:?}"))?,
                );
            }
            _ => parts.push(part),
        }
    }

    let mut rule: rrule::RRule<rrule::Unvalidated> = parts
        .join(";")
        .parse()
        .map_err(|e| format!("invalid RRULE {value:?}: {e}"))?;
    if let Some(until) = until {
        let until = until.max(dt_start.with_timezone(&Utc));
        rule = rule.until(until.with_timezone(&rrule::Tz::UTC));
    }
    rule.validate(dt_start)
        .map_err(|e| format!("invalid RRULE {value:?}: {e}"))
}

fn parse_until(value: &str, timing: &Timing) -> Option<DateTime<Utc>> {
    if let Some(local) = value.strip_suffix(['Z', 'z']) {
        return NaiveDateTime::parse_from_str(local, "%Y%m%dT%H%M%S")
            .ok()
            .map(|n| n.and_utc());
    }
    let zone = match *timing {
        Timing::AllDay { .. } => chrono_tz::UTC,
        Timing::Timed { start_zone, .. } => start_zone.tz,
    };
    if value.len() == 8 {
        let date = NaiveDate::parse_from_str(value, "%Y%m%d").ok()?;
        let last_second = date.and_hms_opt(23, 59, 59)?;
        return Some(match timing {
            Timing::AllDay { .. } => date.and_time(chrono::NaiveTime::MIN).and_utc(),
            Timing::Timed { .. } => local_to_utc(last_second, zone),
        });
    }
    NaiveDateTime::parse_from_str(value, "%Y%m%dT%H%M%S")
        .ok()
        .map(|n| local_to_utc(n, zone))
}

/// The starts the series' rules give (DTSTART, RRULE and RDATE, without EXDATE), in order,
/// for occurrences that may overlap `[from, until)`. All-day starts are kept one day beyond
/// the window on each side, so the caller can compare them in any zone. Changed occurrences
/// are included under their original start.
pub(super) fn starts(
    series: &Series,
    from: Option<DateTime<Utc>>,
    until: DateTime<Utc>,
) -> Vec<Start> {
    let length = match series.timing {
        Timing::AllDay { start, end } => end - start + Duration::days(1),
        Timing::Timed { start, end, .. } => end - start,
    };
    let slack = match series.timing {
        Timing::AllDay { .. } => Duration::days(1),
        Timing::Timed { .. } => Duration::zero(),
    };
    let to_instant = |start: Start| match start {
        Start::Date(date) => date.and_time(chrono::NaiveTime::MIN).and_utc(),
        Start::Instant(instant) => instant,
    };
    let may_overlap = |start: Start| {
        let begins = to_instant(start);
        from.is_none_or(|from| begins + length + slack >= from)
    };

    if !series.is_recurring() {
        let start = series.timing.start();
        return if may_overlap(start) && to_instant(start) - slack < until {
            vec![start]
        } else {
            Vec::new()
        };
    }

    let expand = || {
        let timing = &series.timing;
        let dt_start = rule_start(timing);
        let mut rdates: Vec<_> = series
            .recurrence
            .rdates
            .iter()
            .map(|s| to_rule_time(*s, timing))
            .collect();
        // RFC 5545 counts DTSTART as the first occurrence even where the rule does not
        // produce it; duplicates are removed below.
        rdates.push(dt_start);
        let set = rrule::RRuleSet::new(dt_start)
            .set_rrules(series.recurrence.rules.clone())
            .set_rdates(rdates)
            .set_exdates(
                series
                    .recurrence
                    .exdates
                    .iter()
                    .map(|s| to_rule_time(*s, timing))
                    .collect(),
            )
            .limit();

        let mut found: Vec<Start> = Vec::new();
        for at in set.into_iter().take(MAX_SCANNED) {
            // See `rule_start`: the rule's first start stands for the series' own start.
            let start = if at == dt_start {
                timing.start()
            } else {
                from_rule_time(at, timing)
            };
            if to_instant(start) - slack >= until || found.len() >= MAX_OCCURRENCES {
                break;
            }
            if found.last() == Some(&start) || !may_overlap(start) {
                continue;
            }
            found.push(start);
        }
        found
    };

    // The rrule crate may panic on inputs its validation lets through (arithmetic at the
    // edges of its year range); one broken series must not take the request down.
    match catch_unwind(AssertUnwindSafe(expand)) {
        Ok(found) => found,
        Err(_) => {
            tracing::warn!(event_id = %series.id, "expanding the recurrence panicked; the series is shown without occurrences");
            Vec::new()
        }
    }
}
