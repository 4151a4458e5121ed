//! `gmail_search_messages`.

use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt as _;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Envelope;
use crate::domain::access::{GmailAccess, RequiredAccess};
use crate::domain::errors::GoogleApiError;
use crate::domain::mail_content::decode_snippet;
use crate::domain::models::MessageId;
use crate::domain::models::gmail::{MessageFormat, MessageListQuery, MessageRef};
use crate::domain::tools::definition::{
    MAX_QUERY_CHARS, MAX_TOKEN_CHARS, Validate, check_length, check_range,
};
use crate::domain::tools::{Render, Tool, ToolAnnotations, ToolContext, ToolError};

/// The page size when the model gives none.
const DEFAULT_MAX_RESULTS: u32 = 20;
/// The largest page: each message on it costs one metadata request and ~300 characters.
const MAX_MAX_RESULTS: u32 = 100;
/// How many metadata requests run at once. Gmail's per-user quota allows far more; this
/// keeps a burst from one search polite.
const METADATA_CONCURRENCY: usize = 10;
/// The headers a search result shows.
const SUMMARY_HEADERS: [&str; 4] = ["From", "To", "Subject", "Date"];

pub(crate) struct SearchMessages;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SearchMessagesArgs {
    /// Gmail search syntax, e.g. `from:ann@example.com subject:invoice is:unread after:2024/01/31 has:attachment`. Empty returns the newest mail.
    #[serde(default)]
    query: String,
    /// Messages per page (1-100, default 20).
    #[schemars(range(min = 1, max = 100))]
    max_results: Option<u32>,
    /// `next_page_token` of the previous page.
    page_token: Option<String>,
}

impl Validate for SearchMessagesArgs {
    fn validate(&self) -> Result<(), (&'static str, String)> {
        check_range("max_results", self.max_results, 1, MAX_MAX_RESULTS)?;
        check_length("query", Some(&self.query), MAX_QUERY_CHARS)?;
        check_length("page_token", self.page_token.as_deref(), MAX_TOKEN_CHARS)
    }
}

/// One page of matching messages, newest first.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct SearchMessagesResult {
    /// The messages on this page.
    messages: Vec<MessageSummary>,
    /// Pass as `page_token` to get the next page; absent on the last page.
    next_page_token: Option<String>,
    /// Gmail's estimate of the total number of matches.
    result_size_estimate: Option<u32>,
}

/// A message in a search result.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct MessageSummary {
    /// Pass to gmail_get_message.
    id: String,
    /// Pass to gmail_get_thread.
    thread_id: String,
    from: Option<String>,
    to: Option<String>,
    subject: Option<String>,
    /// When Gmail received it, RFC 3339 UTC.
    date: Option<String>,
    snippet: Option<String>,
    /// Label ids, such as INBOX, UNREAD, SENT.
    labels: Vec<String>,
    /// The reason the details of this message could not be read, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[async_trait]
impl Tool for SearchMessages {
    type Args = SearchMessagesArgs;
    type Output = SearchMessagesResult;

    const NAME: &'static str = "gmail_search_messages";
    const TITLE: &'static str = "Search Gmail";
    const DESCRIPTION: &'static str = "Search Gmail with Gmail search syntax and list matching messages, newest first, with ids, sender, recipients, subject, date, snippet and labels. Page with next_page_token. Read a message with gmail_get_message.";
    const ANNOTATIONS: ToolAnnotations = ToolAnnotations::READ_ONLY;
    const ACCESS: RequiredAccess = RequiredAccess::Gmail(GmailAccess::Read);

    async fn run(
        &self,
        context: &ToolContext,
        args: Self::Args,
    ) -> Result<Self::Output, ToolError> {
        let query = MessageListQuery {
            query: Some(args.query.trim().to_owned()).filter(|query| !query.is_empty()),
            max_results: args.max_results.unwrap_or(DEFAULT_MAX_RESULTS),
            page_token: args.page_token.filter(|token| !token.is_empty()),
            label_ids: Vec::new(),
            include_spam_trash: false,
        };
        let gmail = &context.gmail;
        let query = &query;
        let page = context
            .with_google(|credentials| async move {
                gmail.list_messages(&credentials.access_token, query).await
            })
            .await?;

        // messages.list returns ids only; the headers come from one metadata call each.
        let messages = futures::stream::iter(page.messages)
            .map(|reference| summarize(context, reference))
            .buffered(METADATA_CONCURRENCY)
            .collect()
            .await;

        Ok(SearchMessagesResult {
            messages,
            next_page_token: page.next_page_token,
            result_size_estimate: page.result_size_estimate,
        })
    }
}

async fn summarize(context: &ToolContext, reference: MessageRef) -> MessageSummary {
    let mut summary = MessageSummary {
        id: reference.id.clone(),
        thread_id: reference.thread_id.clone(),
        from: None,
        to: None,
        subject: None,
        date: None,
        snippet: None,
        labels: Vec::new(),
        error: None,
    };
    let id = match MessageId::new(reference.id) {
        Ok(id) => id,
        Err(error) => {
            summary.error = Some(error.to_string());
            return summary;
        }
    };

    let format = MessageFormat::Metadata(
        SUMMARY_HEADERS
            .iter()
            .map(|name| (*name).to_owned())
            .collect(),
    );
    let gmail = &context.gmail;
    let (id, format) = (&id, &format);
    let result = context
        .with_google(|credentials: Arc<_>| async move {
            gmail
                .get_message(&credentials.access_token, id, format)
                .await
        })
        .await;

    match result {
        Ok(message) => {
            let envelope = Envelope::of(&message);
            summary.from = envelope.from;
            summary.to = envelope.to;
            summary.subject = envelope.subject;
            summary.date = envelope.date;
            summary.snippet = message
                .snippet
                .as_deref()
                .map(|snippet| decode_snippet(snippet).into_owned());
            summary.labels = message.label_ids;
        }
        // Deleted between the list and the get: still reported, so the page is complete.
        Err(ToolError::Google(GoogleApiError::NotFound { .. })) => {
            summary.error = Some("the message was deleted after the search ran".to_owned());
        }
        Err(error) => summary.error = Some(error.to_string()),
    }
    summary
}

impl Render for SearchMessagesResult {
    fn render_text(&self) -> String {
        if self.messages.is_empty() {
            return "No messages match.".to_owned();
        }

        let mut out = format!("{} message(s)", self.messages.len());
        if let Some(estimate) = self.result_size_estimate {
            out.push_str(&format!(" of about {estimate}"));
        }
        out.push_str(":\n");
        for (index, message) in self.messages.iter().enumerate() {
            out.push_str(&format!(
                "{}. id {} thread {}",
                index + 1,
                message.id,
                message.thread_id
            ));
            if let Some(error) = &message.error {
                out.push_str(&format!(" (details unavailable: {error})\n"));
                continue;
            }
            if message.labels.iter().any(|label| label == "UNREAD") {
                out.push_str(" [unread]");
            }
            out.push('\n');
            let field = |name: &str, value: &Option<String>| {
                value
                    .as_deref()
                    .map(|value| format!("   {name}: {value}\n"))
                    .unwrap_or_default()
            };
            out.push_str(&field("Date", &message.date));
            out.push_str(&field("From", &message.from));
            out.push_str(&field("To", &message.to));
            out.push_str(&field("Subject", &message.subject));
            out.push_str(&field("Snippet", &message.snippet));
        }
        match &self.next_page_token {
            Some(token) => out.push_str(&format!(
                "More results: call again with page_token \"{token}\"."
            )),
            None => out.push_str("End of results."),
        }
        out
    }
}
