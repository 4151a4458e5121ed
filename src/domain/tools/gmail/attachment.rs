//! `gmail_get_attachment`: fetches an attachment and saves it under the configured folder,
//! or returns a small one inline, so large base64 never floods the model's context.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use base64::Engine as _;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::human_size;
use crate::domain::access::{GmailAccess, RequiredAccess};
use crate::domain::mail_content::{self, AttachmentInfo};
use crate::domain::models::gmail::MessageFormat;
use crate::domain::models::{AttachmentId, MessageId};
use crate::domain::tools::definition::Validate;
use crate::domain::tools::{EmbeddedFile, Render, Tool, ToolAnnotations, ToolContext, ToolError};

/// The longest saved file name, in characters; file systems allow 255 bytes.
const MAX_FILENAME_CHARS: usize = 120;

pub(crate) struct GetAttachment;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct GetAttachmentArgs {
    /// Message id the attachment belongs to.
    message_id: String,
    /// Attachment id from gmail_get_message.
    attachment_id: String,
    /// Return the content inline (only for small files) instead of saving it to disk.
    #[serde(default)]
    inline: bool,
}

impl Validate for GetAttachmentArgs {}

/// The fetched attachment: its details and the file it was saved to.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct AttachmentResult {
    filename: String,
    mime_type: String,
    /// The size in bytes.
    size: u64,
    /// The absolute path of the saved file; absent when returned inline.
    saved_to: Option<String>,
    /// Whether the content is in this result as an embedded resource.
    inline: bool,
    #[serde(skip)]
    #[schemars(skip)]
    embedded: Option<EmbeddedFile>,
}

#[async_trait]
impl Tool for GetAttachment {
    type Args = GetAttachmentArgs;
    type Output = AttachmentResult;

    const NAME: &'static str = "gmail_get_attachment";
    const TITLE: &'static str = "Fetch a Gmail attachment";
    const DESCRIPTION: &'static str = "Fetch an attachment of a Gmail message. By default saves it to the hub's attachment folder and returns the path; inline=true returns a small file (up to 256 KiB) as an embedded resource instead.";
    const ANNOTATIONS: ToolAnnotations = ToolAnnotations::READ_ONLY;
    const ACCESS: RequiredAccess = RequiredAccess::Gmail(GmailAccess::Read);

