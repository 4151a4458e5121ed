//! The Gmail v1 client behind [`GmailApi`].
//!
//! The two calls that send mail live in the `send` module, which only the `gmail-send`
//! feature compiles. Without it, [`GmailApi::send_message`] and [`GmailApi::send_draft`]
//! return [`GoogleApiError::NotSupported`] and no request is made.

#[cfg(feature = "gmail-send")]
mod send;

use async_trait::async_trait;
use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::endpoints::{GoogleEndpoints, ServiceBase, id_segment};
use super::transport::{
    Call, Query, RESOURCE_BODY_LIMIT, Resend, WriteCall, get_json, write_json, write_no_content,
};
use crate::domain::errors::GoogleApiError;
use crate::domain::mail_content::encode_base64url;
use crate::domain::models::gmail::{
    Draft, DraftListQuery, Label, LabelChanges, ListDraftsResponse, ListLabelsResponse,
    ListMessagesResponse, Message, MessageFormat, MessageListQuery, MessagePartBody, NewLabel,
    OutgoingMessage, Profile, Thread,
};
use crate::domain::models::{AccessToken, AttachmentId, DraftId, MessageId, ThreadId};
use crate::domain::ports::GmailApi;
use crate::outbound::retry::RetryPolicy;

/// The largest body read for a message or a thread. In the `full` format Gmail inlines the
/// text and HTML parts, and a thread repeats them for every message, so a long thread of
/// HTML mail reaches several megabytes.
const MESSAGE_BODY_LIMIT: usize = 32 * 1024 * 1024;

/// The largest body read for an attachment. Gmail receives messages of up to 50 MB and
/// sends up to 25 MB (limits as reported by Android Police on 2017-03-01). Base64url adds
/// a third, so even a 50 MB attachment (about 67 MB encoded) fits just under 64 MiB.
const ATTACHMENT_BODY_LIMIT: usize = 64 * 1024 * 1024;

/// Gmail's alias for the user the token belongs to.
const ME: &str = "me";

/// A Gmail v1 REST client acting as the token's user.
///
/// Cheap to clone: the [`reqwest::Client`] inside shares one connection pool. `Debug`
/// shows the base URL only, and tokens are passed per call, never stored.
#[derive(Debug, Clone)]
pub struct GmailClient {
    http: reqwest::Client,
    base: ServiceBase,
    retry: RetryPolicy,
}

impl GmailClient {
    /// Creates a client that sends its requests through `http` to the Gmail root of `endpoints`.
    pub fn new(http: reqwest::Client, endpoints: &GoogleEndpoints) -> Self {
        Self {
            http,
            base: endpoints.gmail().clone(),
            retry: RetryPolicy::DEFAULT,
        }
    }

    /// Replaces the retry policy ([`RetryPolicy::DEFAULT`] unless set).
    #[must_use]
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        method: &'static str,
        segments: &[&str],
        query: Query,
        token: &AccessToken,
        body_limit: usize,
    ) -> Result<T, GoogleApiError> {
        let url = self.base.url(segments)?;
        get_json(
            &self.http,
            &self.retry,
            Call {
                method,
                url,
                query,
                token,
                body_limit,
            },
        )
        .await
    }

    /// Sends a POST, PUT or DELETE with `body` as JSON and parses the JSON response.
    async fn write<T: DeserializeOwned>(
        &self,
        request: WriteRequest<'_>,
        token: &AccessToken,
    ) -> Result<T, GoogleApiError> {
        let call = self.write_call(request, token)?;
        write_json(&self.http, &self.retry, call).await
    }

    /// Sends a write whose success response is empty.
    async fn write_empty(
        &self,
        request: WriteRequest<'_>,
        token: &AccessToken,
    ) -> Result<(), GoogleApiError> {
        let call = self.write_call(request, token)?;
        write_no_content(&self.http, &self.retry, call).await
    }

    fn write_call<'a>(
        &self,
        request: WriteRequest<'_>,
        token: &'a AccessToken,
    ) -> Result<WriteCall<'a>, GoogleApiError> {
        Ok(WriteCall {
            method: request.method,
            verb: request.verb,
            url: self.base.url(request.segments)?,
            query: Query::default(),
            token,
            body: request.body,
            body_limit: MESSAGE_BODY_LIMIT,
            resend: request.resend,
            done_earlier: None,
        })
    }
}

