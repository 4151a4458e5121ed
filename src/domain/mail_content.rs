//! Turning a Gmail message resource into what a model reads: decoded headers, one text
//! body, and a list of attachments.
//!
//! Real mail nests its parts in every way MIME allows: `multipart/alternative` inside
//! `multipart/mixed` inside `multipart/signed`, HTML-only newsletters, forwarded messages as
//! `message/rfc822`, attachments with no file name and inline images. The rules here:
//!
//! - A part is an attachment when it has a file name or `Content-Disposition: attachment`.
//!   Attachments are listed, never taken for the body.
//! - In `multipart/alternative` the `text/plain` alternative wins, because it costs the
//!   model fewer tokens than converted HTML; an HTML-only alternative is converted to text.
//! - In other multiparts every inline text part counts, in order, so a body split around an
//!   inline image is read whole.

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use super::models::gmail::{MessagePart, MessagePartBody};

/// Base64url as Gmail sends it: padding may or may not be present.
const BASE64URL_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The line width HTML is rendered at. Wide, because wrapping spends characters of the
/// model's budget on nothing.
const HTML_RENDER_WIDTH: usize = 200;

/// The readable content of one message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MessageContent {
    /// The body as plain text, empty when the message has none.
    pub body: String,
    /// Whether some or all of the body was converted from HTML.
    pub from_html: bool,
    /// The attachments, in tree order.
    pub attachments: Vec<AttachmentInfo>,
}

/// An attachment as listed to the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentInfo {
    /// The decoded file name; a name is made up from the part id when the part has none.
    pub filename: String,
    /// The MIME type.
    pub mime_type: String,
    /// The size in bytes.
    pub size: i64,
    /// The id to fetch the content with, `None` when Gmail sent the content inline.
    pub attachment_id: Option<String>,
    /// The part's position in the MIME tree.
    pub part_id: String,
}

/// Extracts the body text and the attachment list from a message's payload.
pub fn extract(payload: &MessagePart) -> MessageContent {
    let mut content = MessageContent::default();
    collect_attachments(payload, &mut content.attachments);

    if let Some(body) = body_of(payload) {
        content.from_html = body.from_html;
        content.body = body.text;
    }
    content
}

/// Returns the first `text/plain` and the first `text/html` part outside attachments, as
/// written: unlike [`extract`], HTML is not converted and parts are not joined. This is
/// what editing a draft starts from.
pub fn text_and_html(payload: &MessagePart) -> (Option<String>, Option<String>) {
    let (mut text, mut html) = (None, None);
    let mut pending = vec![payload];
    while let Some(part) = pending.pop() {
        if is_attachment(part) {
            continue;
        }
        let mime_type = part.mime_type.to_ascii_lowercase();
        if mime_type == "text/plain" && text.is_none() {
            text = part_text(part);
        } else if mime_type == "text/html" && html.is_none() {
            html = part_text(part);
        }
        pending.extend(part.parts.iter().rev());
    }
    (text, html)
}

/// Decodes RFC 2047 encoded words (`=?UTF-8?B?...?=`) in a header value.
///
/// Values without encoded words, and values whose encoded words are malformed, are
/// returned unchanged, so a broken header still shows what the sender wrote.
pub fn decode_header(value: &str) -> Cow<'_, str> {
    if !value.contains("=?") {
        return Cow::Borrowed(value);
    }
    match rfc2047_decoder::decode(value.as_bytes()) {
        Ok(decoded) => Cow::Owned(decoded),
        Err(_) => Cow::Borrowed(value),
    }
}

/// Decodes the HTML entities Gmail puts in snippets (`&#39;`, `&amp;`, `&quot;`, ...).
pub fn decode_snippet(snippet: &str) -> Cow<'_, str> {
    html_escape::decode_html_entities(snippet)
}

/// Decodes base64url with or without padding. Standard base64 (`+` and `/`) and embedded
/// line breaks are accepted too, because not every producer of Gmail-shaped data is Gmail.
///
/// # Errors
///
/// Returns the decoder's error for input that is not base64 in either alphabet.
pub fn decode_base64url(data: &str) -> Result<Vec<u8>, base64::DecodeError> {
    let cleaned: String = data
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            other => other,
        })
        .collect();
    BASE64URL_LENIENT.decode(cleaned)
}

/// Encodes bytes as base64url without padding, the form Gmail accepts everywhere.
pub fn encode_base64url(data: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
}

/// Converts an HTML document or fragment to plain text.
pub fn html_to_text(html: &str) -> String {
    let rendered = html2text::config::plain()
        .no_table_borders()
        .string_from_read(html.as_bytes(), HTML_RENDER_WIDTH);
    match rendered {
        Ok(text) => tidy_text(&text),
        // The renderer fails only on pathological input; tags stripped crudely beat nothing.
        Err(_) => tidy_text(&strip_tags(html)),
    }
}