    async fn run(
        &self,
        context: &ToolContext,
        args: Self::Args,
    ) -> Result<Self::Output, ToolError> {
        let invalid =
            |field: &str, error: crate::domain::models::InvalidId| ToolError::InvalidArguments {
                tool: Self::NAME,
                message: format!("field `{field}`: {error}"),
            };
        let message_id =
            MessageId::new(args.message_id).map_err(|error| invalid("message_id", error))?;
        let attachment_id = AttachmentId::new(args.attachment_id)
            .map_err(|error| invalid("attachment_id", error))?;
        let settings = context.settings();

        // The part supplies the file name and type. Gmail may hand out a different
        // attachment id on each read of a message, so a miss is not an error.
        let info = find_part(context, &message_id, &attachment_id).await?;
        if let Some(info) = &info
            && info.size as u64 > settings.attachment_max_bytes
        {
            return Err(too_large(info.size as u64, settings.attachment_max_bytes));
        }

        let gmail = &context.gmail;
        let (message_ref, attachment_ref) = (&message_id, &attachment_id);
        let body = context
            .with_google(|credentials| async move {
                gmail
                    .get_attachment(&credentials.access_token, message_ref, attachment_ref)
                    .await
            })
            .await
            .map_err(|error| error.explain_not_found(|| format!("attachment {attachment_id} of message {message_id} (find ids with gmail_get_message)")))?;
        let data = body.data.as_deref().unwrap_or_default();
        let bytes = mail_content::decode_base64url(data).map_err(|error| {
            ToolError::Rejected(format!(
                "Gmail sent attachment data that is not base64url: {error}"
            ))
        })?;
        if bytes.len() as u64 > settings.attachment_max_bytes {
            return Err(too_large(bytes.len() as u64, settings.attachment_max_bytes));
        }

        let filename = info
            .as_ref()
            .map_or_else(|| "attachment.bin".to_owned(), |info| info.filename.clone());
        let mime_type = info.map_or_else(
            || "application/octet-stream".to_owned(),
            |info| info.mime_type,
        );
        let size = bytes.len() as u64;

        if args.inline {
            if size > settings.inline_attachment_max_bytes {
                return Err(ToolError::Rejected(format!(
                    "the attachment is {}, more than the {} allowed inline; call again without inline to save it to a file",
                    human_size(size as i64),
                    human_size(settings.inline_attachment_max_bytes as i64)
                )));
            }
            let embedded = EmbeddedFile {
                uri: format!(
                    "gmail://messages/{message_id}/attachments/{}",
                    sanitize_filename(&filename)
                ),
                mime_type: mime_type.clone(),
                base64: base64::engine::general_purpose::STANDARD.encode(&bytes),
            };
            return Ok(AttachmentResult {
                filename,
                mime_type,
                size,
                saved_to: None,
                inline: true,
                embedded: Some(embedded),
            });
        }

        let folder = settings
            .attachment_dir
            .join(sanitize_filename(message_id.as_str()));
        let path = save_new_file(
            &settings.attachment_dir,
            &folder,
            &sanitize_filename(&filename),
            &bytes,
        )
        .await
        .map_err(|error| {
            ToolError::Rejected(format!(
                "saving the attachment under {} failed: {error}",
                folder.display()
            ))
        })?;
        tracing::info!(size, path = %path.display(), "saved an attachment");

        Ok(AttachmentResult {
            filename,
            mime_type,
            size,
            saved_to: Some(path.display().to_string()),
            inline: false,
            embedded: None,
        })
    }
}

async fn find_part(
    context: &ToolContext,
    message_id: &MessageId,
    attachment_id: &AttachmentId,
) -> Result<Option<AttachmentInfo>, ToolError> {
    let gmail = &context.gmail;
    let message = context
        .with_google(|credentials| async move {
            gmail
                .get_message(&credentials.access_token, message_id, &MessageFormat::Full)
                .await
        })
        .await
        .map_err(|error| {
            error.explain_not_found(|| {
                format!("message {message_id} (find ids with gmail_search_messages)")
            })
        })?;

    let attachments = message
        .payload
        .as_ref()
        .map(mail_content::extract)
        .unwrap_or_default()
        .attachments;
    let exact = attachments
        .iter()
        .position(|info| info.attachment_id.as_deref() == Some(attachment_id.as_str()));
    Ok(match (exact, attachments.len()) {
        (Some(index), _) => attachments.into_iter().nth(index),
        (None, 1) => attachments.into_iter().next(),
        (None, _) => None,
    })
}

fn too_large(size: u64, limit: u64) -> ToolError {
    ToolError::Rejected(format!(
        "the attachment is {}, more than the hub's limit of {}",
        human_size(size as i64),
        human_size(limit as i64)
    ))
}

/// Makes a name safe as one path component: no directory parts, no `..`, no control or
/// reserved characters, not hidden, and not too long.
pub(crate) fn sanitize_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .map(|c| {
            if c.is_control() || matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*') {
                '_'
            } else {
                c
            }
        })
        .collect();
    let trimmed = cleaned.trim().trim_start_matches('.').trim();
    let shortened: String = trimmed.chars().take(MAX_FILENAME_CHARS).collect();
    if shortened.is_empty() {
        "attachment".to_owned()
    } else {
        shortened
    }
}