/// One write as the Gmail methods describe it, before the URL is built.
struct WriteRequest<'a> {
    method: &'static str,
    verb: Method,
    segments: &'a [&'a str],
    body: Option<Vec<u8>>,
    resend: Resend,
}

impl<'a> WriteRequest<'a> {
    /// Describes a request with the same retries as a read, for calls whose repetition
    /// does no harm.
    fn new(method: &'static str, verb: Method, segments: &'a [&'a str]) -> Self {
        Self {
            method,
            verb,
            segments,
            body: None,
            resend: Resend::AsReads,
        }
    }

    fn json(mut self, body: &impl Serialize) -> Result<Self, GoogleApiError> {
        let bytes = serde_json::to_vec(body).map_err(|error| GoogleApiError::InvalidResponse {
            message: format!(
                "the {} request could not be serialized: {error}",
                self.method
            ),
        })?;
        self.body = Some(bytes);
        Ok(self)
    }
}

/// `Message` as a request body: the whole message as base64url in `raw`, and the thread.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RawMessage<'a> {
    raw: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    thread_id: Option<&'a str>,
}

impl<'a> RawMessage<'a> {
    fn of(message: &'a OutgoingMessage) -> Self {
        Self {
            raw: encode_base64url(&message.raw),
            thread_id: message.thread_id.as_ref().map(ThreadId::as_str),
        }
    }
}

/// `Draft` as a request body.
#[derive(Serialize)]
struct DraftBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<RawMessage<'a>>,
}

/// `BatchModifyMessagesRequest`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BatchModifyBody<'a> {
    ids: Vec<&'a str>,
    #[serde(flatten)]
    changes: &'a LabelChanges,
}

#[cfg(not(feature = "gmail-send"))]
fn sending_not_compiled() -> GoogleApiError {
    GoogleApiError::NotSupported {
        message: "this build of mcp-google-hub cannot send mail: it was compiled without the \
                  `gmail-send` feature. Drafts can still be created and sent from Gmail."
            .to_owned(),
    }
}

fn format_query(format: &MessageFormat) -> Query {
    let mut query = Query::default();
    match format {
        MessageFormat::Full => query.push("format", "full"),
        MessageFormat::Metadata(headers) => {
            query.push("format", "metadata");
            for header in headers {
                query.push("metadataHeaders", header.as_str());
            }
        }
    }
    query
}

#[async_trait]
impl GmailApi for GmailClient {
    async fn list_messages(
        &self,
        token: &AccessToken,
        list: &MessageListQuery,
    ) -> Result<ListMessagesResponse, GoogleApiError> {
        let mut query = Query::default();
        query.push_some(
            "q",
            list.query.as_deref().filter(|text| !text.trim().is_empty()),
        );
        // Zero means "not set": Gmail then uses its default page size of 100.
        if list.max_results > 0 {
            query.push("maxResults", list.max_results.to_string());
        }
        query.push_some("pageToken", list.page_token.as_deref());
        for label in &list.label_ids {
            query.push("labelIds", label.as_str());
        }
        if list.include_spam_trash {
            query.push("includeSpamTrash", "true");
        }

        self.get(
            "gmail.users.messages.list",
            &["users", ME, "messages"],
            query,
            token,
            RESOURCE_BODY_LIMIT,
        )
        .await
    }

    async fn get_message(
        &self,
        token: &AccessToken,
        id: &MessageId,
        format: &MessageFormat,
    ) -> Result<Message, GoogleApiError> {
        let id = id_segment("message", id.as_str())?;
        let segments = ["users", ME, "messages", id];
        self.get(
            "gmail.users.messages.get",
            &segments,
            format_query(format),
            token,
            MESSAGE_BODY_LIMIT,
        )
        .await
    }

