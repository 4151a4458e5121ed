//! The sandbox's calendar: events loaded from `.ics` files, served in Calendar v3 shapes.
//!
//! Every event goes into the user's primary calendar, whose id is the owner's address (also
//! reachable as `primary`) and whose zone is UTC. Floating times and unknown `TZID`s are
//! read in that zone.

mod builtin;
mod freebusy;
mod ics;
mod recurrence;
mod series;
#[cfg(test)]
mod tests;
mod write;
mod zone;

pub(crate) use write::EventBody;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;

use crate::domain::models::calendar::{CalendarList, CalendarListEntry, Event, Events};

use super::google_error::GoogleErrorBody;
use series::{Series, Start};

/// The query parameters of `events.list`, as received. The store validates them and
/// answers invalid ones with Google's 400.
#[derive(Debug, Clone, Default)]
pub(crate) struct EventsParams {
    pub(crate) time_min: Option<String>,
    pub(crate) time_max: Option<String>,
    pub(crate) single_events: Option<String>,
    pub(crate) order_by: Option<String>,
    pub(crate) q: Option<String>,
    pub(crate) max_results: Option<String>,
    pub(crate) page_token: Option<String>,
    pub(crate) time_zone: Option<String>,
}

/// The title of the primary calendar.
const CALENDAR_SUMMARY: &str = "Sandbox calendar";

/// Google's default and maximum `maxResults` for `events.list`.
const DEFAULT_MAX_RESULTS: usize = 250;
const MAX_MAX_RESULTS: usize = 2500;

/// `calendarList.list` allows up to 250 entries per page.
const MAX_CALENDAR_LIST_RESULTS: usize = 250;

/// The user's calendars and their events.
#[derive(Debug)]
pub(crate) struct CalendarStore {
    owner_email: String,
    /// The calendar's zone: floating times are read in it and responses use it by default.
    time_zone: Tz,
    /// Series in load order; ids are unique.
    series: Vec<Series>,
    by_id: HashMap<String, usize>,
    /// The number of files read and of files skipped as unparsable, for logs and tests.
    files_read: usize,
    files_skipped: usize,
}

impl Default for CalendarStore {
    fn default() -> Self {
        Loader::new("").finish()
    }
}

impl CalendarStore {
    /// Loads every `.ics` file under `dir`, recursively. Files that cannot be parsed are
    /// skipped with a warning naming the file.
    pub(crate) fn load_dir(dir: &Path, owner_email: &str) -> Self {
        let mut files = Vec::new();
        find_ics_files(dir, &mut files);
        files.sort();

        let mut loader = Loader::new(owner_email);
        for file in &files {
            let name = file.strip_prefix(dir).unwrap_or(file).display().to_string();
            let text = match std::fs::read(file) {
                Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                Err(error) => {
                    tracing::warn!(file = %name, %error, "skipping calendar file: cannot read it");
                    loader.files_read += 1;
                    loader.skipped_files += 1;
                    continue;
                }
            };
            loader.add_file(&name, &text);
        }

        let store = loader.finish();
        tracing::info!(
            dir = %dir.display(),
            files = store.files_read,
            skipped_files = store.files_skipped,
            events = store.series.len(),
            "loaded sandbox calendar"
        );
        store
    }

    /// A small calendar written for the project, with events around `now`.
    pub(crate) fn builtin(owner_email: &str, now: chrono::DateTime<chrono::Utc>) -> Self {
        Self::from_text("builtin.ics", &builtin::ics(owner_email, now), owner_email)
    }

    /// Loads one calendar file's text, `name` naming it in logs and event ids, the way
    /// [`load_dir`](Self::load_dir) loads each file it reads.
    pub(crate) fn from_text(name: &str, text: &str, owner_email: &str) -> Self {
        let mut loader = Loader::new(owner_email);
        loader.add_file(name, text);
        loader.finish()
    }

    /// The number of events (series count once).
    pub(crate) fn len(&self) -> usize {
        self.series.len()
    }

    /// `calendarList.list`.
    pub(crate) fn list_calendars(
        &self,
        page_token: Option<&str>,
        max_results: Option<&str>,
    ) -> Result<CalendarList, GoogleErrorBody> {
        parse_max_results(max_results, MAX_CALENDAR_LIST_RESULTS)?;
        // With a single calendar there is never a second page, so no token is valid.
        if let Some(token) = page_token.filter(|t| !t.is_empty()) {
            return Err(invalid_page_token(token));
        }

        Ok(CalendarList {
            items: vec![CalendarListEntry {
                id: self.owner_email.clone(),
                summary: CALENDAR_SUMMARY.to_owned(),
                time_zone: Some(self.time_zone.name().to_owned()),
                primary: Some(true),
                access_role: Some("owner".to_owned()),
                ..CalendarListEntry::default()
            }],
            next_page_token: None,
        })
    }

