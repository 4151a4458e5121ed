//! The ports: the traits through which the core reaches credential sources and Google.
//!
//! Every port is `Send + Sync`, because one instance is shared by all concurrent tool calls
//! behind an `Arc`. Methods are async through `async_trait` so the ports can be used as
//! trait objects. With the `test-util` feature (and in this crate's own tests) mockall
//! generates `MockCredentialProvider`, `MockGmailApi` and `MockCalendarApi`.

use async_trait::async_trait;

use super::errors::{CredentialError, GoogleApiError};
use super::models::calendar::{
    CalendarList, Event, EventListQuery, EventWrite, Events, FreeBusyRequest, FreeBusyResponse,
    SendUpdates,
};
use super::models::gmail::{
    Draft, DraftListQuery, Label, LabelChanges, ListDraftsResponse, ListMessagesResponse, Message,
    MessageFormat, MessageListQuery, MessagePartBody, NewLabel, OutgoingMessage, Profile, Thread,
};
use super::models::{
    AccessToken, AttachmentId, AuthMode, CalendarId, Credentials, DraftId, EventId, MessageId,
    ProviderStatus, ThreadId,
};

/// A source of Google credentials for one user.
///
/// The core never calls a provider directly for each request: the
/// [`CredentialCache`](crate::domain::service::CredentialCache) sits in front and calls
/// [`fetch_credentials`](Self::fetch_credentials) only when its token is no longer usable.
#[cfg_attr(any(test, feature = "test-util"), mockall::automock)]
#[async_trait]
pub trait CredentialProvider: Send + Sync {
    /// Returns the auth mode this provider implements.
    fn mode(&self) -> AuthMode;

    /// Fetches credentials whose access token is usable now.
    ///
    /// # Errors
    ///
    /// - [`CredentialError::NotConfigured`] when required settings are missing.
    /// - [`CredentialError::Unauthorized`] when the source rejects the hub's own credential.
    /// - [`CredentialError::NotConnected`] when no Google account is connected, or the
    ///   connection must be authorized again.
    /// - [`CredentialError::Unavailable`] on network failures, timeouts and server errors.
    /// - [`CredentialError::InvalidResponse`] when the answer lacks an access token or
    ///   cannot be parsed.
    async fn fetch_credentials(&self) -> Result<Credentials, CredentialError>;

    /// Reports whether Google is connected, for `hub_status`, without returning tokens.
    ///
    /// # Errors
    ///
    /// The same variants as [`fetch_credentials`](Self::fetch_credentials).
    async fn status(&self) -> Result<ProviderStatus, CredentialError>;

    /// Returns when the hub's own credential for this source expires (the `exp` of the OMA
    /// JWT, say), for the expiry warning in `hub_status`. `None` when the source has no
    /// such credential or its expiry is unknown.
    fn source_token_expiry(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        None
    }

    /// Tells the provider that Google rejected `token` with a 401 although its expiry said
    /// it was usable, as happens when the user revokes access or the token is rotated
    /// elsewhere.
    ///
    /// The [`CredentialCache`](crate::domain::service::CredentialCache) calls this once per
    /// rejected token, before it calls [`fetch_credentials`](Self::fetch_credentials) again.
    /// A provider that would otherwise hand the same token out again (one that reads it
    /// from a file, say) must then get a new one on the next fetch. It must not block:
    /// record the rejection and act on it in the next fetch. The default does nothing,
    /// which suits sources that issue a fresh token on every fetch.
    fn token_rejected(&self, token: &AccessToken) {
        let _ = token;
    }
}

/// The Gmail v1 calls the tools need. Every call acts as the user `me`.
///
/// # Errors
///
/// Every method returns [`GoogleApiError::Unauthorized`] when Google rejects the token,
/// [`GoogleApiError::NotFound`] for an unknown id, and the other variants as their docs say.
#[cfg_attr(any(test, feature = "test-util"), mockall::automock)]
#[async_trait]
pub trait GmailApi: Send + Sync {
    /// `users.messages.list`: one page of message ids matching a query.
    async fn list_messages(
        &self,
        token: &AccessToken,
        query: &MessageListQuery,
    ) -> Result<ListMessagesResponse, GoogleApiError>;

    /// `users.messages.get` in the given format.
    async fn get_message(
        &self,
        token: &AccessToken,
        id: &MessageId,
        format: &MessageFormat,
    ) -> Result<Message, GoogleApiError>;

    /// `users.threads.get` in the given format.
    async fn get_thread(
        &self,
        token: &AccessToken,
        id: &ThreadId,
        format: &MessageFormat,
    ) -> Result<Thread, GoogleApiError>;

    /// `users.labels.list`.
    async fn list_labels(&self, token: &AccessToken) -> Result<Vec<Label>, GoogleApiError>;

    /// `users.messages.attachments.get`: the attachment's content as base64url in `data`.
    async fn get_attachment(
        &self,
        token: &AccessToken,
        message_id: &MessageId,
        attachment_id: &AttachmentId,
    ) -> Result<MessagePartBody, GoogleApiError>;

    /// `users.getProfile`: the account's address and mailbox totals.
    async fn get_profile(&self, token: &AccessToken) -> Result<Profile, GoogleApiError>;

    /// `users.messages.send`: sends `message` and returns the stored copy (id, thread id,
    /// labels).
    ///
    /// # Errors
    ///
    /// [`GoogleApiError::NotSupported`] when this build has no `gmail-send` feature.
    /// [`GoogleApiError::Unavailable`] after a timeout or a 5xx may mean the mail went out:
    /// the call is not repeated, so check the SENT label before sending again.
    async fn send_message(
        &self,
        token: &AccessToken,
        message: &OutgoingMessage,
    ) -> Result<Message, GoogleApiError>;

