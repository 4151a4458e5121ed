//! The sandbox's HTTP routes: the OMA Backend API and the Gmail v1 / Calendar v3 subset.

mod gmail_write;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use axum::Json;
use axum::Router;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{MatchedPath, Path, RawQuery, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::Utc;

use super::calendar::{CalendarStore, EventBody, EventsParams};
use super::google_error::GoogleErrorBody;
use super::mailbox::{Format, ListParams, Mailbox};
use super::oauth;
use super::oma::{self, TokenIssuer};
use super::query::QueryParams;

/// Request counters shared by the server and the [`Sandbox`](super::Sandbox) handle.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    requests: AtomicU64,
    oma_requests: AtomicU64,
    token_requests: AtomicU64,
    connections: AtomicU64,
}

impl Counters {
    /// Returns the number of HTTP requests served.
    pub(crate) fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Returns the number of requests to the OMA credentials endpoint.
    pub(crate) fn oma_requests(&self) -> u64 {
        self.oma_requests.load(Ordering::Relaxed)
    }

    /// Returns the number of TCP connections accepted.
    pub(crate) fn connections(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }

    pub(crate) fn count_connection(&self) {
        self.connections.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_oma_request(&self) {
        self.oma_requests.fetch_add(1, Ordering::Relaxed);
    }

    /// Returns the number of requests to the OAuth token endpoint.
    pub(crate) fn token_requests(&self) -> u64 {
        self.token_requests.load(Ordering::Relaxed)
    }

    pub(crate) fn count_token_request(&self) {
        self.token_requests.fetch_add(1, Ordering::Relaxed);
    }
}

/// The state shared by every handler. The token set, the mailbox and the calendar change
/// after start.
#[derive(Debug)]
pub(crate) struct AppState {
    pub(crate) user_email: String,
    pub(crate) tokens: TokenIssuer,
    /// Written by the Gmail write calls. Handlers hold the lock only while they run
    /// synchronous mailbox code, never across an await.
    pub(crate) mailbox: RwLock<Mailbox>,
    /// Written by the Calendar write calls; no lock is held across an `.await`.
    pub(crate) calendar: std::sync::RwLock<CalendarStore>,
    pub(crate) counters: Arc<Counters>,
}

impl AppState {
    /// Locks the mailbox for reading. A handler that panicked mid-write leaves the mailbox
    /// as it was at the panic, which is still consistent enough to serve a sandbox.
    pub(crate) fn mailbox(&self) -> RwLockReadGuard<'_, Mailbox> {
        self.mailbox.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Locks the mailbox for writing.
    pub(crate) fn mailbox_mut(&self) -> RwLockWriteGuard<'_, Mailbox> {
        self.mailbox.write().unwrap_or_else(PoisonError::into_inner)
    }
}

pub(crate) type Shared = State<Arc<AppState>>;
pub(crate) type GoogleResult<T> = Result<Json<T>, GoogleErrorBody>;

/// Builds the router over `state`.
pub(crate) fn router(state: Arc<AppState>) -> Router {
    let google = Router::new()
        .route("/gmail/v1/users/{user_id}/messages", get(list_messages))
        .route("/gmail/v1/users/{user_id}/messages/{id}", get(get_message))
        .route(
            "/gmail/v1/users/{user_id}/messages/{message_id}/attachments/{id}",
            get(get_attachment),
        )
        .route("/gmail/v1/users/{user_id}/threads/{id}", get(get_thread))
        .route("/gmail/v1/users/{user_id}/labels", get(list_labels))
        .route("/gmail/v1/users/{user_id}/labels/{id}", get(get_label))
        .route("/gmail/v1/users/{user_id}/profile", get(get_profile))
        .merge(gmail_write::routes())
        .route("/calendar/v3/users/me/calendarList", get(list_calendars))
        .route(
            "/calendar/v3/calendars/{calendar_id}/events",
            get(list_events).post(insert_event),
        )
        .route(
            "/calendar/v3/calendars/{calendar_id}/events/{event_id}",
            get(get_event).patch(patch_event).delete(delete_event),
        )
        .route("/calendar/v3/freeBusy", post(query_freebusy))
        .route_layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            require_google_token,
        ));

    Router::new()
        .route("/api/v1/google/credentials", get(oma::credentials))
        .route("/api/v1/google/status", get(oma::status))
        .route("/o/oauth2/auth", get(oauth::authorize))
        .route("/token", post(oauth::token))
        .route("/revoke", post(oauth::revoke))
        .merge(google)
        .fallback(unknown_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            count_and_log,
        ))
        .with_state(state)
}

