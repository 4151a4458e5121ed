//! Property tests of outgoing mail. Arbitrary Unicode in the subject, a display name, the
//! body and an attachment's name survives the trip through the tools into the sandbox and
//! back out of gmail_get_message, text framed like an RFC 2047 encoded word included. No
//! input adds a header. A line break or other control
//! character in any header field is rejected, naming the field.

use std::sync::LazyLock;

use mail_parser::MessageParser;
use mcp_google_hub::ToolDispatcher;
use mcp_google_hub::app;
use mcp_google_hub::config::{Config, ConfigSources};
use mcp_google_hub::domain::mail_compose::{Attachment, ComposeError, Composition, EmailAddress};
use mcp_google_hub::sandbox::{Sandbox, SandboxOptions};
use proptest::prelude::*;
use serde_json::{Value, json};

/// One sandbox and hub for every case: a runtime whose worker threads keep the sandbox
/// serving while each case blocks on its tool calls.
struct Shared {
    runtime: tokio::runtime::Runtime,
    dispatcher: ToolDispatcher,
    uploads: tempfile::TempDir,
    _sandbox: Sandbox,
}

static SHARED: LazyLock<Shared> = LazyLock::new(|| {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let uploads = tempfile::tempdir().expect("upload folder");
    let (sandbox, dispatcher) = runtime.block_on(async {
        let sandbox = Sandbox::start(SandboxOptions::default())
            .await
            .expect("sandbox");
        let mut sources = ConfigSources::default();
        app::point_at_sandbox(&mut sources, &sandbox);
        sources.set_override("HUB_GMAIL_ACCESS", "send");
        sources.set_override("HUB_UPLOAD_DIR", uploads.path().display().to_string());
        let config = Config::from_sources(&sources).expect("configuration");
        let dispatcher = app::build_dispatcher(&config).expect("dispatcher");
        (sandbox, dispatcher)
    });
    Shared {
        runtime,
        dispatcher,
        uploads,
        _sandbox: sandbox,
    }
});

fn call(tool: &str, arguments: Value) -> Result<Value, String> {
    SHARED
        .runtime
        .block_on(SHARED.dispatcher.call(tool, arguments))
        .map(|output| output.structured)
        .map_err(|error| error.to_string())
}

/// Any character but a control character.
///
/// NOTE: U+FEFF is left out. `mail-builder` writes it correctly, but where it starts an
/// encoded word the hub's reader (`decode_header`, through `rfc2047-decoder`) drops it as
/// a byte order mark, so it would not read back.
fn printable() -> impl Strategy<Value = char> {
    any::<char>().prop_filter("no control", |c| !c.is_control() && *c != '\u{feff}')
}

/// Generates one line of text without control characters and without surrounding whitespace, which
/// header unfolding does not keep.
fn header_text(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(printable(), 0..max)
        .prop_map(|chars| chars.into_iter().collect::<String>().trim().to_owned())
}

/// Generates a display name: non-empty header text that does not itself look like a quoted string,
/// which would read back without its quotes.
fn display_name() -> impl Strategy<Value = String> {
    header_text(24).prop_filter("non-empty, not quoted", |name| {
        let quoted = name.starts_with('"') && name.ends_with('"');
        !name.is_empty() && !quoted
    })
}

/// Generates header text with an RFC 2047 encoded word, or something framed like one, inside:
/// `=?`, any text, `?=`. Sent as typed, mail readers would decode it into other text.
fn encoded_word_lookalike(max: usize) -> impl Strategy<Value = String> {
    let inner = prop_oneof![
        Just("UTF-8?B?U3Bvb2ZlZA==".to_owned()),
        Just("utf-8?q?boss=40corp.example".to_owned()),
        header_text(max),
    ];
    (header_text(max), inner, header_text(max))
        .prop_map(|(before, inner, after)| format!("{before}=?{inner}?={after}").trim().to_owned())
}

/// Generates a body of any text, with LF line breaks.
fn body() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            8 => printable(),
            1 => Just('\n'),
        ],
        0..300,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

/// Generates a file name the file system takes: no `/`, not `.` or `..`, at most 200 bytes.
/// Bidirectional overrides and isolates are left out, because the hub rejects them in file
/// names.
fn file_name() -> impl Strategy<Value = String> {
    header_text(30).prop_filter("a file name", |name| {
        let bidi = |c: char| matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        !name.is_empty()
            && !name.contains('/')
            && !name.contains(bidi)
            && name != "."
            && name != ".."
            && name.len() <= 200
    })
}

