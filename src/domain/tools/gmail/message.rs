//! `gmail_get_message`, `gmail_get_thread` and `gmail_list_labels`.

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{AttachmentSummary, Envelope, render_attachments};
use crate::domain::access::{GmailAccess, RequiredAccess};
use crate::domain::mail_content;
use crate::domain::models::gmail::{Message, MessageFormat};
use crate::domain::models::{MessageId, ThreadId};
use crate::domain::tools::definition::{Validate, check_range};
use crate::domain::tools::{Render, Tool, ToolAnnotations, ToolContext, ToolError, cut_chars};

/// The body budget of `gmail_get_message` when the model gives none, in characters
/// (about 2,000 tokens).
const DEFAULT_MAX_CHARS: u32 = 8_000;
/// The largest body window one call returns, in characters.
const MAX_MAX_CHARS: u32 = 100_000;
/// The smallest window worth a call.
const MIN_MAX_CHARS: u32 = 100;
/// The per-message body budget of `gmail_get_thread` when the model gives none.
const DEFAULT_THREAD_CHARS: u32 = 2_000;
/// The largest per-message budget of `gmail_get_thread`.
const MAX_THREAD_CHARS: u32 = 20_000;

fn parse_id<T>(
    tool: &'static str,
    field: &str,
    parse: impl FnOnce() -> Result<T, crate::domain::models::InvalidId>,
) -> Result<T, ToolError> {
    parse().map_err(|error| ToolError::InvalidArguments {
        tool,
        message: format!("field `{field}`: {error}"),
    })
}

pub(crate) struct GetMessage;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct GetMessageArgs {
    /// Message id from gmail_search_messages or gmail_get_thread.
    message_id: String,
    /// Body characters to return (100-100000, default 8000).
    #[schemars(range(min = 100, max = 100000))]
    max_chars: Option<u32>,
    /// Character offset to read the body from; use `next_offset` of the previous call.
    offset: Option<u32>,
}

impl Validate for GetMessageArgs {
    fn validate(&self) -> Result<(), (&'static str, String)> {
        check_range("max_chars", self.max_chars, MIN_MAX_CHARS, MAX_MAX_CHARS)
    }
}

/// A message with its body as text.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct MessageDetail {
    id: String,
    thread_id: String,
    from: Option<String>,
    to: Option<String>,
    cc: Option<String>,
    subject: Option<String>,
    /// When Gmail received it, RFC 3339 UTC.
    date: Option<String>,
    /// Label ids, such as INBOX, UNREAD.
    labels: Vec<String>,
    /// The RFC 5322 Message-ID header, for threading replies.
    message_id_header: Option<String>,
    /// The body as plain text (HTML converted), from `body_offset`.
    body: String,
    /// Whether the body was converted from HTML.
    body_from_html: bool,
    /// The character offset `body` starts at.
    body_offset: usize,
    /// The whole body's length in characters.
    body_total_chars: usize,
    /// Whether more of the body follows.
    truncated: bool,
    /// Pass as `offset` to read on; absent when the body is complete.
    next_offset: Option<usize>,
    attachments: Vec<AttachmentSummary>,
}

#[async_trait]
impl Tool for GetMessage {
    type Args = GetMessageArgs;
    type Output = MessageDetail;

    const NAME: &'static str = "gmail_get_message";
    const TITLE: &'static str = "Read a Gmail message";
    const DESCRIPTION: &'static str = "Read one Gmail message: headers, body as plain text (HTML converted) and the attachment list. Long bodies are cut at max_chars; call again with offset=next_offset to read on. Fetch an attachment with gmail_get_attachment.";
    const ANNOTATIONS: ToolAnnotations = ToolAnnotations::READ_ONLY;
    const ACCESS: RequiredAccess = RequiredAccess::Gmail(GmailAccess::Read);

    async fn run(
        &self,
        context: &ToolContext,
        args: Self::Args,
    ) -> Result<Self::Output, ToolError> {
        let id = parse_id(Self::NAME, "message_id", || MessageId::new(args.message_id))?;

        let gmail = &context.gmail;
        let id = &id;
        let message = context
            .with_google(|credentials| async move {
                gmail
                    .get_message(&credentials.access_token, id, &MessageFormat::Full)
                    .await
            })
            .await
            .map_err(|error| {
                error.explain_not_found(|| {
                    format!("message {id} (find ids with gmail_search_messages)")
                })
            })?;

        let max_chars = args.max_chars.unwrap_or(DEFAULT_MAX_CHARS) as usize;
        Ok(MessageDetail::build(
            message,
            args.offset.unwrap_or(0) as usize,
            max_chars,
        ))
    }
}