/// Counts every request and logs its method, route template and status. The path and query
/// are not logged: they may carry ids and search terms, and headers carry tokens.
async fn count_and_log(State(state): Shared, request: Request, next: Next) -> Response {
    state.counters.requests.fetch_add(1, Ordering::Relaxed);
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().map_or_else(
        || "<unknown route>".to_owned(),
        |path| path.as_str().to_owned(),
    );

    let response = next.run(request).await;

    tracing::debug!(%method, %route, status = response.status().as_u16(), "sandbox request");
    response
}

async fn require_google_token(State(state): Shared, request: Request, next: Next) -> Response {
    let authorized = oma::bearer_token(request.headers())
        .is_some_and(|token| state.tokens.is_google_token(token, Utc::now()));
    if !authorized {
        return GoogleErrorBody::unauthorized().into_response();
    }
    next.run(request).await
}

async fn unknown_route() -> GoogleErrorBody {
    GoogleErrorBody::not_found("The requested URL was not found on this server.")
}

async fn method_not_allowed() -> GoogleErrorBody {
    GoogleErrorBody::method_not_allowed()
}

/// Maps a path that cannot be decoded (invalid percent-encoding or UTF-8) to Google's 400.
pub(crate) fn path<T>(path: Result<Path<T>, PathRejection>) -> Result<T, GoogleErrorBody> {
    path.map(|Path(value)| value).map_err(|_| {
        GoogleErrorBody::bad_request("Invalid path: a segment is not valid percent-encoded UTF-8.")
    })
}

/// Accepts `me` or the user's own address. Gmail rejects any other user with 403
/// "Delegation denied", because the token's account may not act for them.
pub(crate) fn check_user(state: &AppState, user_id: &str) -> Result<(), GoogleErrorBody> {
    if user_id == "me" || user_id.eq_ignore_ascii_case(&state.user_email) {
        Ok(())
    } else {
        Err(GoogleErrorBody::forbidden(format!(
            "Delegation denied for {}",
            state.user_email
        )))
    }
}