    /// `events.list` on `calendar_id` (`primary` or the owner's address).
    pub(crate) fn list_events(
        &self,
        calendar_id: &str,
        params: &EventsParams,
    ) -> Result<Events, GoogleErrorBody> {
        self.check_calendar(calendar_id)?;
        let query = ListQuery::parse(params)?;
        let offset = match params.page_token.as_deref().filter(|t| !t.is_empty()) {
            Some(token) => query.decode_token(token)?,
            None => 0,
        };

        let items = self.matching_events(&query);
        let end = offset.saturating_add(query.max_results).min(items.len());
        let next_page_token = (end < items.len()).then(|| query.encode_token(end));
        let page = items
            .get(offset..end)
            .map(<[Event]>::to_vec)
            .unwrap_or_default();

        Ok(Events {
            summary: Some(CALENDAR_SUMMARY.to_owned()),
            time_zone: Some(query.zone.unwrap_or(self.time_zone).name().to_owned()),
            items: page,
            next_page_token,
        })
    }

    /// `events.get`, including occurrence ids of recurring events.
    pub(crate) fn get_event(
        &self,
        calendar_id: &str,
        event_id: &str,
        time_zone: Option<&str>,
    ) -> Result<Event, GoogleErrorBody> {
        self.check_calendar(calendar_id)?;
        let display_zone = time_zone
            .filter(|z| !z.is_empty())
            .map(parse_zone)
            .transpose()?;

        if let Some(&index) = self.by_id.get(event_id) {
            return Ok(self.render_series(&self.series[index], display_zone));
        }

        let (series_id, suffix) = event_id.rsplit_once('_').ok_or_else(not_found)?;
        let original = Start::from_instance_suffix(suffix).ok_or_else(not_found)?;
        let series = self
            .by_id
            .get(series_id)
            .map(|&i| &self.series[i])
            .ok_or_else(not_found)?;
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
        if !exists {
            return Err(not_found());
        }
        Ok(self.render_occurrence(series, original, display_zone))
    }

    fn check_calendar(&self, calendar_id: &str) -> Result<(), GoogleErrorBody> {
        if calendar_id == "primary" || calendar_id.eq_ignore_ascii_case(&self.owner_email) {
            Ok(())
        } else {
            Err(not_found())
        }
    }

    /// Collects every event of the query, in order, before paging.
    fn matching_events(&self, query: &ListQuery) -> Vec<Event> {
        let compare_zone = query.zone.unwrap_or(self.time_zone);
        let horizon = query.time_max.unwrap_or_else(|| {
            query.time_min.unwrap_or_else(Utc::now) + Duration::days(recurrence::HORIZON_DAYS)
        });
        let overlaps = |timing: &series::Timing| {
            let (start, end) = timing.interval(compare_zone);
            query
                .time_min
                .is_none_or(|min| end > min || (start == end && start == min))
                && query.time_max.is_none_or(|max| start < max)
        };

        // Each entry is ((start, id) as the sort key, event).
        let mut found: Vec<((DateTime<Utc>, String), Event)> = Vec::new();
        for series in &self.series {
            if !query.matches_text(series) {
                continue;
            }

            if !series.is_recurring() || !query.single_events {
                let shown = if series.is_recurring() {
                    let any = recurrence::starts(series, query.time_min, horizon)
                        .into_iter()
                        .any(|start| {
                            let occurrence = series
                                .overrides
                                .get(&start)
                                .map_or(series.timing.moved_to(start), |o| o.timing);
                            overlaps(&occurrence)
                        });
                    any || series.overrides.values().any(|o| overlaps(&o.timing))
                } else {
                    overlaps(&series.timing)
                };
                if shown && series.status != "cancelled" {
                    let key = (series.timing.interval(compare_zone).0, series.id.clone());
                    found.push((key, self.render_series(series, query.zone)));
                }
                continue;
            }

            let mut originals = recurrence::starts(series, query.time_min, horizon);
            // A changed occurrence may have moved into the window from outside it.
            originals.extend(series.overrides.keys().copied());
            originals.sort();
            originals.dedup();
            for original in originals {
                let (timing, status) = match series.overrides.get(&original) {
                    Some(changed) => (changed.timing, changed.status),
                    None => (series.timing.moved_to(original), series.status),
                };
                if status == "cancelled" || !overlaps(&timing) {
                    continue;
                }
                let event = self.render_occurrence(series, original, query.zone);
                found.push(((timing.interval(compare_zone).0, event.id.clone()), event));
            }
        }

        match query.order_by {
            Some(OrderBy::Updated) => {
                found.sort_by(|a, b| (&a.1.updated, &a.0.1).cmp(&(&b.1.updated, &b.0.1)))
            }
            _ => found.sort_by(|a, b| a.0.cmp(&b.0)),
        }
        found.into_iter().map(|(_, event)| event).collect()
    }

