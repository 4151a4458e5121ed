//! The Gmail v1 client behind [`GmailApi`].

use async_trait::async_trait;

use super::endpoints::{GoogleEndpoints, ServiceBase, id_segment};
use super::transport::{Call, Query, RESOURCE_BODY_LIMIT, get_json};
use crate::domain::errors::GoogleApiError;
use crate::domain::models::gmail::{
    Label, ListLabelsResponse, ListMessagesResponse, Message, MessageFormat, MessageListQuery,
    MessagePartBody, Thread,
};
use crate::domain::models::{AccessToken, AttachmentId, MessageId, ThreadId};
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
}
