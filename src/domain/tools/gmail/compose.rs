//! The parts the tools that write mail share (message arguments, attachments from the
//! upload folder, the recipient allowlist, the result), and `gmail_create_draft`.

use std::path::{Component, Path};

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::attachment::resolve_inside;
use crate::domain::access::{GmailAccess, RequiredAccess};
use crate::domain::mail_compose::{
    Attachment, ComposeError, Composition, EmailAddress, MAX_MESSAGE_BYTES, check_file_name,
    domain_of, mebibytes, mime_type_for, size_limit_text,
};
use crate::domain::models::gmail::{Draft, Message, OutgoingMessage};
use crate::domain::tools::definition::Validate;
use crate::domain::tools::{Render, Tool, ToolAnnotations, ToolContext, ToolError, ToolSettings};

/// The maximum number of recipients in each of `to`, `cc` and `bcc`, a bound against
/// runaway arguments. Gmail's own per-message limit is left for Gmail to enforce.
const MAX_RECIPIENTS: usize = 500;

// The arguments of a new message. Doc comments on argument types become schema
// descriptions in `tools/list`, read into the model's context, so they are kept short.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MessageArgs {
    /// `a@x.org` or `Ann <a@x.org>`.
    pub(crate) to: Option<Vec<String>>,
    /// Cc recipients.
    pub(crate) cc: Option<Vec<String>>,
    /// Bcc recipients.
    pub(crate) bcc: Option<Vec<String>>,
    /// Reply-To.
    pub(crate) reply_to: Option<String>,
    /// Subject.
    pub(crate) subject: Option<String>,
    /// Plain text.
    pub(crate) body: Option<String>,
    /// HTML version of `body`.
    pub(crate) html_body: Option<String>,
    /// Files in HUB_UPLOAD_DIR.
    pub(crate) attachments: Option<Vec<String>>,
}

impl Validate for MessageArgs {
    fn validate(&self) -> Result<(), (&'static str, String)> {
        check_count("to", &self.to)?;
        check_count("cc", &self.cc)?;
        check_count("bcc", &self.bcc)
    }
}

pub(super) fn check_count(
    field: &'static str,
    list: &Option<Vec<String>>,
) -> Result<(), (&'static str, String)> {
    let count = list.as_ref().map_or(0, Vec::len);
    if count > MAX_RECIPIENTS {
        return Err((
            field,
            format!("{count} recipients is too many; the limit is {MAX_RECIPIENTS}"),
        ));
    }
    Ok(())
}

impl MessageArgs {
    /// Checks the addresses and header values and reads the attachments.
    ///
    /// # Errors
    ///
    /// [`ToolError::InvalidArguments`] naming the field, or [`ToolError::Rejected`] for an
    /// attachment that cannot be read.
    pub(super) async fn compose(
        self,
        tool: &'static str,
        settings: &ToolSettings,
    ) -> Result<Composition, ToolError> {
        let composition = Composition {
            to: parse_addresses(tool, "to", &self.to.unwrap_or_default())?,
            cc: parse_addresses(tool, "cc", &self.cc.unwrap_or_default())?,
            bcc: parse_addresses(tool, "bcc", &self.bcc.unwrap_or_default())?,
            reply_to: self
                .reply_to
                .iter()
                .map(|value| {
                    EmailAddress::parse("reply_to", value)
                        .map_err(|error| compose_error(tool, error))
                })
                .collect::<Result<_, _>>()?,
            subject: self.subject.unwrap_or_default(),
            text_body: self.body.unwrap_or_default(),
            html_body: self.html_body,
            attachments: read_attachments(tool, settings, &self.attachments.unwrap_or_default())
                .await?,
            in_reply_to: None,
            references: Vec::new(),
            message_id_domain: None,
        };
        composition
            .validate()
            .map_err(|error| compose_error(tool, error))?;
        Ok(composition)
    }
}

/// Parses a list of addresses, naming the entry at fault (`to[2]`).
///
/// # Errors
///
/// [`ToolError::InvalidArguments`].
pub(super) fn parse_addresses(
    tool: &'static str,
    field: &str,
    values: &[String],
) -> Result<Vec<EmailAddress>, ToolError> {
    values
        .iter()
        .enumerate()
        .map(|(index, value)| {
            EmailAddress::parse(&format!("{field}[{index}]"), value)
                .map_err(|error| compose_error(tool, error))
        })
        .collect()
}

