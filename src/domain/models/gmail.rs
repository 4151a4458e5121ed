//! Gmail v1 resources, in the JSON shape of Google's discovery document `gmail.v1`.
//!
//! Only the fields the hub reads or the sandbox serves are modelled; unknown fields in a
//! response are ignored.

use serde::{Deserialize, Serialize};

use super::ThreadId;

/// `Message`: an email as `users.messages.get` returns it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    /// The immutable message id.
    pub id: String,
    /// The id of the thread the message belongs to.
    #[serde(default)]
    pub thread_id: String,
    /// The ids of the labels on the message, such as `INBOX` or `UNREAD`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub label_ids: Vec<String>,
    /// A short plain-text excerpt of the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snippet: Option<String>,
    /// The mailbox history record that last changed the message (uint64 as a string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history_id: Option<String>,
    /// When Gmail received the message, in milliseconds since the Unix epoch.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "super::int64"
    )]
    pub internal_date: Option<i64>,
    /// The parsed MIME tree, present in the `full` and `metadata` formats.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<MessagePart>,
    /// The estimated size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_estimate: Option<i64>,
    /// The whole RFC 5322 message as base64url, present only in the `raw` format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
}

impl Message {
    /// Returns the first top-level header with this name, compared without case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.payload
            .as_ref()
            .and_then(|payload| payload.header(name))
    }
}

/// `MessagePart`: one node of a message's MIME tree.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessagePart {
    /// The part's position in the tree: empty for the root, then `0`, `1`, `1.0`, ...
    #[serde(default)]
    pub part_id: String,
    /// The MIME type, such as `text/plain` or `multipart/alternative`.
    #[serde(default)]
    pub mime_type: String,
    /// The file name of an attachment part, empty otherwise.
    #[serde(default)]
    pub filename: String,
    /// The part's headers in their original order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<MessagePartHeader>,
    /// The part's content, or a reference to it for attachments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<MessagePartBody>,
    /// The child parts of a `multipart/*` part.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<MessagePart>,
}

impl MessagePart {
    /// Returns the first header with this name, compared without case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|header| header.name.eq_ignore_ascii_case(name))
            .map(|header| header.value.as_str())
    }
}

/// `MessagePartHeader`: one header line.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MessagePartHeader {
    /// The header name, such as `Subject`.
    #[serde(default)]
    pub name: String,
    /// The header value.
    #[serde(default)]
    pub value: String,
}

/// `MessagePartBody`: a part's content, also the response of `users.messages.attachments.get`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessagePartBody {
    /// The id to fetch the content with, set when the content is not inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment_id: Option<String>,
    /// The content size in bytes.
    #[serde(default)]
    pub size: i64,
    /// The content as base64url, with or without padding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
}

/// A message reference in `ListMessagesResponse`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageRef {
    /// The message id.
    pub id: String,
    /// The thread id.
    #[serde(default)]
    pub thread_id: String,
}

/// `ListMessagesResponse`: one page of `users.messages.list`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListMessagesResponse {
    /// The messages on this page; Google omits the field when nothing matches.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<MessageRef>,
    /// The token for the next page, absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
    /// Google's estimate of the total number of matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_size_estimate: Option<u32>,
}

/// `Thread`: a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Thread {
    /// The thread id.
    pub id: String,
    /// A short excerpt of the last message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snippet: Option<String>,
    /// The last history record that changed the thread (uint64 as a string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history_id: Option<String>,
    /// The messages, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<Message>,
}

/// `Label`: a system or user label.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Label {
    /// The label id, such as `INBOX` or `Label_12`.
    pub id: String,
    /// The display name.
    #[serde(default)]
    pub name: String,
    /// `system` or `user`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub label_type: Option<String>,
    /// The number of messages with the label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages_total: Option<i64>,
    /// The number of unread messages with the label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages_unread: Option<i64>,
    /// The number of threads with the label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads_total: Option<i64>,
    /// The number of unread threads with the label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads_unread: Option<i64>,
}

/// `ListLabelsResponse`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ListLabelsResponse {
    /// Every label in the mailbox.
    #[serde(default)]
    pub labels: Vec<Label>,
}

/// The `format` parameter of `users.messages.get` and `users.threads.get`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageFormat {
    /// The whole MIME tree with inline bodies.
    Full,
    /// Ids, labels and the named headers only; every header when the list is empty.
    Metadata(Vec<String>),
}

/// The parameters of `users.messages.list`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MessageListQuery {
    /// Gmail search syntax, as typed in the Gmail search box.
    pub query: Option<String>,
    /// The page size, 1 to 500.
    pub max_results: u32,
    /// A `nextPageToken` from the previous page.
    pub page_token: Option<String>,
    /// Only messages with all of these label ids.
    pub label_ids: Vec<String>,
    /// Whether to include SPAM and TRASH.
    pub include_spam_trash: bool,
}

/// A message to send or store as a draft: the RFC 5322 bytes and the thread it joins.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OutgoingMessage {
    /// The whole message; the adapter sends it base64url-encoded as `raw`.
    pub raw: Vec<u8>,
    /// The thread the message belongs to, for replies. Gmail also needs matching
    /// `In-Reply-To`/`References` headers and subject to keep it in the thread.
    pub thread_id: Option<ThreadId>,
}

/// `Draft`: an unsent message.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Draft {
    /// The immutable draft id.
    pub id: String,
    /// The draft's message. `drafts.list` sets only its `id` and `threadId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Message>,
}

/// `ListDraftsResponse`: one page of `users.drafts.list`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListDraftsResponse {
    /// The drafts on this page; Google omits the field when there are none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drafts: Vec<Draft>,
    /// The token for the next page, absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
    /// Google's estimate of the total number of drafts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_size_estimate: Option<u32>,
}

/// The parameters of `users.drafts.list`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DraftListQuery {
    /// Gmail search syntax, applied to the drafts' messages.
    pub query: Option<String>,
    /// The page size, 1 to 500; zero leaves Gmail's default of 100.
    pub max_results: u32,
    /// A `nextPageToken` from the previous page.
    pub page_token: Option<String>,
    /// Whether to include drafts in SPAM and TRASH.
    pub include_spam_trash: bool,
}

/// Label ids to add to and remove from messages: the body of `users.messages.modify`
/// (`ModifyMessageRequest`) without the message ids, which `batchModify` adds.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelChanges {
    /// Label ids to add.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add_label_ids: Vec<String>,
    /// Label ids to remove.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove_label_ids: Vec<String>,
}

/// The fields of a new label for `users.labels.create`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewLabel {
    /// The display name; `/` nests it under another label, as in `Projects/Hub`.
    pub name: String,
    /// `labelShow`, `labelShowIfUnread` or `labelHide`; Gmail's default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_list_visibility: Option<String>,
    /// `show` or `hide`; Gmail's default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_list_visibility: Option<String>,
}

/// `Profile`: the account `users.getProfile` describes.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    /// The account's email address.
    pub email_address: String,
    /// The number of messages in the mailbox.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages_total: Option<i64>,
    /// The number of threads in the mailbox.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads_total: Option<i64>,
    /// The mailbox's current history record (uint64 as a string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history_id: Option<String>,
}