    async fn get_thread(
        &self,
        token: &AccessToken,
        id: &ThreadId,
        format: &MessageFormat,
    ) -> Result<Thread, GoogleApiError> {
        let id = id_segment("thread", id.as_str())?;
        let segments = ["users", ME, "threads", id];
        self.get(
            "gmail.users.threads.get",
            &segments,
            format_query(format),
            token,
            MESSAGE_BODY_LIMIT,
        )
        .await
    }

    async fn list_labels(&self, token: &AccessToken) -> Result<Vec<Label>, GoogleApiError> {
        let segments = ["users", ME, "labels"];
        let response: ListLabelsResponse = self
            .get(
                "gmail.users.labels.list",
                &segments,
                Query::default(),
                token,
                RESOURCE_BODY_LIMIT,
            )
            .await?;
        Ok(response.labels)
    }

    async fn get_attachment(
        &self,
        token: &AccessToken,
        message_id: &MessageId,
        attachment_id: &AttachmentId,
    ) -> Result<MessagePartBody, GoogleApiError> {
        let message_id = id_segment("message", message_id.as_str())?;
        let attachment_id = id_segment("attachment", attachment_id.as_str())?;
        let segments = [
            "users",
            ME,
            "messages",
            message_id,
            "attachments",
            attachment_id,
        ];
        let method = "gmail.users.messages.attachments.get";
        self.get(
            method,
            &segments,
            Query::default(),
            token,
            ATTACHMENT_BODY_LIMIT,
        )
        .await
    }

    async fn get_profile(&self, token: &AccessToken) -> Result<Profile, GoogleApiError> {
        self.get(
            "gmail.users.getProfile",
            &["users", ME, "profile"],
            Query::default(),
            token,
            RESOURCE_BODY_LIMIT,
        )
        .await
    }

