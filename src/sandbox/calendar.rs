//! The sandbox's calendar: events loaded from `.ics` files, served in Calendar v3 shapes.

use std::path::Path;

use crate::domain::models::calendar::{CalendarList, Event, Events};

use super::google_error::GoogleErrorBody;

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

/// The user's calendars and their events.
#[derive(Debug, Default)]
pub(crate) struct CalendarStore {}

impl CalendarStore {
    /// Loads every `.ics` file under `dir`, recursively. Files that cannot be parsed are
    /// skipped with a warning naming the file.
    pub(crate) fn load_dir(_dir: &Path, _owner_email: &str) -> Self {
        Self::default()
    }

    /// A small calendar written for the project, with events around `now`.
    pub(crate) fn builtin(_owner_email: &str, _now: chrono::DateTime<chrono::Utc>) -> Self {
        Self::default()
    }

    /// The number of events (series count once).
    pub(crate) fn len(&self) -> usize {
        0
    }

    /// `calendarList.list`.
    pub(crate) fn list_calendars(
        &self,
        _page_token: Option<&str>,
        _max_results: Option<&str>,
    ) -> Result<CalendarList, GoogleErrorBody> {
        Ok(CalendarList::default())
    }

    /// `events.list` on `calendar_id` (`primary` or the owner's address).
    pub(crate) fn list_events(
        &self,
        calendar_id: &str,
        _params: &EventsParams,
    ) -> Result<Events, GoogleErrorBody> {
        Err(GoogleErrorBody::not_found(format!(
            "calendar {calendar_id} not found"
        )))
    }

    /// `events.get`, including occurrence ids of recurring events.
    pub(crate) fn get_event(
        &self,
        _calendar_id: &str,
        event_id: &str,
        _time_zone: Option<&str>,
    ) -> Result<Event, GoogleErrorBody> {
        Err(GoogleErrorBody::not_found(format!(
            "event {event_id} not found"
        )))
    }
}