/// Header text with one control character inserted somewhere.
fn with_control() -> impl Strategy<Value = (String, char)> {
    (
        header_text(20),
        header_text(20),
        prop_oneof![
            Just('\r'),
            Just('\n'),
            Just('\0'),
            Just('\t'),
            Just('\u{7f}'),
            Just('\u{85}')
        ],
    )
        .prop_map(|(before, after, control)| (format!("{before}{control}{after}"), control))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn unicode_round_trips_through_sandbox(
        subject in prop_oneof![header_text(60), encoded_word_lookalike(20)],
        name in prop_oneof![display_name(), encoded_word_lookalike(8)],
        text in body(),
        filename in file_name(),
    ) {
        std::fs::write(SHARED.uploads.path().join(&filename), b"attached bytes").unwrap();

        let sent = call("gmail_send_message", json!({
            "to": [format!("{name} <to@example.org>")],
            "subject": subject,
            "body": text,
            "attachments": [filename],
        }));
        std::fs::remove_file(SHARED.uploads.path().join(&filename)).unwrap();
        let sent = sent.map_err(TestCaseError::fail)?;
        let read = call("gmail_get_message", json!({
            "message_id": sent["message_id"],
            "max_chars": 100_000,
        }))
        .map_err(TestCaseError::fail)?;

        prop_assert_eq!(read["subject"].as_str().unwrap_or_default(), subject.as_str());
        let to = EmailAddress::parse("to", read["to"].as_str().unwrap())
            .map_err(|error| TestCaseError::fail(error.to_string()))?;
        prop_assert_eq!(to.name.as_deref(), Some(name.as_str()));
        prop_assert_eq!(to.address.as_str(), "to@example.org");
        // Line breaks travel as CRLF. gmail_get_message shows a body of only whitespace
        // as no body at all.
        let read_body = read["body"].as_str().unwrap().replace("\r\n", "\n");
        let expected = if text.trim().is_empty() { "" } else { text.as_str() };
        prop_assert_eq!(read_body.as_str(), expected);
        prop_assert_eq!(read["attachments"][0]["filename"].as_str(), Some(filename.as_str()));
    }

    #[test]
    fn no_input_adds_a_header(
        subject in prop_oneof![header_text(80), encoded_word_lookalike(20)],
        names in proptest::collection::vec(
            prop_oneof![display_name(), encoded_word_lookalike(8)],
            1..4,
        ),
        text in body(),
        html in proptest::option::of(body()),
        filename in proptest::option::of(file_name()),
    ) {
        let to = names
            .iter()
            .enumerate()
            .map(|(index, name)| EmailAddress {
                name: Some(name.clone()),
                address: format!("r{index}@example.org"),
            })
            .collect();
        let composition = Composition {
            to,
            subject,
            text_body: text,
            html_body: html,
            attachments: filename
                .into_iter()
                .map(|filename| Attachment {
                    filename,
                    mime_type: "application/octet-stream".to_owned(),
                    data: vec![0, 1, 2],
                })
                .collect(),
            ..Composition::default()
        };
        let raw = composition.build().map_err(|error| TestCaseError::fail(error.to_string()))?;

        // Every line of the header section starts a known header or continues one.
        let text = String::from_utf8(raw.clone()).expect("the message is ASCII");
        let (head, _) = text.split_once("\r\n\r\n").expect("a header section");
        let allowed = [
            "To", "Subject", "Message-ID", "Date", "MIME-Version", "Content-Type",
            "Content-Transfer-Encoding",
        ];
        let mut names = std::collections::BTreeSet::new();
        for line in head.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                continue;
            }
            let name = line.split_once(':').map(|(name, _)| name).unwrap_or(line);
            prop_assert!(allowed.contains(&name), "unexpected header line {:?}", line);
            prop_assert!(names.insert(name.to_owned()), "repeated header {:?}", name);
        }

        let parsed = MessageParser::default().parse(&raw).expect("parses");
        let parsed_names: std::collections::BTreeSet<String> = parsed.parts[0]
            .headers
            .iter()
            .map(|header| header.name().to_owned())
            .collect();
        prop_assert_eq!(parsed_names, names);
    }

    #[test]
    fn control_characters_rejected(
        (bad, control) in with_control(),
        field in 0..5usize,
    ) {
        let mut composition = Composition {
            to: vec![EmailAddress { name: None, address: "a@example.org".to_owned() }],
            subject: "ok".to_owned(),
            ..Composition::default()
        };
        let expected = match field {
            0 => {
                composition.subject = bad.clone();
                "subject"
            }
            1 => {
                composition.to[0].name = Some(bad.clone());
                "to[0]"
            }
            2 => {
                composition.cc = vec![EmailAddress { name: Some(bad.clone()), address: "c@example.org".to_owned() }];
                "cc[0]"
            }
            3 => {
                composition.bcc = vec![EmailAddress { name: None, address: format!("b{bad}@example.org") }];
                "bcc[0]"
            }
            _ => {
                composition.attachments = vec![Attachment {
                    filename: bad.clone(),
                    mime_type: "text/plain".to_owned(),
                    data: Vec::new(),
                }];
                "attachments[0]"
            }
        };

        let error = composition.build().unwrap_err();
        prop_assert!(
            matches!(&error, ComposeError::ControlCharacter { field, character } if field == expected && *character == control),
            "{:?} for {:?}", error, bad
        );
    }

    #[test]
    fn tools_reject_line_breaks_in_headers(
        (bad, _) in with_control(),
        field in prop_oneof![Just("subject"), Just("to"), Just("cc"), Just("bcc"), Just("reply_to")],
    ) {
        let mut arguments = json!({ "to": ["a@example.org"], "subject": "ok" });
        let (value, named) = match field {
            "subject" => (json!(bad), "subject".to_owned()),
            "reply_to" => (json!(format!("{bad} <r@example.org>")), "reply_to".to_owned()),
            list => (json!([format!("{bad} <x@example.org>")]), format!("{list}[0]")),
        };
        arguments[field] = value;

        let error = call("gmail_create_draft", arguments).unwrap_err();
        prop_assert!(error.contains(&format!("`{named}`")), "{}", error);
    }
}
