//! `gmail_reply` and `gmail_forward`: a new message built from an existing one, saved as a
//! draft or, with `send: true`, sent.

use std::collections::HashSet;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;

use super::compose::{
    MailOutcome, MailResult, build, check_count, check_recipients, compose_error, invalid_id,
    parse_addresses, read_attachments,
};
use crate::domain::access::{GmailAccess, RequiredAccess};
use crate::domain::mail_compose::{
    Attachment, Composition, EmailAddress, MAX_MESSAGE_BYTES, domain_of, mebibytes,
    message_id_value, parse_address_list, prefixed_subject, size_limit_text,
};
use crate::domain::mail_content;
use crate::domain::models::gmail::{Message, MessageFormat, MessagePart};
use crate::domain::models::{AttachmentId, MessageId, ThreadId};
use crate::domain::tools::definition::Validate;
use crate::domain::tools::{Tool, ToolAnnotations, ToolContext, ToolError};

/// The headers a reply needs from the original.
const REPLY_HEADERS: [&str; 7] = [
    "From",
    "Reply-To",
    "To",
    "Cc",
    "Subject",
    "Message-ID",
    "References",
];

/// Rejects `send: true` below the `send` access level. The dispatcher lists these tools
/// at the `draft` level, where only their draft mode is allowed.
fn check_send_allowed(context: &ToolContext, tool: &'static str) -> Result<(), ToolError> {
    let required = RequiredAccess::Gmail(GmailAccess::Send);
    if context.settings().access.allows(required) {
        return Ok(());
    }
    Err(ToolError::NotPermitted(format!(
        "{tool} with send: true needs HUB_GMAIL_ACCESS=send, and this hub is configured below it; call again without send to save a draft the user can send from Gmail"
    )))
}

/// Sends the message or saves it as a draft.
async fn send_or_save(
    context: &ToolContext,
    tool: &'static str,
    composition: &mut Composition,
    thread_id: Option<ThreadId>,
    send: bool,
) -> Result<MailResult, ToolError> {
    let outgoing = build(context, tool, composition, thread_id).await?;
    let composition = &*composition;
    let gmail = &context.gmail;
    let outgoing = &outgoing;

    if send {
        let message = context
            .with_google(|credentials| async move {
                gmail
                    .send_message(&credentials.access_token, outgoing)
                    .await
            })
            .await?;
        tracing::info!(tool, message_id = %message.id, "sent a message");
        return Ok(MailResult::new(
            MailOutcome::Sent,
            &message,
            None,
            composition,
        ));
    }

    let draft = context
        .with_google(|credentials| async move {
            gmail
                .create_draft(&credentials.access_token, outgoing)
                .await
        })
        .await?;
    tracing::info!(tool, draft_id = %draft.id, "created a draft");
    Ok(MailResult::from_draft(
        MailOutcome::DraftCreated,
        &draft,
        composition,
    ))
}

async fn fetch_original(
    context: &ToolContext,
    id: &MessageId,
    format: &MessageFormat,
) -> Result<Message, ToolError> {
    let gmail = &context.gmail;
    context
        .with_google(|credentials| async move {
            gmail
                .get_message(&credentials.access_token, id, format)
                .await
        })
        .await
        .map_err(|error| {
            error
                .explain_not_found(|| format!("message {id} (find ids with gmail_search_messages)"))
        })
}

/// Returns a header as Gmail returns it, RFC 2047 encoded words already decoded. Decoding
/// again would turn a subject typed as `=?UTF-8?B?...?=` into other text.
fn decoded_header(message: &Message, name: &str) -> Option<String> {
    message.header(name).map(str::to_owned)
}

pub(crate) struct Reply;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReplyArgs {
    /// Message to reply to.
    message_id: String,
    /// Plain text.
    body: Option<String>,
    /// HTML version of `body`.
    html_body: Option<String>,
    /// Reply to all.
    reply_all: Option<bool>,
    /// More Cc.
    cc: Option<Vec<String>>,
    /// Files in HUB_UPLOAD_DIR.
    attachments: Option<Vec<String>>,
    /// Send, not draft; needs send access.
    send: Option<bool>,
}