/// Returns whether a part is an attachment rather than body text.
pub fn is_attachment(part: &MessagePart) -> bool {
    if !part.filename.is_empty() {
        return true;
    }
    part.header("Content-Disposition")
        .is_some_and(|disposition| {
            disposition
                .trim_start()
                .to_ascii_lowercase()
                .starts_with("attachment")
        })
}

struct Body {
    text: String,
    from_html: bool,
}

fn body_of(part: &MessagePart) -> Option<Body> {
    if is_attachment(part) {
        return None;
    }

    let mime_type = part.mime_type.to_ascii_lowercase();
    if mime_type == "multipart/alternative" {
        return alternative_body(part);
    }
    if mime_type.starts_with("multipart/") || mime_type == "message/rfc822" {
        return mixed_body(part);
    }
    if mime_type == "text/plain" || mime_type.is_empty() {
        return part_text(part).map(|text| Body {
            text,
            from_html: false,
        });
    }
    if mime_type == "text/html" {
        return part_text(part).map(|html| Body {
            text: html_to_text(&html),
            from_html: true,
        });
    }
    None
}

fn alternative_body(part: &MessagePart) -> Option<Body> {
    // Plain alternatives are tried first, so the HTML ones are converted (about 5 ms for
    // 12 KB, nearly all of it in html2text) only when no plain one has text.
    let is_html = |child: &&MessagePart| child.mime_type.eq_ignore_ascii_case("text/html");
    let plain = part
        .parts
        .iter()
        .filter(|child| !is_html(child))
        .filter_map(body_of)
        .find(|body| !body.from_html && !body.text.trim().is_empty());
    if plain.is_some() {
        return plain;
    }

    let mut bodies: Vec<Body> = part.parts.iter().filter_map(body_of).collect();
    let with_text = bodies
        .iter()
        .position(|body| !body.text.trim().is_empty())
        .unwrap_or(0);
    (!bodies.is_empty()).then(|| bodies.swap_remove(with_text))
}

fn mixed_body(part: &MessagePart) -> Option<Body> {
    let bodies: Vec<Body> = part.parts.iter().filter_map(body_of).collect();
    if bodies.is_empty() {
        return None;
    }

    let from_html = bodies.iter().any(|body| body.from_html);
    let text = bodies
        .into_iter()
        .map(|body| body.text)
        .filter(|text| !text.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n\n");
    Some(Body { text, from_html })
}

/// Returns a text part's content as a string, converting from the part's charset when the
/// bytes are not UTF-8.
fn part_text(part: &MessagePart) -> Option<String> {
    let data = part
        .body
        .as_ref()
        .and_then(|body: &MessagePartBody| body.data.as_deref())?;
    let bytes = decode_base64url(data).ok()?;

    match String::from_utf8(bytes) {
        Ok(text) => Some(text),
        Err(error) => {
            let bytes = error.into_bytes();
            let encoding = charset_of(part)
                .and_then(|label| encoding_rs::Encoding::for_label(label.as_bytes()))
                .unwrap_or(encoding_rs::WINDOWS_1252);
            Some(encoding.decode(&bytes).0.into_owned())
        }
    }
}

fn charset_of(part: &MessagePart) -> Option<String> {
    let content_type = part.header("Content-Type")?;
    content_type.split(';').skip(1).find_map(|parameter| {
        let (name, value) = parameter.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"').to_owned())
    })
}

fn collect_attachments(part: &MessagePart, out: &mut Vec<AttachmentInfo>) {
    if is_attachment(part) {
        let body = part.body.clone().unwrap_or_default();
        let filename = if part.filename.is_empty() {
            format!(
                "part-{}",
                if part.part_id.is_empty() {
                    "0"
                } else {
                    &part.part_id
                }
            )
        } else {
            decode_header(&part.filename).into_owned()
        };
        out.push(AttachmentInfo {
            filename,
            mime_type: part.mime_type.clone(),
            size: body.size,
            attachment_id: body.attachment_id,
            part_id: part.part_id.clone(),
        });
        // An attached message's own attachments belong to it, not to this message.
        return;
    }
    for child in &part.parts {
        collect_attachments(child, out);
    }
}

/// Normalizes line endings and collapses runs of blank lines left by HTML layout.
fn tidy_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank_run = 0;
    for line in text.replace("\r\n", "\n").lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank_run += 1;
            if blank_run > 1 {
                continue;
            }
        } else {
            blank_run = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.trim().to_owned()
}

fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::models::gmail::MessagePartHeader;

    fn text_part(part_id: &str, mime_type: &str, text: &str) -> MessagePart {
        MessagePart {
            part_id: part_id.to_owned(),
            mime_type: mime_type.to_owned(),
            body: Some(MessagePartBody {
                size: text.len() as i64,
                data: Some(encode_base64url(text.as_bytes())),
                attachment_id: None,
            }),
            ..MessagePart::default()
        }
    }

    fn attachment(part_id: &str, filename: &str) -> MessagePart {
        MessagePart {
            part_id: part_id.to_owned(),
            mime_type: "application/pdf".to_owned(),
            filename: filename.to_owned(),
            body: Some(MessagePartBody {
                size: 1234,
                data: None,
                attachment_id: Some(format!("att-{part_id}")),
            }),
            ..MessagePart::default()
        }
    }

    fn multipart(part_id: &str, mime_type: &str, parts: Vec<MessagePart>) -> MessagePart {
        MessagePart {
            part_id: part_id.to_owned(),
            mime_type: mime_type.to_owned(),
            parts,
            ..MessagePart::default()
        }
    }

    #[test]
    fn plain_alternative_wins_over_html() {
        let payload = multipart(
            "",
            "multipart/alternative",
            vec![
                text_part("0", "text/plain", "plain body"),
                text_part("1", "text/html", "<p>html body</p>"),
            ],
        );
        let content = extract(&payload);
        assert_eq!(content.body, "plain body");
        assert!(!content.from_html);
    }

    #[test]
    fn html_only_is_converted() {
        let payload = text_part(
            "",
            "text/html",
            "<html><body><h1>Hi</h1><p>Line &amp; more</p></body></html>",
        );
        let content = extract(&payload);
        assert!(content.from_html);
        assert!(content.body.contains("Hi"), "{}", content.body);
        assert!(content.body.contains("Line & more"), "{}", content.body);
        assert!(!content.body.contains("<p>"), "{}", content.body);
    }

    #[test]
    fn nested_body_and_attachments_are_separated() {
        let payload = multipart(
            "",
            "multipart/mixed",
            vec![
                multipart(
                    "0",
                    "multipart/alternative",
                    vec![
                        text_part("0.0", "text/plain", "deep body"),
                        text_part("0.1", "text/html", "<b>deep</b>"),
                    ],
                ),
                attachment("1", "=?UTF-8?B?0L7RgtGH0ZHRgi5wZGY=?="),
                attachment("2", "report.pdf"),
            ],
        );
        let content = extract(&payload);
        assert_eq!(content.body, "deep body");
        let names: Vec<_> = content
            .attachments
            .iter()
            .map(|a| a.filename.as_str())
            .collect();
        assert_eq!(names, ["отчёт.pdf", "report.pdf"]);
        assert_eq!(
            content.attachments[1].attachment_id.as_deref(),
            Some("att-2")
        );
    }

    #[test]
    fn text_attachment_is_not_body() {
        let mut notes = text_part("1", "text/plain", "attached notes");
        notes.filename = "notes.txt".to_owned();
        let payload = multipart(
            "",
            "multipart/mixed",
            vec![text_part("0", "text/plain", "real body"), notes],
        );
        let content = extract(&payload);
        assert_eq!(content.body, "real body");
        assert_eq!(content.attachments.len(), 1);
    }

    #[test]
    fn disposition_attachment_without_name_is_listed() {
        let mut part = text_part("1", "text/csv", "a,b");
        part.headers.push(MessagePartHeader {
            name: "Content-Disposition".to_owned(),
            value: "attachment".to_owned(),
        });
        let payload = multipart(
            "",
            "multipart/mixed",
            vec![text_part("0", "text/plain", "body"), part],
        );
        let content = extract(&payload);
        assert_eq!(content.body, "body");
        assert_eq!(content.attachments[0].filename, "part-1");
    }

    #[test]
    fn base64url_with_and_without_padding() {
        assert_eq!(decode_base64url("aGk").unwrap(), b"hi");
        assert_eq!(decode_base64url("aGk=").unwrap(), b"hi");
        assert_eq!(decode_base64url("-_8").unwrap(), [0xfb, 0xff]);
        assert_eq!(decode_base64url("+/8=").unwrap(), [0xfb, 0xff]);
        assert_eq!(decode_base64url("aG\r\nk=").unwrap(), b"hi");
        assert!(decode_base64url("***").is_err());
    }

    #[test]
    fn latin1_body_is_converted() {
        let mut part = text_part("", "text/plain", "");
        part.body.as_mut().unwrap().data = Some(encode_base64url(b"caf\xe9"));
        part.headers.push(MessagePartHeader {
            name: "Content-Type".to_owned(),
            value: "text/plain; charset=\"ISO-8859-1\"".to_owned(),
        });
        assert_eq!(extract(&part).body, "café");
    }

    #[test]
    fn encoded_words_are_decoded() {
        assert_eq!(
            decode_header("=?UTF-8?Q?Gr=C3=BC=C3=9Fe?= aus Wien"),
            "Grüße aus Wien"
        );
        assert_eq!(decode_header("plain subject"), "plain subject");
        assert_eq!(decode_header("=?broken"), "=?broken");
    }

    #[test]
    fn snippet_entities_are_decoded() {
        assert_eq!(
            decode_snippet("it&#39;s 5 &lt; 6 &amp; &quot;ok&quot;"),
            "it's 5 < 6 & \"ok\""
        );
        assert_eq!(decode_snippet("plain"), "plain");
    }
}