impl MessageDetail {
    fn build(message: Message, offset: usize, max_chars: usize) -> Self {
        let envelope = Envelope::of(&message);
        let content = message
            .payload
            .as_ref()
            .map(mail_content::extract)
            .unwrap_or_default();
        let window = cut_chars(&content.body, offset, max_chars);

        Self {
            message_id_header: message.header("Message-ID").map(str::to_owned),
            id: message.id,
            thread_id: message.thread_id,
            from: envelope.from,
            to: envelope.to,
            cc: envelope.cc,
            subject: envelope.subject,
            date: envelope.date,
            labels: message.label_ids,
            body: window.text,
            body_from_html: content.from_html,
            body_offset: offset.min(window.total_chars),
            body_total_chars: window.total_chars,
            truncated: window.next_offset.is_some(),
            next_offset: window.next_offset,
            attachments: content
                .attachments
                .into_iter()
                .map(AttachmentSummary::from)
                .collect(),
        }
    }

    fn render_headers(&self, out: &mut String) {
        let mut field = |name: &str, value: &Option<String>| {
            if let Some(value) = value {
                out.push_str(&format!("{name}: {value}\n"));
            }
        };
        field("From", &self.from);
        field("To", &self.to);
        field("Cc", &self.cc);
        field("Date", &self.date);
        field("Subject", &self.subject);
    }
}

impl Render for MessageDetail {
    fn render_text(&self) -> String {
        let mut out = format!("Message {} (thread {})\n", self.id, self.thread_id);
        self.render_headers(&mut out);
        if !self.labels.is_empty() {
            out.push_str(&format!("Labels: {}\n", self.labels.join(", ")));
        }
        out.push('\n');

        if self.body_total_chars == 0 {
            out.push_str("(no text body)\n");
        } else if self.body.is_empty() {
            out.push_str(&format!(
                "[offset is past the end: the body has {} characters]\n",
                self.body_total_chars
            ));
        } else if self.body_offset > 0 {
            out.push_str(&format!("[body from character {}]\n", self.body_offset));
        }
        out.push_str(self.body.trim_end());
        out.push('\n');
        if let Some(next) = self.next_offset {
            out.push_str(&format!(
                "[… body cut at character {next} of {}. To read on, call gmail_get_message with message_id \"{}\" and offset {next}.]\n",
                self.body_total_chars, self.id
            ));
        }

        if !self.attachments.is_empty() {
            out.push('\n');
        }
        render_attachments(&mut out, &self.attachments);
        out.trim_end().to_owned()
    }
}

pub(crate) struct GetThread;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct GetThreadArgs {
    /// Thread id from gmail_search_messages or gmail_get_message.
    thread_id: String,
    /// Body characters per message (100-20000, default 2000).
    #[schemars(range(min = 100, max = 20000))]
    max_chars_per_message: Option<u32>,
}

impl Validate for GetThreadArgs {
    fn validate(&self) -> Result<(), (&'static str, String)> {
        check_range(
            "max_chars_per_message",
            self.max_chars_per_message,
            MIN_MAX_CHARS,
            MAX_THREAD_CHARS,
        )
    }
}

/// A conversation, oldest message first.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct ThreadDetail {
    id: String,
    messages: Vec<MessageDetail>,
}

#[async_trait]
impl Tool for GetThread {
    type Args = GetThreadArgs;
    type Output = ThreadDetail;

    const NAME: &'static str = "gmail_get_thread";
    const TITLE: &'static str = "Read a Gmail thread";
    const DESCRIPTION: &'static str = "Read a whole Gmail conversation, oldest message first, each with headers, plain-text body (cut at max_chars_per_message) and attachments. Read a cut body in full with gmail_get_message.";
    const ANNOTATIONS: ToolAnnotations = ToolAnnotations::READ_ONLY;
    const ACCESS: RequiredAccess = RequiredAccess::Gmail(GmailAccess::Read);