async fn list_messages(
    State(state): Shared,
    user_id: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> GoogleResult<crate::domain::models::gmail::ListMessagesResponse> {
    check_user(&state, &path(user_id)?)?;
    let query = QueryParams::parse(query.as_deref());

    // Zero, like an absent value, means the default page size.
    let max_results = Some(query.unsigned("maxResults", 0)?).filter(|size| *size > 0);
    let params = ListParams {
        q: query.first_owned("q"),
        max_results,
        page_token: query.first_owned("pageToken"),
        label_ids: query.all("labelIds"),
        include_spam_trash: query.boolean("includeSpamTrash", false)?,
    };
    state.mailbox().list(&params).map(Json)
}

pub(crate) fn format_param(query: &QueryParams) -> Result<Format, GoogleErrorBody> {
    Format::parse(query.first("format"), query.all("metadataHeaders"))
}

async fn get_message(
    State(state): Shared,
    ids: Result<Path<(String, String)>, PathRejection>,
    RawQuery(query): RawQuery,
) -> GoogleResult<crate::domain::models::gmail::Message> {
    let (user_id, id) = path(ids)?;
    check_user(&state, &user_id)?;
    let format = format_param(&QueryParams::parse(query.as_deref()))?;
    state.mailbox().message(&id, &format).map(Json)
}

async fn get_thread(
    State(state): Shared,
    ids: Result<Path<(String, String)>, PathRejection>,
    RawQuery(query): RawQuery,
) -> GoogleResult<crate::domain::models::gmail::Thread> {
    let (user_id, id) = path(ids)?;
    check_user(&state, &user_id)?;
    let format = format_param(&QueryParams::parse(query.as_deref()))?;
    state.mailbox().thread(&id, &format).map(Json)
}

async fn get_attachment(
    State(state): Shared,
    ids: Result<Path<(String, String, String)>, PathRejection>,
) -> GoogleResult<crate::domain::models::gmail::MessagePartBody> {
    let (user_id, message_id, id) = path(ids)?;
    check_user(&state, &user_id)?;
    state.mailbox().attachment(&message_id, &id).map(Json)
}

async fn list_labels(
    State(state): Shared,
    user_id: Result<Path<String>, PathRejection>,
) -> GoogleResult<serde_json::Value> {
    check_user(&state, &path(user_id)?)?;
    Ok(Json(state.mailbox().labels()))
}

async fn get_label(
    State(state): Shared,
    ids: Result<Path<(String, String)>, PathRejection>,
) -> GoogleResult<serde_json::Value> {
    let (user_id, id) = path(ids)?;
    check_user(&state, &user_id)?;
    state.mailbox().label(&id).map(Json)
}

/// `users.getProfile`: the account's address and mailbox totals.
async fn get_profile(
    State(state): Shared,
    user_id: Result<Path<String>, PathRejection>,
) -> GoogleResult<serde_json::Value> {
    check_user(&state, &path(user_id)?)?;
    let messages = state.mailbox().len();
    Ok(Json(serde_json::json!({
        "emailAddress": state.user_email,
        "messagesTotal": messages,
        "threadsTotal": messages,
        "historyId": "1",
    })))
}

async fn list_calendars(
    State(state): Shared,
    RawQuery(query): RawQuery,
) -> GoogleResult<crate::domain::models::calendar::CalendarList> {
    let query = QueryParams::parse(query.as_deref());
    read_calendar(&state)
        .list_calendars(query.first("pageToken"), query.first("maxResults"))
        .map(Json)
}

async fn list_events(
    State(state): Shared,
    calendar_id: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> GoogleResult<crate::domain::models::calendar::Events> {
    let calendar_id = path(calendar_id)?;
    let query = QueryParams::parse(query.as_deref());
    let params = EventsParams {
        time_min: query.first_owned("timeMin"),
        time_max: query.first_owned("timeMax"),
        single_events: query.first_owned("singleEvents"),
        order_by: query.first_owned("orderBy"),
        q: query.first_owned("q"),
        max_results: query.first_owned("maxResults"),
        page_token: query.first_owned("pageToken"),
        time_zone: query.first_owned("timeZone"),
    };
    read_calendar(&state)
        .list_events(&calendar_id, &params)
        .map(Json)
}

async fn get_event(
    State(state): Shared,
    ids: Result<Path<(String, String)>, PathRejection>,
    RawQuery(query): RawQuery,
) -> GoogleResult<crate::domain::models::calendar::Event> {
    let (calendar_id, event_id) = path(ids)?;
    let query = QueryParams::parse(query.as_deref());
    read_calendar(&state)
        .get_event(&calendar_id, &event_id, query.first("timeZone"))
        .map(Json)
}

// The Calendar write calls and freebusy.query.

fn read_calendar(state: &AppState) -> std::sync::RwLockReadGuard<'_, CalendarStore> {
    // A handler that panicked left the store as consistent as any single write leaves it.
    state
        .calendar
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write_calendar(state: &AppState) -> std::sync::RwLockWriteGuard<'_, CalendarStore> {
    state
        .calendar
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Maps a body that is not JSON to Google's 400.
fn json_body(
    body: Result<Json<serde_json::Value>, JsonRejection>,
) -> Result<serde_json::Value, GoogleErrorBody> {
    body.map(|Json(value)| value).map_err(|rejection| {
        GoogleErrorBody::bad_request(format!("Parse Error: {}", rejection.body_text()))
    })
}

/// `events.insert`. `sendUpdates` is accepted and ignored: the sandbox sends no mail.
async fn insert_event(
    State(state): Shared,
    calendar_id: Result<Path<String>, PathRejection>,
    body: Result<Json<serde_json::Value>, JsonRejection>,
) -> GoogleResult<crate::domain::models::calendar::Event> {
    let calendar_id = path(calendar_id)?;
    let body = EventBody::parse(json_body(body)?)?;
    write_calendar(&state)
        .insert_event(&calendar_id, body, Utc::now())
        .map(Json)
}

/// `events.patch`.
async fn patch_event(
    State(state): Shared,
    ids: Result<Path<(String, String)>, PathRejection>,
    body: Result<Json<serde_json::Value>, JsonRejection>,
) -> GoogleResult<crate::domain::models::calendar::Event> {
    let (calendar_id, event_id) = path(ids)?;
    let body = EventBody::parse(json_body(body)?)?;
    write_calendar(&state)
        .patch_event(&calendar_id, &event_id, body, Utc::now())
        .map(Json)
}

/// `events.delete`: 204 with an empty body, as Google responds.
async fn delete_event(
    State(state): Shared,
    ids: Result<Path<(String, String)>, PathRejection>,
) -> Result<axum::http::StatusCode, GoogleErrorBody> {
    let (calendar_id, event_id) = path(ids)?;
    write_calendar(&state).delete_event(&calendar_id, &event_id, Utc::now())?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// `freebusy.query`.
async fn query_freebusy(
    State(state): Shared,
    body: Result<Json<serde_json::Value>, JsonRejection>,
) -> GoogleResult<crate::domain::models::calendar::FreeBusyResponse> {
    let request: crate::domain::models::calendar::FreeBusyRequest =
        serde_json::from_value(json_body(body)?).map_err(|error| {
            GoogleErrorBody::bad_request(format!("Invalid JSON payload received. {error}"))
        })?;
    read_calendar(&state).freebusy(&request).map(Json)
}