    async fn send_message(
        &self,
        token: &AccessToken,
        message: &OutgoingMessage,
    ) -> Result<Message, GoogleApiError> {
        cfg_if::cfg_if! {
            if #[cfg(feature = "gmail-send")] {
                send::send_message(self, token, message).await
            } else {
                let _ = (token, message);
                Err(sending_not_compiled())
            }
        }
    }

    async fn create_draft(
        &self,
        token: &AccessToken,
        message: &OutgoingMessage,
    ) -> Result<Draft, GoogleApiError> {
        let body = DraftBody {
            id: None,
            message: Some(RawMessage::of(message)),
        };
        // Not repeated after a timeout or 5xx either: a second create would leave two drafts.
        let mut request = WriteRequest::new(
            "gmail.users.drafts.create",
            Method::POST,
            &["users", ME, "drafts"],
        )
        .json(&body)?;
        request.resend = Resend::OnlyUnsent;
        self.write(request, token).await
    }

    async fn update_draft(
        &self,
        token: &AccessToken,
        id: &DraftId,
        message: &OutgoingMessage,
    ) -> Result<Draft, GoogleApiError> {
        let id = id_segment("draft", id.as_str())?;
        let body = DraftBody {
            id: Some(id),
            message: Some(RawMessage::of(message)),
        };
        let segments = ["users", ME, "drafts", id];
        let request =
            WriteRequest::new("gmail.users.drafts.update", Method::PUT, &segments).json(&body)?;
        self.write(request, token).await
    }

    async fn list_drafts(
        &self,
        token: &AccessToken,
        list: &DraftListQuery,
    ) -> Result<ListDraftsResponse, GoogleApiError> {
        let mut query = Query::default();
        query.push_some(
            "q",
            list.query.as_deref().filter(|text| !text.trim().is_empty()),
        );
        // Zero means "not set": Gmail then uses its default page size of 100.
        if list.max_results > 0 {
            query.push("maxResults", list.max_results.to_string());
        }
        query.push_some("pageToken", list.page_token.as_deref());
        if list.include_spam_trash {
            query.push("includeSpamTrash", "true");
        }
        self.get(
            "gmail.users.drafts.list",
            &["users", ME, "drafts"],
            query,
            token,
            RESOURCE_BODY_LIMIT,
        )
        .await
    }

    async fn get_draft(
        &self,
        token: &AccessToken,
        id: &DraftId,
        format: &MessageFormat,
    ) -> Result<Draft, GoogleApiError> {
        let id = id_segment("draft", id.as_str())?;
        let mut query = Query::default();
        let limit = match format {
            MessageFormat::Full => {
                query.push("format", "full");
                MESSAGE_BODY_LIMIT
            }
            MessageFormat::Metadata(_) => {
                query.push("format", "metadata");
                RESOURCE_BODY_LIMIT
            }
        };
        self.get(
            "gmail.users.drafts.get",
            &["users", ME, "drafts", id],
            query,
            token,
            limit,
        )
        .await
    }

    async fn send_draft(
        &self,
        token: &AccessToken,
        id: &DraftId,
    ) -> Result<Message, GoogleApiError> {
        cfg_if::cfg_if! {
            if #[cfg(feature = "gmail-send")] {
                send::send_draft(self, token, id).await
            } else {
                let _ = (token, id);
                Err(sending_not_compiled())
            }
        }
    }

    async fn delete_draft(&self, token: &AccessToken, id: &DraftId) -> Result<(), GoogleApiError> {
        let id = id_segment("draft", id.as_str())?;
        let segments = ["users", ME, "drafts", id];
        let request = WriteRequest::new("gmail.users.drafts.delete", Method::DELETE, &segments);
        self.write_empty(request, token).await
    }

    async fn modify_message(
        &self,
        token: &AccessToken,
        id: &MessageId,
        changes: &LabelChanges,
    ) -> Result<Message, GoogleApiError> {
        let id = id_segment("message", id.as_str())?;
        let segments = ["users", ME, "messages", id, "modify"];
        let request = WriteRequest::new("gmail.users.messages.modify", Method::POST, &segments)
            .json(changes)?;
        self.write(request, token).await
    }

    async fn batch_modify_messages(
        &self,
        token: &AccessToken,
        ids: &[MessageId],
        changes: &LabelChanges,
    ) -> Result<(), GoogleApiError> {
        let ids = ids
            .iter()
            .map(|id| id_segment("message", id.as_str()))
            .collect::<Result<Vec<_>, _>>()?;
        let body = BatchModifyBody { ids, changes };
        let segments = ["users", ME, "messages", "batchModify"];
        let request =
            WriteRequest::new("gmail.users.messages.batchModify", Method::POST, &segments)
                .json(&body)?;
        self.write_empty(request, token).await
    }

    async fn trash_message(
        &self,
        token: &AccessToken,
        id: &MessageId,
    ) -> Result<Message, GoogleApiError> {
        let id = id_segment("message", id.as_str())?;
        let segments = ["users", ME, "messages", id, "trash"];
        let request = WriteRequest::new("gmail.users.messages.trash", Method::POST, &segments);
        self.write(request, token).await
    }

    async fn untrash_message(
        &self,
        token: &AccessToken,
        id: &MessageId,
    ) -> Result<Message, GoogleApiError> {
        let id = id_segment("message", id.as_str())?;
        let segments = ["users", ME, "messages", id, "untrash"];
        let request = WriteRequest::new("gmail.users.messages.untrash", Method::POST, &segments);
        self.write(request, token).await
    }

    async fn create_label(
        &self,
        token: &AccessToken,
        label: &NewLabel,
    ) -> Result<Label, GoogleApiError> {
        let segments = ["users", ME, "labels"];
        let request =
            WriteRequest::new("gmail.users.labels.create", Method::POST, &segments).json(label)?;
        self.write(request, token).await
    }
}