/// Maps a composition problem: bad input is the caller's to fix, size a request to change.
pub(super) fn compose_error(tool: &'static str, error: ComposeError) -> ToolError {
    match error {
        ComposeError::TooLarge { .. } => ToolError::Rejected(error.to_string()),
        ComposeError::Write(message) => ToolError::Internal(message),
        other => ToolError::InvalidArguments {
            tool,
            message: other.to_string(),
        },
    }
}

/// Reads the files to attach, each checked to lie inside the upload folder. The file's
/// name is the attachment's name, and its MIME type is guessed from the extension.
///
/// # Errors
///
/// [`ToolError::InvalidArguments`] for a path with `..` or a root; [`ToolError::Rejected`]
/// for a missing file, one outside the folder, or files past Gmail's size limit.
pub(super) async fn read_attachments(
    tool: &'static str,
    settings: &ToolSettings,
    paths: &[String],
) -> Result<Vec<Attachment>, ToolError> {
    let mut attachments = Vec::with_capacity(paths.len());
    let mut total: u64 = 0;
    for (index, path) in paths.iter().enumerate() {
        let field = format!("attachments[{index}]");

        let relative = Path::new(path);
        let plain = !path.is_empty()
            && relative
                .components()
                .all(|component| matches!(component, Component::Normal(_) | Component::CurDir));
        if !plain {
            return Err(ToolError::InvalidArguments {
                tool,
                message: format!(
                    "field `{field}`: {path:?} must be a path inside the upload folder, without `..` or a leading `/`"
                ),
            });
        }

        let budget = (MAX_MESSAGE_BYTES as u64).saturating_sub(total);
        let data = read_upload(&settings.upload_dir, relative, budget)
            .await
            .map_err(|message| ToolError::Rejected(format!("{field}: {message}")))?;
        total += data.len() as u64;

        let filename = relative
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        check_file_name(&field, &filename).map_err(|error| compose_error(tool, error))?;
        attachments.push(Attachment {
            mime_type: mime_type_for(&filename).to_owned(),
            filename,
            data,
        });
    }
    Ok(attachments)
}

/// Reads one regular file under `root`, at most `budget` bytes.
async fn read_upload(root: &Path, relative: &Path, budget: u64) -> Result<Vec<u8>, String> {
    let path = root.join(relative);
    let resolved = resolve_inside(root, &path).await.map_err(|error| {
        format!(
            "{} cannot be attached: {error}; put the file in the upload folder {}",
            relative.display(),
            root.display()
        )
    })?;

    let metadata = tokio::fs::metadata(&resolved)
        .await
        .map_err(|error| format!("{} cannot be read: {error}", relative.display()))?;
    if !metadata.is_file() {
        return Err(format!("{} is not a regular file", relative.display()));
    }
    if metadata.len() > budget {
        return Err(format!(
            "{} is {}, so the files alone pass {}; attach fewer or smaller files",
            relative.display(),
            mebibytes(metadata.len()),
            size_limit_text()
        ));
    }
    tokio::fs::read(&resolved)
        .await
        .map_err(|error| format!("{} cannot be read: {error}", relative.display()))
}