    fn render_series(&self, series: &Series, display_zone: Option<Tz>) -> Event {
        let mut event = self.render_common(series, &series.id, display_zone);
        event.recurrence.clone_from(&series.recurrence.lines);
        event
    }

    /// Renders the occurrence of `series` that the rule places at `original`.
    fn render_occurrence(
        &self,
        series: &Series,
        original: Start,
        display_zone: Option<Tz>,
    ) -> Event {
        let id = format!("{}_{}", series.id, original.instance_suffix());
        let mut event = match series.overrides.get(&original) {
            Some(changed) => self.render_common(changed, &id, display_zone),
            None => {
                let moved = Series {
                    timing: series.timing.moved_to(original),
                    ..series.clone()
                };
                self.render_common(&moved, &id, display_zone)
            }
        };
        event.recurring_event_id = Some(series.id.clone());
        event.original_start_time =
            Some(series::render_start(original, series.zone(), display_zone));
        event
    }

    fn render_common(&self, series: &Series, id: &str, display_zone: Option<Tz>) -> Event {
        let (start, end) = series.timing.render(display_zone);
        let eid = URL_SAFE_NO_PAD.encode(format!("{id} {}", self.owner_email));
        Event {
            id: id.to_owned(),
            status: Some(series.status.to_owned()),
            html_link: Some(format!("https://www.google.com/calendar/event?eid={eid}")),
            summary: series.summary.clone(),
            description: series.description.clone(),
            location: series.location.clone(),
            start,
            end,
            recurrence: Vec::new(),
            recurring_event_id: None,
            original_start_time: None,
            attendees: series.attendees.clone(),
            organizer: series.organizer.clone(),
            creator: series.organizer.clone(),
            ical_uid: Some(series.uid.clone()),
            transparency: series.transparency.map(str::to_owned),
            created: series.created.clone(),
            updated: series.updated.clone(),
            hangout_link: None,
        }
    }
}

/// Collects the `.ics` files under `dir`; unreadable directories are skipped with a warning.
fn find_ics_files(dir: &Path, files: &mut Vec<PathBuf>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) => {
            tracing::warn!(dir = %dir.display(), %error, "cannot read calendar directory");
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(file_type) = entry.file_type() else {
            continue;
        };
        if file_type.is_dir() {
            find_ics_files(&path, files);
        } else if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("ics"))
        {
            files.push(path);
        }
    }
}

/// Builds a store file by file: gives ids and attaches changed occurrences to their series.
#[derive(Debug)]
struct Loader {
    owner_email: String,
    series: Vec<Series>,
    by_id: HashMap<String, usize>,
    /// The series index per UID, for attaching `RECURRENCE-ID` events.
    by_uid: HashMap<String, usize>,
    files_read: usize,
    skipped_files: usize,
}

impl Loader {
    fn new(owner_email: &str) -> Self {
        Self {
            owner_email: owner_email.to_owned(),
            series: Vec::new(),
            by_id: HashMap::new(),
            by_uid: HashMap::new(),
            files_read: 0,
            skipped_files: 0,
        }
    }