    /// `users.drafts.create`: stores `message` as a new draft.
    async fn create_draft(
        &self,
        token: &AccessToken,
        message: &OutgoingMessage,
    ) -> Result<Draft, GoogleApiError>;

    /// `users.drafts.update`: replaces the content of draft `id`. Gmail gives the new
    /// content a new message id.
    async fn update_draft(
        &self,
        token: &AccessToken,
        id: &DraftId,
        message: &OutgoingMessage,
    ) -> Result<Draft, GoogleApiError>;

    /// `users.drafts.list`: one page of draft ids with their message ids.
    async fn list_drafts(
        &self,
        token: &AccessToken,
        query: &DraftListQuery,
    ) -> Result<ListDraftsResponse, GoogleApiError>;

    /// `users.drafts.get`: the message's ids, labels and headers, and in the `full` format
    /// its MIME tree too. `drafts.get` has no `metadataHeaders` parameter, so
    /// [`MessageFormat::Metadata`] returns every header whatever names it lists.
    async fn get_draft(
        &self,
        token: &AccessToken,
        id: &DraftId,
        format: &MessageFormat,
    ) -> Result<Draft, GoogleApiError>;

    /// `users.drafts.send`: sends draft `id` and returns the sent message.
    ///
    /// # Errors
    ///
    /// As [`send_message`](Self::send_message).
    async fn send_draft(
        &self,
        token: &AccessToken,
        id: &DraftId,
    ) -> Result<Message, GoogleApiError>;

    /// `users.drafts.delete`: deletes draft `id` for good (it does not go to the trash).
    async fn delete_draft(&self, token: &AccessToken, id: &DraftId) -> Result<(), GoogleApiError>;

    /// `users.messages.modify`: adds and removes labels on one message.
    async fn modify_message(
        &self,
        token: &AccessToken,
        id: &MessageId,
        changes: &LabelChanges,
    ) -> Result<Message, GoogleApiError>;

    /// `users.messages.batchModify`: adds and removes labels on up to 1000 messages at once.
    async fn batch_modify_messages(
        &self,
        token: &AccessToken,
        ids: &[MessageId],
        changes: &LabelChanges,
    ) -> Result<(), GoogleApiError>;

    /// `users.messages.trash`: moves a message to the trash.
    async fn trash_message(
        &self,
        token: &AccessToken,
        id: &MessageId,
    ) -> Result<Message, GoogleApiError>;

    /// `users.messages.untrash`: takes a message out of the trash.
    async fn untrash_message(
        &self,
        token: &AccessToken,
        id: &MessageId,
    ) -> Result<Message, GoogleApiError>;

    /// `users.labels.create`.
    ///
    /// # Errors
    ///
    /// [`GoogleApiError::InvalidRequest`] with status 409 when a label of that name exists.
    async fn create_label(
        &self,
        token: &AccessToken,
        label: &NewLabel,
    ) -> Result<Label, GoogleApiError>;
}

/// The Calendar v3 calls the calendar tools need.
///
/// # Errors
///
/// Every method returns [`GoogleApiError::Unauthorized`] when Google rejects the token,
/// [`GoogleApiError::NotFound`] for an unknown calendar or event, and the other variants as
/// their docs say.
#[cfg_attr(any(test, feature = "test-util"), mockall::automock)]
#[async_trait]
pub trait CalendarApi: Send + Sync {
    /// `calendarList.list`: one page of the user's calendars.
    async fn list_calendars(
        &self,
        token: &AccessToken,
        page_token: Option<String>,
    ) -> Result<CalendarList, GoogleApiError>;

    /// `events.list` with recurring events expanded into occurrences, ordered by start.
    async fn list_events(
        &self,
        token: &AccessToken,
        query: &EventListQuery,
    ) -> Result<Events, GoogleApiError>;

    /// `events.get`.
    async fn get_event(
        &self,
        token: &AccessToken,
        calendar_id: &CalendarId,
        event_id: &EventId,
    ) -> Result<Event, GoogleApiError>;

    /// `events.insert`: creates an event and returns it as Google stored it.
    ///
    /// An adapter may retry the call only when `event.id` is set, because Google then
    /// rejects a second copy (409). A retry that gets that 409 MUST return the event stored
    /// by the earlier attempt, not the error.
    async fn insert_event(
        &self,
        token: &AccessToken,
        calendar_id: &CalendarId,
        event: &EventWrite,
        send_updates: SendUpdates,
    ) -> Result<Event, GoogleApiError>;

    /// `events.patch`: changes only the fields set in `patch`. `event_id` may name one
    /// occurrence of a recurring event (`{series id}_{original start}`), which then becomes
    /// an exception of its series.
    async fn patch_event(
        &self,
        token: &AccessToken,
        calendar_id: &CalendarId,
        event_id: &EventId,
        patch: &EventWrite,
        send_updates: SendUpdates,
    ) -> Result<Event, GoogleApiError>;

    /// `events.delete`. For an occurrence id, Google cancels only that occurrence.
    ///
    /// A retry that finds the event already gone (410 or 404) MUST report success, because
    /// an earlier attempt deleted it.
    async fn delete_event(
        &self,
        token: &AccessToken,
        calendar_id: &CalendarId,
        event_id: &EventId,
        send_updates: SendUpdates,
    ) -> Result<(), GoogleApiError>;

    /// `freebusy.query`. A calendar Google cannot read is reported in its own entry's
    /// `errors`, not as an error of the call.
    async fn query_freebusy(
        &self,
        token: &AccessToken,
        request: &FreeBusyRequest,
    ) -> Result<FreeBusyResponse, GoogleApiError>;
}