    async fn run(
        &self,
        context: &ToolContext,
        args: Self::Args,
    ) -> Result<Self::Output, ToolError> {
        let id = parse_id(Self::NAME, "thread_id", || ThreadId::new(args.thread_id))?;

        let gmail = &context.gmail;
        let id = &id;
        let thread = context
            .with_google(|credentials| async move {
                gmail
                    .get_thread(&credentials.access_token, id, &MessageFormat::Full)
                    .await
            })
            .await
            .map_err(|error| {
                error.explain_not_found(|| {
                    format!("thread {id} (find ids with gmail_search_messages)")
                })
            })?;

        let max_chars = args.max_chars_per_message.unwrap_or(DEFAULT_THREAD_CHARS) as usize;
        let messages = thread
            .messages
            .into_iter()
            .map(|message| MessageDetail::build(message, 0, max_chars))
            .collect();
        Ok(ThreadDetail {
            id: thread.id,
            messages,
        })
    }
}

impl Render for ThreadDetail {
    fn render_text(&self) -> String {
        let mut out = format!(
            "Thread {} with {} message(s)\n",
            self.id,
            self.messages.len()
        );
        for (index, message) in self.messages.iter().enumerate() {
            out.push_str(&format!(
                "\n--- {}/{}: message {}\n",
                index + 1,
                self.messages.len(),
                message.id
            ));
            message.render_headers(&mut out);
            out.push('\n');
            out.push_str(if message.body_total_chars == 0 {
                "(no text body)"
            } else {
                &message.body
            });
            out.push('\n');
            if message.truncated {
                out.push_str(&format!(
                    "[… cut at {} of {} characters; gmail_get_message with message_id \"{}\" reads it all.]\n",
                    message.body.chars().count(),
                    message.body_total_chars,
                    message.id
                ));
            }
            render_attachments(&mut out, &message.attachments);
        }
        out.trim_end().to_owned()
    }
}

pub(crate) struct ListLabels;

/// No arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NoArgs {}

impl Validate for NoArgs {}

/// The mailbox's labels.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct LabelList {
    labels: Vec<LabelSummary>,
}

/// One label.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct LabelSummary {
    /// The id, used in label ids of messages.
    id: String,
    /// The name, used in `label:` searches.
    name: String,
    /// `system` or `user`.
    #[serde(rename = "type")]
    label_type: Option<String>,
}

#[async_trait]
impl Tool for ListLabels {
    type Args = NoArgs;
    type Output = LabelList;

    const NAME: &'static str = "gmail_list_labels";
    const TITLE: &'static str = "List Gmail labels";
    const DESCRIPTION: &'static str = "List the user's Gmail labels, system (INBOX, SENT, UNREAD, ...) and user-made, with id, name and type. Search a label with `label:NAME` in gmail_search_messages.";
    const ANNOTATIONS: ToolAnnotations = ToolAnnotations::READ_ONLY;
    const ACCESS: RequiredAccess = RequiredAccess::Gmail(GmailAccess::Read);

    async fn run(
        &self,
        context: &ToolContext,
        _args: Self::Args,
    ) -> Result<Self::Output, ToolError> {
        let gmail = &context.gmail;
        let mut labels = context
            .with_google(
                |credentials| async move { gmail.list_labels(&credentials.access_token).await },
            )
            .await?;

        // System labels first, then user labels by name, as Gmail's sidebar shows them.
        labels.sort_by(|a, b| {
            let rank = |label_type: &Option<String>| label_type.as_deref() != Some("system");
            (rank(&a.label_type), a.name.to_lowercase())
                .cmp(&(rank(&b.label_type), b.name.to_lowercase()))
        });
        let labels = labels
            .into_iter()
            .map(|label| LabelSummary {
                id: label.id,
                name: label.name,
                label_type: label.label_type,
            })
            .collect();
        Ok(LabelList { labels })
    }
}

impl Render for LabelList {
    fn render_text(&self) -> String {
        let mut out = format!("{} label(s):\n", self.labels.len());
        for label in &self.labels {
            let kind = label.label_type.as_deref().unwrap_or("user");
            if label.id == label.name {
                out.push_str(&format!("- {} ({kind})\n", label.name));
            } else {
                out.push_str(&format!("- {} (id {}, {kind})\n", label.name, label.id));
            }
        }
        out.trim_end().to_owned()
    }
}