    fn add_file(&mut self, name: &str, text: &str) {
        self.files_read += 1;
        // The parsers of `icalendar` and `rrule` are run on untrusted files; if either panics,
        // only this file is lost. `parse` touches no shared state, so unwinding out of it is safe.
        let parsed =
            std::panic::catch_unwind(|| ics::parse(text, chrono_tz::UTC, &self.owner_email));
        let parsed = match parsed {
            Ok(Ok(parsed)) => parsed,
            Ok(Err(reason)) => {
                tracing::warn!(file = name, %reason, "skipping calendar file");
                self.skipped_files += 1;
                return;
            }
            Err(_) => {
                tracing::warn!(file = name, "skipping calendar file: its parser panicked");
                self.skipped_files += 1;
                return;
            }
        };
        for reason in &parsed.skipped {
            tracing::warn!(file = name, %reason, "skipping calendar event");
        }
        for reason in &parsed.ignored {
            tracing::warn!(file = name, %reason, "ignoring part of calendar file");
        }

        // Masters first, so that changed occurrences later in the file find their series.
        let mut events = parsed.events;
        for (position, event) in events.iter_mut().enumerate() {
            if event.series.uid.is_empty() {
                let id = event_id(&format!("{name}\u{1f}{position}"));
                event.series.uid = format!("{id}@sandbox.invalid");
            }
        }
        let (changed, masters): (Vec<_>, Vec<_>) =
            events.into_iter().partition(|e| e.recurrence_id.is_some());
        for event in masters {
            self.add_series(name, event.series);
        }
        for event in changed {
            let original = event
                .recurrence_id
                .unwrap_or_else(|| event.series.timing.start());
            match self
                .by_uid
                .get(&event.series.uid)
                .map(|&i| &mut self.series[i])
            {
                Some(master) if master.is_recurring() => {
                    master.overrides.insert(original, event.series);
                }
                _ => {
                    // Without its series, a changed occurrence is shown as an event of its own.
                    let key_suffix = original.instance_suffix();
                    self.add_series_with_key(name, event.series, Some(&key_suffix));
                }
            }
        }
    }

    fn add_series(&mut self, file: &str, series: Series) {
        self.add_series_with_key(file, series, None);
    }

    /// Gives `series` an id derived from its UID (plus `extra`). When that id is taken, the
    /// file name and a counter are mixed in, so ids stay stable as long as the files do.
    fn add_series_with_key(&mut self, file: &str, mut series: Series, extra: Option<&str>) {
        let base_key = match extra {
            Some(extra) => format!("{}\u{1f}{extra}", series.uid),
            None => series.uid.clone(),
        };
        let mut id = event_id(&base_key);
        let mut attempt = 0_u32;
        while self.by_id.contains_key(&id) {
            attempt += 1;
            id = event_id(&format!("{base_key}\u{1f}{file}\u{1f}{attempt}"));
        }

        series.id.clone_from(&id);
        let index = self.series.len();
        self.by_uid.entry(series.uid.clone()).or_insert(index);
        self.by_id.insert(id, index);
        self.series.push(series);
    }

    fn finish(self) -> CalendarStore {
        CalendarStore {
            owner_email: self.owner_email,
            time_zone: chrono_tz::UTC,
            series: self.series,
            by_id: self.by_id,
            files_read: self.files_read,
            files_skipped: self.skipped_files,
        }
    }
}

/// Derives a Calendar API event id from `key`: 26 lowercase base32hex characters (`0-9a-v`)
/// of its 128-bit FNV-1a hash, within Google's allowed alphabet and length (5 to 1024).
fn event_id(key: &str) -> String {
    const DIGITS: &[u8; 32] = b"0123456789abcdefghijklmnopqrstuv";
    let hash = fnv1a_128(key.as_bytes());
    (0..26)
        .map(|i| {
            let shift = 128 - 5 * (i + 1);
            // The last digit carries the 3 remaining bits.
            let digit = if shift >= 0 {
                (hash >> shift) & 31
            } else {
                (hash << -shift) & 31
            };
            char::from(DIGITS[digit as usize])
        })
        .collect()
}