/// Writes `bytes` to a new file in `folder`, which must lie inside `root`, never replacing an existing one: `name`, then
/// `name (2)`, `name (3)`, ... A file that already holds exactly `bytes` is reused. The
/// file is created with mode 0600.
async fn save_new_file(
    root: &Path,
    folder: &Path,
    name: &str,
    bytes: &[u8],
) -> std::io::Result<PathBuf> {
    let mut builder = tokio::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    builder.mode(0o700);
    builder.create(folder).await?;

    // A symbolic link planted in the attachment folder must not carry the file elsewhere.
    // The file itself is opened with create_new, which does not follow a link either.
    let (root_real, folder_real) = (
        tokio::fs::canonicalize(root).await?,
        tokio::fs::canonicalize(folder).await?,
    );
    if !folder_real.starts_with(&root_real) {
        return Err(std::io::Error::other(format!(
            "{} leads outside the attachment folder {}",
            folder.display(),
            root.display()
        )));
    }

    let (stem, extension) = match name.rsplit_once('.') {
        Some((stem, extension)) if !stem.is_empty() => (stem, format!(".{extension}")),
        _ => (name, String::new()),
    };
    for attempt in 1..=1000 {
        let candidate = if attempt == 1 {
            name.to_owned()
        } else {
            format!("{stem} ({attempt}){extension}")
        };
        let path = folder.join(candidate);

        let mut options = tokio::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        options.mode(0o600);
        match options.open(&path).await {
            Ok(mut file) => {
                tokio::io::AsyncWriteExt::write_all(&mut file, bytes).await?;
                tokio::io::AsyncWriteExt::flush(&mut file).await?;
                return std::path::absolute(&path);
            }
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
                // Saving the same attachment twice returns the first copy.
                if tokio::fs::read(&path)
                    .await
                    .is_ok_and(|existing| existing == bytes)
                {
                    return std::path::absolute(&path);
                }
                continue;
            }
            Err(error) => return Err(error),
        }
    }
    Err(std::io::Error::other(format!(
        "1000 files named like {name} already exist"
    )))
}

impl Render for AttachmentResult {
    fn render_text(&self) -> String {
        let size = human_size(self.size as i64);
        match &self.saved_to {
            Some(path) => format!(
                "Saved {} ({}, {size}) to {path}",
                self.filename, self.mime_type
            ),
            None => format!(
                "{} ({}, {size}) is attached to this result as an embedded resource.",
                self.filename, self.mime_type
            ),
        }
    }

    fn embedded(&self) -> Vec<EmbeddedFile> {
        self.embedded.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_strips_paths_and_dots() {
        assert_eq!(sanitize_filename("../../etc/passwd"), "passwd");
        assert_eq!(sanitize_filename("..\\..\\boot.ini"), "boot.ini");
        assert_eq!(sanitize_filename(".hidden"), "hidden");
        assert_eq!(sanitize_filename(".."), "attachment");
        assert_eq!(sanitize_filename("a\r\nb<c>.txt"), "a__b_c_.txt");
        assert_eq!(sanitize_filename("отчёт.pdf"), "отчёт.pdf");
        assert_eq!(
            sanitize_filename(&"x".repeat(500)).chars().count(),
            MAX_FILENAME_CHARS
        );
    }

    #[tokio::test]
    async fn save_never_overwrites() {
        let folder = tempfile::tempdir().unwrap();
        let first = save_new_file(folder.path(), folder.path(), "report.pdf", b"one")
            .await
            .unwrap();
        let again = save_new_file(folder.path(), folder.path(), "report.pdf", b"one")
            .await
            .unwrap();
        assert_eq!(again, first, "identical content reuses the file");
        let second = save_new_file(folder.path(), folder.path(), "report.pdf", b"two")
            .await
            .unwrap();
        assert_eq!(first.file_name().unwrap(), "report.pdf");
        assert_eq!(second.file_name().unwrap(), "report (2).pdf");
        assert_eq!(std::fs::read(&first).unwrap(), b"one");
        assert_eq!(std::fs::read(&second).unwrap(), b"two");

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&second).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn save_refuses_symlinked_folder() {
        let folder = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let link = folder.path().join("linked");
        std::os::unix::fs::symlink(outside.path(), &link).unwrap();

        let error = save_new_file(folder.path(), &link, "x.txt", b"x")
            .await
            .unwrap_err();

        assert!(
            error.to_string().contains("outside the attachment folder"),
            "{error}"
        );
        assert!(!outside.path().join("x.txt").exists());
    }
}