/// Checks that a message to be sent has a recipient, and that every recipient is on the
/// allowlist (`HUB_ALLOWED_RECIPIENTS`).
///
/// # Errors
///
/// [`ToolError::InvalidArguments`] when there is no recipient, and
/// [`ToolError::NotPermitted`] naming the field of the first recipient not allowed.
pub(super) fn check_recipients(
    tool: &'static str,
    settings: &ToolSettings,
    composition: &Composition,
) -> Result<(), ToolError> {
    if composition.to.is_empty() && composition.cc.is_empty() && composition.bcc.is_empty() {
        return Err(ToolError::InvalidArguments {
            tool,
            message: "a message to send needs at least one recipient in `to`, `cc` or `bcc`"
                .to_owned(),
        });
    }
    let lists: [(&'static str, &[EmailAddress]); 3] = [
        ("to", &composition.to),
        ("cc", &composition.cc),
        ("bcc", &composition.bcc),
    ];
    for (field, list) in lists {
        for address in list {
            settings.recipients.check(field, &address.address)?;
        }
    }
    Ok(())
}

/// Builds the message bytes, with a Message-ID in the sender's domain. The domain comes
/// from `users.getProfile` unless the composition has it already.
///
/// # Errors
///
/// As [`compose_error`] maps them.
pub(super) async fn build(
    context: &ToolContext,
    tool: &'static str,
    composition: &mut Composition,
    thread_id: Option<crate::domain::models::ThreadId>,
) -> Result<OutgoingMessage, ToolError> {
    if composition.message_id_domain.is_none() {
        composition.message_id_domain = sender_domain(context).await;
    }
    let raw = composition
        .build()
        .map_err(|error| compose_error(tool, error))?;
    Ok(OutgoingMessage { raw, thread_id })
}

/// Returns the domain of the user's address from `users.getProfile`. A failed request
/// gives `None`, so the Message-ID ends in `localhost`: that is no reason to fail a write.
async fn sender_domain(context: &ToolContext) -> Option<String> {
    let gmail = &context.gmail;
    let profile = context
        .with_google(
            |credentials| async move { gmail.get_profile(&credentials.access_token).await },
        )
        .await;
    match profile {
        Ok(profile) => domain_of(&profile.email_address),
        Err(error) => {
            tracing::warn!(%error, "could not read the user's address for the Message-ID");
            None
        }
    }
}

/// The effect of a tool that wrote mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum MailOutcome {
    /// The message was sent.
    Sent,
    /// A new draft was saved.
    DraftCreated,
    /// An existing draft got new content.
    DraftUpdated,
}

/// The message a tool sent or saved. Recipients, subject and attachment names appear in
/// the text rendering only, which keeps the output schema in `tools/list` small.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct MailResult {
    /// What happened.
    pub(crate) outcome: MailOutcome,
    pub(crate) message_id: String,
    pub(crate) thread_id: String,
    /// Absent for sent mail.
    pub(crate) draft_id: Option<String>,
    pub(crate) label_ids: Vec<String>,
    #[serde(skip)]
    #[schemars(skip)]
    pub(crate) to: Vec<String>,
    #[serde(skip)]
    #[schemars(skip)]
    pub(crate) cc: Vec<String>,
    #[serde(skip)]
    #[schemars(skip)]
    pub(crate) bcc: Vec<String>,
    #[serde(skip)]
    #[schemars(skip)]
    pub(crate) subject: String,
    #[serde(skip)]
    #[schemars(skip)]
    pub(crate) attachments: Vec<String>,
}

impl MailResult {
    pub(super) fn new(
        outcome: MailOutcome,
        message: &Message,
        draft_id: Option<String>,
        composition: &Composition,
    ) -> Self {
        let list = |addresses: &[EmailAddress]| addresses.iter().map(ToString::to_string).collect();
        Self {
            outcome,
            message_id: message.id.clone(),
            thread_id: message.thread_id.clone(),
            draft_id,
            label_ids: message.label_ids.clone(),
            to: list(&composition.to),
            cc: list(&composition.cc),
            bcc: list(&composition.bcc),
            subject: composition.subject.clone(),
            attachments: composition
                .attachments
                .iter()
                .map(|attachment| attachment.filename.clone())
                .collect(),
        }
    }

    pub(super) fn from_draft(
        outcome: MailOutcome,
        draft: &Draft,
        composition: &Composition,
    ) -> Self {
        let message = draft.message.clone().unwrap_or_default();
        Self::new(outcome, &message, Some(draft.id.clone()), composition)
    }
}