/// 128-bit FNV-1a: stable across builds and platforms, unlike `std`'s `DefaultHasher`.
fn fnv1a_128(bytes: &[u8]) -> u128 {
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    bytes.iter().fold(OFFSET, |hash, &byte| {
        (hash ^ u128::from(byte)).wrapping_mul(PRIME)
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OrderBy {
    StartTime,
    Updated,
}

/// Validated `events.list` parameters.
#[derive(Debug)]
struct ListQuery {
    time_min: Option<DateTime<Utc>>,
    time_max: Option<DateTime<Utc>>,
    single_events: bool,
    order_by: Option<OrderBy>,
    /// Lowercase words of `q`; an event matches when it contains all of them.
    terms: Vec<String>,
    max_results: usize,
    zone: Option<Tz>,
    /// A digest of the parameters that select events, bound into page tokens.
    digest: u128,
}

impl ListQuery {
    fn parse(params: &EventsParams) -> Result<Self, GoogleErrorBody> {
        let time_min = params.time_min.as_deref().map(parse_time).transpose()?;
        let time_max = params.time_max.as_deref().map(parse_time).transpose()?;
        if let (Some(min), Some(max)) = (time_min, time_max)
            && min >= max
        {
            return Err(GoogleErrorBody::bad_request(
                "The specified time range is empty.",
            ));
        }

        let single_events = match params.single_events.as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(GoogleErrorBody::bad_request(format!(
                    "Invalid boolean value: '{other}'"
                )));
            }
        };
        let order_by = match params.order_by.as_deref() {
            None => None,
            Some("startTime") => Some(OrderBy::StartTime),
            Some("updated") => Some(OrderBy::Updated),
            Some(other) => {
                return Err(GoogleErrorBody::bad_request(format!(
                    "Invalid value for orderBy: '{other}'. Allowed values: startTime, updated"
                )));
            }
        };
        if order_by == Some(OrderBy::StartTime) && !single_events {
            return Err(GoogleErrorBody::bad_request(
                "The requested ordering is not available for the particular query.",
            ));
        }

        let max_results = parse_max_results(params.max_results.as_deref(), MAX_MAX_RESULTS)?
            .unwrap_or(DEFAULT_MAX_RESULTS);
        let zone = params
            .time_zone
            .as_deref()
            .filter(|z| !z.is_empty())
            .map(parse_zone)
            .transpose()?;
        let terms = params
            .q
            .as_deref()
            .unwrap_or("")
            .split_whitespace()
            .map(str::to_lowercase)
            .collect();

        let canonical = format!(
            "{:?}|{:?}|{single_events}|{:?}|{:?}|{:?}",
            time_min,
            time_max,
            order_by,
            params.q.as_deref().unwrap_or(""),
            zone.map(|z| z.name()),
        );
        Ok(Self {
            time_min,
            time_max,
            single_events,
            order_by,
            terms,
            max_results,
            zone,
            digest: fnv1a_128(canonical.as_bytes()),
        })
    }

    fn matches_text(&self, series: &Series) -> bool {
        if self.terms.is_empty() {
            return true;
        }
        let mut haystack = String::new();
        let fields = [&series.summary, &series.description, &series.location];
        for field in fields.into_iter().flatten() {
            haystack.push_str(field);
            haystack.push('\n');
        }
        for attendee in &series.attendees {
            for field in [&attendee.display_name, &attendee.email]
                .into_iter()
                .flatten()
            {
                haystack.push_str(field);
                haystack.push('\n');
            }
        }
        let haystack = haystack.to_lowercase();
        self.terms
            .iter()
            .all(|term| haystack.contains(term.as_str()))
    }

    /// Encodes a page token: base64url of the next page's offset and the query digest, so a
    /// token only works with the query that produced it.
    fn encode_token(&self, offset: usize) -> String {
        URL_SAFE_NO_PAD.encode(format!("{offset}.{:032x}", self.digest))
    }

    fn decode_token(&self, token: &str) -> Result<usize, GoogleErrorBody> {
        let decoded = URL_SAFE_NO_PAD
            .decode(token)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok());
        let offset = decoded.as_deref().and_then(|text| {
            let (offset, digest) = text.split_once('.')?;
            (digest == format!("{:032x}", self.digest))
                .then(|| offset.parse::<usize>().ok())
                .flatten()
        });
        offset.ok_or_else(|| invalid_page_token(token))
    }
}

/// Parses `timeMin`/`timeMax`: RFC 3339 with a mandatory offset, as Google requires.
fn parse_time(value: &str) -> Result<DateTime<Utc>, GoogleErrorBody> {
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| GoogleErrorBody::bad_request("Bad Request"))
}

fn parse_zone(value: &str) -> Result<Tz, GoogleErrorBody> {
    value.parse::<Tz>().map_err(|_| {
        GoogleErrorBody::bad_request(format!("Invalid time zone definition: '{value}'"))
    })
}

fn parse_max_results(value: Option<&str>, max: usize) -> Result<Option<usize>, GoogleErrorBody> {
    let Some(value) = value else { return Ok(None) };
    match value.trim().parse::<usize>() {
        Ok(n) if (1..=max).contains(&n) => Ok(Some(n)),
        _ => Err(GoogleErrorBody::bad_request(format!(
            "Invalid value '{value}'. Values must be within the range: [1, {max}]"
        ))),
    }
}

fn invalid_page_token(token: &str) -> GoogleErrorBody {
    // The token is echoed shortened: it is the caller's own value but may be long.
    let shown: String = token.chars().take(40).collect();
    GoogleErrorBody::bad_request(format!("Invalid page token: '{shown}'"))
}

fn not_found() -> GoogleErrorBody {
    GoogleErrorBody::not_found("Not Found")
}
