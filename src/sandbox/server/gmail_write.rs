//! The routes of the Gmail write calls: `messages.send`, the drafts, label changes, trash
//! and `labels.create`.
//!
//! Request bodies are read as bytes and parsed here, so a malformed body gets Google's
//! 400 shape rather than axum's plain-text rejection.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::de::DeserializeOwned;

use super::{AppState, GoogleResult, Shared, check_user, format_param, path};
use crate::domain::models::gmail::{Draft, ListDraftsResponse, Message};
use crate::sandbox::google_error::GoogleErrorBody;
use crate::sandbox::mailbox::{DraftBody, LabelBody, ListParams, ModifyBody, RawMessageBody};
use crate::sandbox::query::QueryParams;

/// The largest request body: a 25 MB message grows by a third as base64url, and the JSON
/// around it is small.
const MAX_REQUEST_BYTES: usize = 40 * 1024 * 1024;

/// Builds the write routes; the caller adds the token check.
pub(super) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/gmail/v1/users/{user_id}/messages/send",
            post(send_message),
        )
        .route(
            "/gmail/v1/users/{user_id}/messages/batchModify",
            post(batch_modify),
        )
        .route(
            "/gmail/v1/users/{user_id}/messages/{id}/modify",
            post(modify_message),
        )
        .route(
            "/gmail/v1/users/{user_id}/messages/{id}/trash",
            post(trash_message),
        )
        .route(
            "/gmail/v1/users/{user_id}/messages/{id}/untrash",
            post(untrash_message),
        )
        .route(
            "/gmail/v1/users/{user_id}/drafts",
            get(list_drafts).post(create_draft),
        )
        .route("/gmail/v1/users/{user_id}/drafts/send", post(send_draft))
        .route(
            "/gmail/v1/users/{user_id}/drafts/{id}",
            get(get_draft).put(update_draft).delete(delete_draft),
        )
        .route("/gmail/v1/users/{user_id}/labels", post(create_label))
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES))
}

/// Parses a JSON request body; an empty body reads as `{}`.
fn json<T: DeserializeOwned + Default>(body: &Bytes) -> Result<T, GoogleErrorBody> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|error| {
        GoogleErrorBody::bad_request(format!("Invalid JSON payload received. {error}"))
    })
}

async fn send_message(
    State(state): Shared,
    user_id: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> GoogleResult<Message> {
    check_user(&state, &path(user_id)?)?;
    let body: RawMessageBody = json(&body)?;
    state.mailbox_mut().send(body).map(Json)
}

async fn batch_modify(
    State(state): Shared,
    user_id: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Result<StatusCode, GoogleErrorBody> {
    check_user(&state, &path(user_id)?)?;
    let body: ModifyBody = json(&body)?;
    state.mailbox_mut().batch_modify(&body)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn modify_message(
    State(state): Shared,
    ids: Result<Path<(String, String)>, PathRejection>,
    body: Bytes,
) -> GoogleResult<Message> {
    let (user_id, id) = path(ids)?;
    check_user(&state, &user_id)?;
    let body: ModifyBody = json(&body)?;
    state.mailbox_mut().modify(&id, &body).map(Json)
}

async fn trash_message(
    State(state): Shared,
    ids: Result<Path<(String, String)>, PathRejection>,
) -> GoogleResult<Message> {
    let (user_id, id) = path(ids)?;
    check_user(&state, &user_id)?;
    state.mailbox_mut().trash(&id).map(Json)
}

async fn untrash_message(
    State(state): Shared,
    ids: Result<Path<(String, String)>, PathRejection>,
) -> GoogleResult<Message> {
    let (user_id, id) = path(ids)?;
    check_user(&state, &user_id)?;
    state.mailbox_mut().untrash(&id).map(Json)
}

async fn list_drafts(
    State(state): Shared,
    user_id: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> GoogleResult<ListDraftsResponse> {
    check_user(&state, &path(user_id)?)?;
    let query = QueryParams::parse(query.as_deref());
    let max_results = Some(query.unsigned("maxResults", 0)?).filter(|size| *size > 0);
    let params = ListParams {
        q: query.first_owned("q"),
        max_results,
        page_token: query.first_owned("pageToken"),
        label_ids: Vec::new(),
        include_spam_trash: query.boolean("includeSpamTrash", false)?,
    };
    state.mailbox().list_drafts(&params).map(Json)
}

async fn create_draft(
    State(state): Shared,
    user_id: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> GoogleResult<Draft> {
    check_user(&state, &path(user_id)?)?;
    let body: DraftBody = json(&body)?;
    state.mailbox_mut().create_draft(body).map(Json)
}

async fn send_draft(
    State(state): Shared,
    user_id: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> GoogleResult<Message> {
    check_user(&state, &path(user_id)?)?;
    let body: DraftBody = json(&body)?;
    state.mailbox_mut().send_draft(body).map(Json)
}

async fn get_draft(
    State(state): Shared,
    ids: Result<Path<(String, String)>, PathRejection>,
    RawQuery(query): RawQuery,
) -> GoogleResult<Draft> {
    let (user_id, id) = path(ids)?;
    check_user(&state, &user_id)?;
    let format = format_param(&QueryParams::parse(query.as_deref()))?;
    state.mailbox().draft(&id, &format).map(Json)
}

async fn update_draft(
    State(state): Shared,
    ids: Result<Path<(String, String)>, PathRejection>,
    body: Bytes,
) -> GoogleResult<Draft> {
    let (user_id, id) = path(ids)?;
    check_user(&state, &user_id)?;
    let body: DraftBody = json(&body)?;
    state.mailbox_mut().update_draft(&id, body).map(Json)
}

async fn delete_draft(
    State(state): Shared,
    ids: Result<Path<(String, String)>, PathRejection>,
) -> Result<StatusCode, GoogleErrorBody> {
    let (user_id, id) = path(ids)?;
    check_user(&state, &user_id)?;
    state.mailbox_mut().delete_draft(&id)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn create_label(
    State(state): Shared,
    user_id: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> GoogleResult<serde_json::Value> {
    check_user(&state, &path(user_id)?)?;
    let body: LabelBody = json(&body)?;
    state.mailbox_mut().create_label(body).map(Json)
}