impl Validate for ReplyArgs {
    fn validate(&self) -> Result<(), (&'static str, String)> {
        check_count("cc", &self.cc)
    }
}

#[async_trait]
impl Tool for Reply {
    type Args = ReplyArgs;
    type Output = MailResult;

    const NAME: &'static str = "gmail_reply";
    const TITLE: &'static str = "Reply to a message";
    const DESCRIPTION: &'static str = "Reply in the thread to the sender, or to all but the user; saves a draft unless send is true.";
    const ANNOTATIONS: ToolAnnotations = ToolAnnotations::DESTRUCTIVE;
    const ACCESS: RequiredAccess = RequiredAccess::Gmail(GmailAccess::Draft);

    async fn run(
        &self,
        context: &ToolContext,
        args: Self::Args,
    ) -> Result<Self::Output, ToolError> {
        let id = MessageId::new(args.message_id)
            .map_err(|error| invalid_id(Self::NAME, "message_id", error))?;
        let send = args.send.unwrap_or(false);
        if send {
            check_send_allowed(context, Self::NAME)?;
        }
        let extra_cc = parse_addresses(Self::NAME, "cc", &args.cc.unwrap_or_default())?;
        let attachments = read_attachments(
            Self::NAME,
            context.settings(),
            &args.attachments.unwrap_or_default(),
        )
        .await?;

        let format = MessageFormat::Metadata(
            REPLY_HEADERS
                .iter()
                .map(|name| (*name).to_owned())
                .collect(),
        );
        let original = fetch_original(context, &id, &format).await?;
        let own = own_address(context).await?;

        let (mut to, cc) =
            reply_recipients(&original, &own, args.reply_all.unwrap_or(false), extra_cc);
        // A note to self has no other recipient, so the reply goes back to the user.
        if to.is_empty() && cc.is_empty() {
            to = vec![own_mailbox(&original, &own)];
        }
        let original_id = decoded_header(&original, "Message-ID")
            .as_deref()
            .and_then(message_id_value);
        let mut references: Vec<String> = decoded_header(&original, "References")
            .map(|references| {
                references
                    .split_whitespace()
                    .filter_map(message_id_value)
                    .collect()
            })
            .unwrap_or_default();
        if let Some(original_id) = &original_id
            && !references.contains(original_id)
        {
            references.push(original_id.clone());
        }

        let mut composition = Composition {
            to,
            cc,
            message_id_domain: domain_of(&own),
            subject: prefixed_subject(
                "Re:",
                &["re:"],
                &decoded_header(&original, "Subject").unwrap_or_default(),
            ),
            text_body: args.body.unwrap_or_default(),
            html_body: args.html_body,
            attachments,
            in_reply_to: original_id,
            references,
            ..Composition::default()
        };
        composition
            .validate()
            .map_err(|error| compose_error(Self::NAME, error))?;
        check_recipients(Self::NAME, context.settings(), &composition)?;

        let thread_id = ThreadId::new(original.thread_id.clone()).ok();
        send_or_save(context, Self::NAME, &mut composition, thread_id, send).await
    }
}

/// Returns the account's own address, in lower case, from `users.getProfile`.
async fn own_address(context: &ToolContext) -> Result<String, ToolError> {
    let gmail = &context.gmail;
    let profile = context
        .with_google(
            |credentials| async move { gmail.get_profile(&credentials.access_token).await },
        )
        .await?;
    Ok(profile.email_address.to_lowercase())
}