impl Render for MailResult {
    fn render_text(&self) -> String {
        let (message, thread) = (&self.message_id, &self.thread_id);
        let mut out = match (self.outcome, &self.draft_id) {
            (MailOutcome::Sent, _) => format!("Sent message {message} in thread {thread}.\n"),
            (MailOutcome::DraftCreated, Some(draft)) => format!(
                "Saved draft {draft} (message {message}, thread {thread}); it is not sent.\n"
            ),
            (MailOutcome::DraftUpdated, Some(draft)) => format!(
                "Updated draft {draft} (now message {message}, thread {thread}); it is not sent.\n"
            ),
            (_, None) => format!("Saved message {message} in thread {thread}.\n"),
        };
        for (name, list) in [("To", &self.to), ("Cc", &self.cc), ("Bcc", &self.bcc)] {
            if !list.is_empty() {
                out.push_str(&format!("{name}: {}\n", list.join(", ")));
            }
        }
        out.push_str(&format!("Subject: {}\n", self.subject));
        if !self.attachments.is_empty() {
            out.push_str(&format!("Attachments: {}\n", self.attachments.join(", ")));
        }
        if !self.label_ids.is_empty() {
            out.push_str(&format!("Labels: {}\n", self.label_ids.join(", ")));
        }
        out.trim_end().to_owned()
    }
}

pub(crate) fn invalid_id(
    tool: &'static str,
    field: &str,
    error: crate::domain::models::InvalidId,
) -> ToolError {
    ToolError::InvalidArguments {
        tool,
        message: format!("field `{field}`: {error}"),
    }
}

pub(crate) struct CreateDraft;

#[async_trait]
impl Tool for CreateDraft {
    type Args = MessageArgs;
    type Output = MailResult;

    const NAME: &'static str = "gmail_create_draft";
    const TITLE: &'static str = "Save a draft";
    const DESCRIPTION: &'static str =
        "Save a new email as a Gmail draft, unsent. Recipients may be empty. Returns the draft id.";
    const ANNOTATIONS: ToolAnnotations = ToolAnnotations::ADDITIVE;
    const ACCESS: RequiredAccess = RequiredAccess::Gmail(GmailAccess::Draft);

    async fn run(
        &self,
        context: &ToolContext,
        args: Self::Args,
    ) -> Result<Self::Output, ToolError> {
        let mut composition = args.compose(Self::NAME, context.settings()).await?;
        let outgoing = build(context, Self::NAME, &mut composition, None).await?;

        let gmail = &context.gmail;
        let outgoing = &outgoing;
        let draft = context
            .with_google(|credentials| async move {
                gmail
                    .create_draft(&credentials.access_token, outgoing)
                    .await
            })
            .await?;
        tracing::info!(draft_id = %draft.id, "created a draft");

        Ok(MailResult::from_draft(
            MailOutcome::DraftCreated,
            &draft,
            &composition,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(outcome: MailOutcome, draft_id: Option<&str>) -> MailResult {
        MailResult {
            outcome,
            message_id: "m1".to_owned(),
            thread_id: "t1".to_owned(),
            draft_id: draft_id.map(str::to_owned),
            label_ids: vec!["DRAFT".to_owned()],
            to: vec!["Ann <ann@example.org>".to_owned()],
            cc: Vec::new(),
            bcc: vec!["b@example.org".to_owned()],
            subject: "Plan".to_owned(),
            attachments: vec!["plan.pdf".to_owned()],
        }
    }

    #[test]
    fn render_states_outcome_and_ids() {
        assert_eq!(
            result(MailOutcome::DraftCreated, Some("r1")).render_text(),
            "Saved draft r1 (message m1, thread t1); it is not sent.\n\
             To: Ann <ann@example.org>\nBcc: b@example.org\nSubject: Plan\n\
             Attachments: plan.pdf\nLabels: DRAFT"
        );
        assert!(
            result(MailOutcome::Sent, None)
                .render_text()
                .starts_with("Sent message m1 in thread t1.\n")
        );
        assert!(
            result(MailOutcome::DraftUpdated, Some("r1"))
                .render_text()
                .starts_with("Updated draft r1 (now message m1, thread t1)")
        );
    }

    #[test]
    fn structured_result_omits_text_only_fields() {
        let json = serde_json::to_value(result(MailOutcome::Sent, None)).unwrap();
        assert_eq!(json["outcome"], "sent");
        assert_eq!(json["message_id"], "m1");
        assert!(json.get("to").is_none(), "{json}");
        assert!(json.get("subject").is_none(), "{json}");
    }
}