/// Returns the user's own mailbox as the original's `From` or `To` names it, or the bare
/// address.
fn own_mailbox(original: &Message, own: &str) -> EmailAddress {
    ["From", "To"]
        .iter()
        .filter_map(|name| decoded_header(original, name))
        .flat_map(|value| parse_address_list(&value))
        .find(|address| address.key() == own)
        .unwrap_or_else(|| EmailAddress {
            name: None,
            address: own.to_owned(),
        })
}

/// Picks the recipients of a reply: `To` is the original's `Reply-To`, or its `From`, or
/// for the user's own message its `To`. Reply-all adds the original `To` and `Cc` as `Cc`.
/// The user's own address and duplicates are left out.
fn reply_recipients(
    original: &Message,
    own: &str,
    reply_all: bool,
    extra_cc: Vec<EmailAddress>,
) -> (Vec<EmailAddress>, Vec<EmailAddress>) {
    let header_list = |name: &str| {
        decoded_header(original, name)
            .map(|value| parse_address_list(&value))
            .unwrap_or_default()
    };
    let from = header_list("From");
    let original_to = header_list("To");
    let from_user = from.iter().any(|address| address.key() == own);

    let mut primary = header_list("Reply-To");
    if primary.is_empty() {
        primary = from;
    }
    if from_user {
        primary = original_to.clone();
    }

    let mut seen: HashSet<String> = HashSet::from([own.to_owned()]);
    let mut keep = |address: &EmailAddress| seen.insert(address.key());
    let to: Vec<EmailAddress> = primary
        .into_iter()
        .filter(|address| keep(address))
        .collect();

    let mut cc_candidates = Vec::new();
    if reply_all {
        cc_candidates.extend(original_to);
        cc_candidates.extend(header_list("Cc"));
    }
    cc_candidates.extend(extra_cc);
    let cc = cc_candidates
        .into_iter()
        .filter(|address| keep(address))
        .collect();
    (to, cc)
}

pub(crate) struct Forward;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ForwardArgs {
    /// Message to forward.
    message_id: String,
    /// `a@x.org` or `Ann <a@x.org>`.
    to: Option<Vec<String>>,
    /// Cc recipients.
    cc: Option<Vec<String>>,
    /// Bcc recipients.
    bcc: Option<Vec<String>>,
    /// A note above the original.
    body: Option<String>,
    /// More files in HUB_UPLOAD_DIR.
    attachments: Option<Vec<String>>,
    /// Send, not draft; needs send access.
    send: Option<bool>,
}

impl Validate for ForwardArgs {
    fn validate(&self) -> Result<(), (&'static str, String)> {
        check_count("to", &self.to)?;
        check_count("cc", &self.cc)?;
        check_count("bcc", &self.bcc)
    }
}

#[async_trait]
impl Tool for Forward {
    type Args = ForwardArgs;
    type Output = MailResult;

    const NAME: &'static str = "gmail_forward";
    const TITLE: &'static str = "Forward a message";
    const DESCRIPTION: &'static str = "Forward a Gmail message with its attachments and a note; saves a draft unless send is true.";
    const ANNOTATIONS: ToolAnnotations = ToolAnnotations::DESTRUCTIVE;
    const ACCESS: RequiredAccess = RequiredAccess::Gmail(GmailAccess::Draft);

    async fn run(
        &self,
        context: &ToolContext,
        args: Self::Args,
    ) -> Result<Self::Output, ToolError> {
        let id = MessageId::new(args.message_id)
            .map_err(|error| invalid_id(Self::NAME, "message_id", error))?;
        let send = args.send.unwrap_or(false);
        if send {
            check_send_allowed(context, Self::NAME)?;
        }
        let to = parse_addresses(Self::NAME, "to", &args.to.unwrap_or_default())?;
        let cc = parse_addresses(Self::NAME, "cc", &args.cc.unwrap_or_default())?;
        let bcc = parse_addresses(Self::NAME, "bcc", &args.bcc.unwrap_or_default())?;
        let extra = read_attachments(
            Self::NAME,
            context.settings(),
            &args.attachments.unwrap_or_default(),
        )
        .await?;

        let original = fetch_original(context, &id, &MessageFormat::Full).await?;
        let content = original
            .payload
            .as_ref()
            .map(mail_content::extract)
            .unwrap_or_default();
        let mut attachments =
            original_attachments(context, &original, &content.attachments).await?;
        attachments.extend(extra);

        let mut composition = Composition {
            to,
            cc,
            bcc,
            subject: prefixed_subject(
                "Fwd:",
                &["fwd:", "fw:"],
                &decoded_header(&original, "Subject").unwrap_or_default(),
            ),
            text_body: forwarded_text(&args.body.unwrap_or_default(), &original, &content.body),
            attachments,
            ..Composition::default()
        };
        composition
            .validate()
            .map_err(|error| compose_error(Self::NAME, error))?;
        // A draft may wait for its recipients; one that names some is checked now.
        if send || !composition.recipients().is_empty() {
            check_recipients(Self::NAME, context.settings(), &composition)?;
        }

        send_or_save(context, Self::NAME, &mut composition, None, send).await
    }
}

/// Writes the body of a forward: the note, then the original's headers and text, as mail
/// clients quote a forward.
fn forwarded_text(note: &str, original: &Message, original_text: &str) -> String {
    let mut text = String::new();
    if !note.is_empty() {
        text.push_str(note.trim_end());
        text.push_str("\n\n");
    }
    text.push_str("---------- Forwarded message ---------\n");
    for name in ["From", "Date", "Subject", "To", "Cc"] {
        if let Some(value) = decoded_header(original, name) {
            text.push_str(&format!("{name}: {value}\n"));
        }
    }
    text.push('\n');
    text.push_str(original_text);
    text
}

/// Fetches the original's attachments, so the forward carries them.
pub(super) async fn original_attachments(
    context: &ToolContext,
    original: &Message,
    listed: &[mail_content::AttachmentInfo],
) -> Result<Vec<Attachment>, ToolError> {
    let total: i64 = listed.iter().map(|info| info.size.max(0)).sum();
    if total as u64 > MAX_MESSAGE_BYTES as u64 {
        return Err(ToolError::Rejected(format!(
            "the original's attachments are {}, more than {}",
            mebibytes(total as u64),
            size_limit_text()
        )));
    }

    let message_id = MessageId::new(original.id.clone()).map_err(|error| {
        ToolError::Internal(format!("Gmail sent an invalid message id: {error}"))
    })?;
    let mut attachments = Vec::with_capacity(listed.len());
    for info in listed {
        let data = match &info.attachment_id {
            Some(attachment_id) => fetch_attachment(context, &message_id, attachment_id).await?,
            None => original
                .payload
                .as_ref()
                .and_then(|payload| inline_data(payload, &info.part_id))
                .unwrap_or_default(),
        };
        attachments.push(Attachment {
            filename: info.filename.clone(),
            mime_type: info.mime_type.clone(),
            data,
        });
    }
    Ok(attachments)
}

async fn fetch_attachment(
    context: &ToolContext,
    message_id: &MessageId,
    attachment_id: &str,
) -> Result<Vec<u8>, ToolError> {
    let attachment_id = AttachmentId::new(attachment_id).map_err(|error| {
        ToolError::Internal(format!("Gmail sent an invalid attachment id: {error}"))
    })?;
    let gmail = &context.gmail;
    let attachment_ref = &attachment_id;
    let body = context
        .with_google(|credentials| async move {
            gmail
                .get_attachment(&credentials.access_token, message_id, attachment_ref)
                .await
        })
        .await?;
    mail_content::decode_base64url(body.data.as_deref().unwrap_or_default()).map_err(|error| {
        ToolError::Rejected(format!(
            "Gmail sent attachment data that is not base64url: {error}"
        ))
    })
}

/// Returns the decoded `body.data` of the part with this id, for attachments Gmail sent
/// inline instead of by attachment id.
fn inline_data(part: &MessagePart, part_id: &str) -> Option<Vec<u8>> {
    if part.part_id == part_id {
        let data = part.body.as_ref()?.data.as_deref()?;
        return mail_content::decode_base64url(data).ok();
    }
    part.parts
        .iter()
        .find_map(|child| inline_data(child, part_id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::models::gmail::MessagePartHeader;

    fn message(headers: &[(&str, &str)]) -> Message {
        Message {
            id: "1".into(),
            payload: Some(MessagePart {
                headers: headers
                    .iter()
                    .map(|(name, value)| MessagePartHeader {
                        name: (*name).into(),
                        value: (*value).into(),
                    })
                    .collect(),
                ..MessagePart::default()
            }),
            ..Message::default()
        }
    }

    fn addresses(list: &[EmailAddress]) -> Vec<&str> {
        list.iter()
            .map(|address| address.address.as_str())
            .collect()
    }

    #[test]
    fn reply_goes_to_sender() {
        let original = message(&[
            ("From", "Ann <ann@example.com>"),
            ("To", "me@example.com, bob@example.com"),
        ]);
        let (to, cc) = reply_recipients(&original, "me@example.com", false, Vec::new());
        assert_eq!(addresses(&to), ["ann@example.com"]);
        assert!(cc.is_empty());
    }

    #[test]
    fn reply_prefers_reply_to() {
        let original = message(&[
            ("From", "ann@example.com"),
            ("Reply-To", "list@example.org"),
        ]);
        let (to, _) = reply_recipients(&original, "me@example.com", false, Vec::new());
        assert_eq!(addresses(&to), ["list@example.org"]);
    }

    #[test]
    fn reply_all_excludes_self_and_duplicates() {
        let original = message(&[
            ("From", "Ann <ann@example.com>"),
            (
                "To",
                "Me <ME@example.com>, bob@example.com, ANN@example.com",
            ),
            ("Cc", "carol@example.com, bob@example.com"),
        ]);
        let (to, cc) = reply_recipients(&original, "me@example.com", true, Vec::new());
        assert_eq!(addresses(&to), ["ann@example.com"]);
        assert_eq!(addresses(&cc), ["bob@example.com", "carol@example.com"]);
    }

    #[test]
    fn reply_to_own_message_goes_to_its_recipients() {
        let original = message(&[("From", "me@example.com"), ("To", "dan@example.com")]);
        let (to, _) = reply_recipients(&original, "me@example.com", false, Vec::new());
        assert_eq!(addresses(&to), ["dan@example.com"]);
    }

    #[test]
    fn note_to_self_reply_goes_to_user() {
        let original = message(&[
            ("From", "Me Myself <Me@example.com>"),
            ("To", "me@example.com"),
        ]);

        let (to, cc) = reply_recipients(&original, "me@example.com", true, Vec::new());
        assert!(to.is_empty());
        assert!(cc.is_empty());

        let own = own_mailbox(&original, "me@example.com");
        assert_eq!(own.name.as_deref(), Some("Me Myself"));
        assert_eq!(own.address, "Me@example.com");
        let bare = own_mailbox(&message(&[]), "me@example.com");
        assert_eq!(bare.name, None);
        assert_eq!(bare.address, "me@example.com");
    }

    #[test]
    fn forward_text_quotes_headers() {
        let original = message(&[
            ("From", "Ann <ann@example.com>"),
            ("Subject", "Plan"),
            ("Date", "Mon, 3 Mar 2025 10:00:00 +0000"),
        ]);
        let text = forwarded_text("FYI", &original, "the plan\n");
        assert_eq!(
            text,
            "FYI\n\n---------- Forwarded message ---------\nFrom: Ann <ann@example.com>\nDate: Mon, 3 Mar 2025 10:00:00 +0000\nSubject: Plan\n\nthe plan\n"
        );
    }
}
