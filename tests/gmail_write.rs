//! The Gmail write tools end to end: the dispatcher, the real Gmail client and the
//! sandbox's mailbox, configured through the same settings as the binary
//! (`HUB_GMAIL_ACCESS`, `HUB_UPLOAD_DIR`, `HUB_ALLOWED_RECIPIENTS`).

use mcp_google_hub::ToolDispatcher;
use mcp_google_hub::app;
use mcp_google_hub::config::{Config, ConfigSources};
use mcp_google_hub::domain::models::MessageId;
use mcp_google_hub::domain::models::gmail::{Message, MessageFormat};
use mcp_google_hub::domain::ports::GmailApi;
use mcp_google_hub::domain::tools::{ErrorCategory, ToolError};
use mcp_google_hub::outbound::google::{GmailClient, GoogleEndpoints};
use mcp_google_hub::outbound::http::{HttpSettings, build_client};
use mcp_google_hub::sandbox::{Sandbox, SandboxOptions};
use serde_json::{Value, json};

#[cfg(feature = "gmail-send")]
const USER: &str = "sandbox.user@example.com";

/// A hub at one access level over a fresh built-in sandbox, with its own upload folder.
struct Hub {
    sandbox: Sandbox,
    dispatcher: ToolDispatcher,
    uploads: tempfile::TempDir,
}

impl Hub {
    async fn start(access: &str, allowed_recipients: Option<&str>) -> Self {
        let sandbox = Sandbox::start(SandboxOptions::default())
            .await
            .expect("sandbox");
        let uploads = tempfile::tempdir().expect("upload folder");

        let mut sources = ConfigSources::default();
        app::point_at_sandbox(&mut sources, &sandbox);
        sources.set_override("HUB_GMAIL_ACCESS", access);
        sources.set_override("HUB_UPLOAD_DIR", uploads.path().display().to_string());
        if let Some(allowed) = allowed_recipients {
            sources.set_override("HUB_ALLOWED_RECIPIENTS", allowed);
        }
        let config = Config::from_sources(&sources).expect("configuration");
        let dispatcher = app::build_dispatcher(&config).expect("dispatcher");
        Self {
            sandbox,
            dispatcher,
            uploads,
        }
    }

    #[cfg(feature = "gmail-send")]
    async fn send_level() -> Self {
        Self::start("send", None).await
    }

    async fn draft_level() -> Self {
        Self::start("draft", None).await
    }

    /// Calls a tool that must succeed and returns its structured result.
    async fn call(&self, tool: &str, arguments: Value) -> Value {
        match self.dispatcher.call(tool, arguments.clone()).await {
            Ok(output) => output.structured,
            Err(error) => panic!("{tool} {arguments} failed: {error}"),
        }
    }

    /// Calls a tool that must fail and returns its error.
    async fn fail(&self, tool: &str, arguments: Value) -> ToolError {
        match self.dispatcher.call(tool, arguments.clone()).await {
            Ok(output) => panic!("{tool} {arguments} succeeded: {}", output.text),
            Err(error) => error,
        }
    }

    /// Returns the ids of the messages a search finds, newest first.
    async fn search(&self, query: &str) -> Vec<String> {
        let result = self
            .call("gmail_search_messages", json!({ "query": query }))
            .await;
        result["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|message| message["id"].as_str().unwrap().to_owned())
            .collect()
    }

    async fn only(&self, query: &str) -> String {
        let ids = self.search(query).await;
        assert_eq!(ids.len(), 1, "{query}: {ids:?}");
        ids[0].clone()
    }

    /// Reads a message's headers straight from the sandbox, including the threading
    /// headers that gmail_get_message does not show.
    async fn headers(&self, id: &str) -> Message {
        let credentials = self
            .dispatcher
            .context()
            .credentials()
            .get()
            .await
            .expect("credentials");
        let client = GmailClient::new(
            build_client(&HttpSettings::default()).unwrap(),
            &GoogleEndpoints::with_root(self.sandbox.base_url()),
        );
        client
            .get_message(
                &credentials.access_token,
                &MessageId::new(id).unwrap(),
                &MessageFormat::Metadata(Vec::new()),
            )
            .await
            .expect("message")
    }

    fn upload(&self, name: &str, content: &[u8]) {
        std::fs::write(self.uploads.path().join(name), content).expect("upload file");
    }
}

fn labels(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .expect("labels")
        .iter()
        .map(|label| label.as_str().unwrap())
        .collect()
}

#[cfg(feature = "gmail-send")]
#[tokio::test]
async fn send_lands_in_sent_with_own_thread() {
    let hub = Hub::send_level().await;
    hub.upload("plan.txt", b"step 1\nstep 2\n");

    let sent = hub
        .call(
            "gmail_send_message",
            json!({
                "to": ["Zoë Ångström <zoe@example.org>"],
                "cc": ["cc@example.org"],
                "subject": "Grüße aus dem Sandkasten",
                "body": "Hallo Zoë,\nanbei der Plan.",
                "attachments": ["plan.txt"]
            }),
        )
        .await;

    assert_eq!(sent["outcome"], "sent");
    assert_eq!(labels(&sent["label_ids"]), ["SENT"]);
    let id = sent["message_id"].as_str().unwrap();
    assert_eq!(sent["thread_id"], id, "a new message starts its own thread");
    assert!(hub.search("in:sent").await.contains(&id.to_owned()));

    let read = hub
        .call("gmail_get_message", json!({ "message_id": id }))
        .await;
    assert_eq!(read["subject"], "Grüße aus dem Sandkasten");
    assert_eq!(read["from"], USER);
    assert_eq!(read["to"], "Zoë Ångström <zoe@example.org>");
    assert_eq!(read["cc"], "<cc@example.org>");
    assert_eq!(
        read["body"]
            .as_str()
            .unwrap()
            .replace("\r\n", "\n")
            .trim_end(),
        "Hallo Zoë,\nanbei der Plan."
    );
    assert_eq!(read["attachments"][0]["filename"], "plan.txt");
    assert_eq!(read["attachments"][0]["mime_type"], "text/plain");
}

#[cfg(feature = "gmail-send")]
#[tokio::test]
async fn send_needs_a_recipient() {
    let hub = Hub::send_level().await;

    let error = hub
        .fail("gmail_send_message", json!({ "subject": "to nobody" }))
        .await;

    assert_eq!(error.category(), ErrorCategory::InvalidArgument);
    assert!(error.to_string().contains("recipient"), "{error}");
}

#[tokio::test]
async fn header_injection_rejected_naming_field() {
    let hub = Hub::draft_level().await;
    let cases = [
        (
            json!({ "to": ["a@example.org"], "subject": "Hi\r\nBcc: eve@evil.example" }),
            "subject",
        ),
        (
            json!({ "to": ["a@example.org\nBcc: eve@evil.example"] }),
            "to[0]",
        ),
        (
            json!({ "to": ["a@example.org"], "cc": ["Eve\r <eve@example.org>"] }),
            "cc[0]",
        ),
        (
            json!({ "to": ["a@example.org"], "bcc": ["ok@example.org", "x\n@y.z"] }),
            "bcc[1]",
        ),
        (
            json!({ "to": ["a@example.org"], "reply_to": "r@example.org\r\nX: 1" }),
            "reply_to",
        ),
    ];
    for (arguments, field) in cases {
        let error = hub.fail("gmail_create_draft", arguments.clone()).await;
        assert_eq!(
            error.category(),
            ErrorCategory::InvalidArgument,
            "{arguments}"
        );
        assert!(
            error.to_string().contains(&format!("`{field}`")),
            "{field}: {error}"
        );
    }
    assert!(hub.search("in:drafts subject:Hi").await.is_empty());
}

#[tokio::test]
async fn invalid_address_rejected_naming_field() {
    let hub = Hub::draft_level().await;

    let error = hub
        .fail(
            "gmail_create_draft",
            json!({ "to": ["ok@example.org", "not an address"] }),
        )
        .await;

    assert!(error.to_string().contains("`to[1]`"), "{error}");
}

#[cfg(feature = "gmail-send")]
#[tokio::test]
async fn reply_all_threads_and_excludes_self() {
    let hub = Hub::send_level().await;
    let original = hub.only("subject:\"Compiler meeting notes\"").await;
    let original_headers = hub.headers(&original).await;

    let reply = hub
        .call(
            "gmail_reply",
            json!({ "message_id": original, "body": "Thanks!", "reply_all": true, "send": true }),
        )
        .await;

    assert_eq!(reply["outcome"], "sent");
    assert_eq!(reply["thread_id"], original_headers.thread_id.as_str());
    let sent = hub.headers(reply["message_id"].as_str().unwrap()).await;
    assert_eq!(sent.thread_id, original_headers.thread_id);
    assert_eq!(sent.header("Subject"), Some("Re: Compiler meeting notes"));
    assert_eq!(
        sent.header("In-Reply-To"),
        Some("<notes-2025-05-07@cobol.example>")
    );
    assert_eq!(
        sent.header("References"),
        Some("<notes-2025-05-07@cobol.example>")
    );
    assert_eq!(
        sent.header("To"),
        Some("\"Grace Hopper\" <grace@cobol.example>")
    );
    assert_eq!(sent.header("Cc"), Some("\"Team\" <team@cobol.example>"));
    for header in ["To", "Cc"] {
        assert!(!sent.header(header).unwrap().contains(USER), "{header}");
    }
}

#[tokio::test]
async fn reply_keeps_single_re_and_references() {
    let hub = Hub::draft_level().await;
    // The third message of the launch thread already has a `Re:` subject and replies to
    // the second.
    let ids = hub.search("subject:launch from:margaret").await;
    let mut third = None;
    for id in ids {
        if hub.headers(&id).await.header("Message-ID") == Some("<launch-3@apollo.example>") {
            third = Some(id);
        }
    }
    let third = third.expect("the third launch message");
    let thread = hub.headers(&third).await.thread_id;

    let draft = hub
        .call("gmail_reply", json!({ "message_id": third, "body": "Go." }))
        .await;

    assert_eq!(draft["outcome"], "draft_created");
    assert_eq!(labels(&draft["label_ids"]), ["DRAFT"]);
    let saved = hub.headers(draft["message_id"].as_str().unwrap()).await;
    assert_eq!(saved.thread_id, thread);
    assert_eq!(
        saved.header("Subject"),
        Some("Re: Launch plan for the sandbox")
    );
    assert_eq!(
        saved.header("In-Reply-To"),
        Some("<launch-3@apollo.example>")
    );
    assert_eq!(
        saved.header("References"),
        Some("<launch-1@apollo.example> <launch-2@example.com> <launch-3@apollo.example>")
    );
    assert_eq!(
        saved.header("To"),
        Some("\"Margaret Hamilton\" <margaret@apollo.example>")
    );
    assert!(
        hub.search("in:sent Go.").await.is_empty(),
        "a draft is not sent"
    );
}

/// A reply to a note the user sent to themself goes back to the user, as a mail client
/// would, instead of failing for want of another recipient.
#[cfg(feature = "gmail-send")]
#[tokio::test]
async fn reply_to_note_to_self_goes_to_user() {
    let hub = Hub::send_level().await;
    let note = hub
        .call(
            "gmail_send_message",
            json!({ "to": [USER], "subject": "Note to self", "body": "buy milk" }),
        )
        .await;

    let draft = hub
        .call(
            "gmail_reply",
            json!({ "message_id": note["message_id"], "body": "done", "reply_all": true }),
        )
        .await;

    let saved = hub.headers(draft["message_id"].as_str().unwrap()).await;
    assert_eq!(saved.header("To"), Some(format!("<{USER}>").as_str()));
    assert_eq!(saved.header("Cc"), None);
    assert_eq!(saved.header("Subject"), Some("Re: Note to self"));
}

#[tokio::test]
async fn reply_to_own_message_goes_to_its_recipient() {
    let hub = Hub::draft_level().await;
    let own = hub.only("from:me subject:launch").await;

    let draft = hub
        .call(
            "gmail_reply",
            json!({ "message_id": own, "body": "Following up." }),
        )
        .await;

    let saved = hub.headers(draft["message_id"].as_str().unwrap()).await;
    assert_eq!(
        saved.header("To"),
        Some("\"Margaret Hamilton\" <margaret@apollo.example>")
    );
    assert_eq!(saved.header("In-Reply-To"), Some("<launch-2@example.com>"));
}

#[cfg(feature = "gmail-send")]
#[tokio::test]
async fn forward_keeps_attachments() {
    let hub = Hub::send_level().await;
    let invoice = hub.only("subject:invoice").await;

    let sent = hub
        .call(
            "gmail_forward",
            json!({ "message_id": invoice, "to": ["accounts@example.org"], "body": "For the books.", "send": true }),
        )
        .await;

    let id = sent["message_id"].as_str().unwrap();
    let read = hub
        .call("gmail_get_message", json!({ "message_id": id }))
        .await;
    assert_eq!(read["subject"], "Fwd: Your invoice for March 2025");
    assert_eq!(read["attachments"][0]["filename"], "Rechnung_März_2025.pdf");
    assert_eq!(read["attachments"][0]["mime_type"], "application/pdf");
    let body = read["body"].as_str().unwrap();
    assert!(body.starts_with("For the books."), "{body}");
    assert!(
        body.contains("---------- Forwarded message ---------"),
        "{body}"
    );
    assert!(
        body.contains("From: Billing <billing@cloud.example>"),
        "{body}"
    );

    let original = hub
        .call("gmail_get_message", json!({ "message_id": invoice }))
        .await;
    assert_eq!(
        read["attachments"][0]["size"], original["attachments"][0]["size"],
        "the attachment is forwarded whole"
    );
}

#[tokio::test]
async fn forward_adds_fwd_once() {
    let hub = Hub::draft_level().await;
    let forwarded = hub.only("subject:tea").await;

    let draft = hub
        .call(
            "gmail_forward",
            json!({ "message_id": forwarded, "to": ["x@example.org"] }),
        )
        .await;

    let saved = hub.headers(draft["message_id"].as_str().unwrap()).await;
    assert_eq!(saved.header("Subject"), Some("Fwd: Tea on Thursday?"));
}

#[cfg(feature = "gmail-send")]
#[tokio::test]
async fn drafts_persist_update_and_send() {
    let hub = Hub::send_level().await;

    let created = hub
        .call(
            "gmail_create_draft",
            json!({ "to": ["ann@example.org"], "subject": "Draft one", "body": "first" }),
        )
        .await;
    let draft_id = created["draft_id"].as_str().unwrap().to_owned();
    assert_eq!(created["outcome"], "draft_created");

    let listed = hub.call("gmail_list_drafts", json!({})).await;
    assert_eq!(listed["drafts"][0]["draft_id"], draft_id.as_str());
    assert_eq!(listed["drafts"][0]["subject"], "Draft one");

    let updated = hub
        .call(
            "gmail_update_draft",
            json!({ "draft_id": draft_id, "to": ["ann@example.org"], "subject": "Draft two", "body": "second" }),
        )
        .await;
    assert_eq!(updated["draft_id"], draft_id.as_str());
    assert_ne!(
        updated["message_id"], created["message_id"],
        "Gmail gives new content a new id"
    );
    let error = hub
        .fail(
            "gmail_get_message",
            json!({ "message_id": created["message_id"] }),
        )
        .await;
    assert_eq!(error.category(), ErrorCategory::NotFound);

    let sent = hub
        .call("gmail_send_draft", json!({ "draft_id": draft_id }))
        .await;
    assert_eq!(sent["outcome"], "sent");
    assert_eq!(sent["message_id"], updated["message_id"]);
    assert_eq!(labels(&sent["label_ids"]), ["SENT"]);
    let read = hub
        .call(
            "gmail_get_message",
            json!({ "message_id": sent["message_id"] }),
        )
        .await;
    assert_eq!(read["subject"], "Draft two");
    let listed = hub.call("gmail_list_drafts", json!({})).await;
    assert!(listed["drafts"].as_array().unwrap().is_empty(), "{listed}");
}

/// An edit that gives only the body keeps the recipients, the subject and the threading
/// headers of a reply draft.
#[tokio::test]
async fn update_draft_body_keeps_reply_headers() {
    let hub = Hub::draft_level().await;
    let own = hub.only("from:me subject:launch").await;
    let reply = hub
        .call(
            "gmail_reply",
            json!({ "message_id": own, "body": "Following up." }),
        )
        .await;
    let before = hub.headers(reply["message_id"].as_str().unwrap()).await;

    let updated = hub
        .call(
            "gmail_update_draft",
            json!({ "draft_id": reply["draft_id"], "body": "Changed." }),
        )
        .await;

    let after = hub.headers(updated["message_id"].as_str().unwrap()).await;
    assert_eq!(after.thread_id, before.thread_id);
    for name in ["To", "Subject", "In-Reply-To", "References"] {
        assert!(before.header(name).is_some(), "the reply has {name}");
        assert_eq!(after.header(name), before.header(name), "{name}");
    }
    let read = hub
        .call(
            "gmail_get_message",
            json!({ "message_id": updated["message_id"] }),
        )
        .await;
    assert_eq!(read["body"].as_str().unwrap().trim(), "Changed.");
}

/// An edit that gives only `bcc` keeps everything else, attachments included, and an
/// empty value clears a field.
#[tokio::test]
async fn update_draft_patches_and_clears_fields() {
    let hub = Hub::draft_level().await;
    hub.upload("plan.txt", b"the plan");
    let created = hub
        .call(
            "gmail_create_draft",
            json!({
                "to": ["Lee, Ann <ann@example.org>"], "subject": "Plan", "body": "first",
                "reply_to": "desk@example.org", "attachments": ["plan.txt"]
            }),
        )
        .await;
    let draft_id = created["draft_id"].clone();

    let updated = hub
        .call(
            "gmail_update_draft",
            json!({ "draft_id": draft_id, "bcc": ["boss@example.org"] }),
        )
        .await;

    let id = updated["message_id"].as_str().unwrap();
    let headers = hub.headers(id).await;
    assert_eq!(headers.header("To"), Some("\"Lee, Ann\" <ann@example.org>"));
    assert_eq!(headers.header("Bcc"), Some("<boss@example.org>"));
    assert_eq!(headers.header("Reply-To"), Some("<desk@example.org>"));
    assert_eq!(headers.header("Subject"), Some("Plan"));
    let read = hub
        .call("gmail_get_message", json!({ "message_id": id }))
        .await;
    assert_eq!(read["body"].as_str().unwrap().trim(), "first");
    assert_eq!(read["attachments"][0]["filename"], "plan.txt");
    assert_eq!(read["attachments"][0]["size"], 8);

    let cleared = hub
        .call(
            "gmail_update_draft",
            json!({ "draft_id": draft_id, "to": [], "reply_to": "", "subject": "", "attachments": [] }),
        )
        .await;

    let id = cleared["message_id"].as_str().unwrap();
    let headers = hub.headers(id).await;
    assert_eq!(headers.header("To"), None);
    assert_eq!(headers.header("Reply-To"), None);
    assert_eq!(headers.header("Bcc"), Some("<boss@example.org>"));
    let read = hub
        .call("gmail_get_message", json!({ "message_id": id }))
        .await;
    assert_eq!(read["subject"], "");
    assert_eq!(read["body"].as_str().unwrap().trim(), "first");
    assert!(read["attachments"].as_array().unwrap().is_empty(), "{read}");
}

/// New drafts, edited drafts and replies get a Message-ID in the user's domain, not
/// `localhost`.
#[tokio::test]
async fn message_ids_use_user_domain() {
    let hub = Hub::draft_level().await;
    let created = hub
        .call("gmail_create_draft", json!({ "subject": "Ids" }))
        .await;
    let updated = hub
        .call(
            "gmail_update_draft",
            json!({ "draft_id": created["draft_id"], "body": "b" }),
        )
        .await;
    let own = hub.only("from:me subject:launch").await;
    let reply = hub.call("gmail_reply", json!({ "message_id": own })).await;
    // The update replaced the first draft's message, so a second draft stands for create.
    let created = hub
        .call("gmail_create_draft", json!({ "subject": "Ids" }))
        .await;

    for result in [created, updated, reply] {
        let headers = hub.headers(result["message_id"].as_str().unwrap()).await;
        let id = headers.header("Message-ID").expect("a Message-ID");
        assert!(id.ends_with("@example.com>"), "{id}");
    }
}

#[tokio::test]
async fn draft_delete_is_final() {
    let hub = Hub::draft_level().await;
    let created = hub
        .call("gmail_create_draft", json!({ "subject": "scratch" }))
        .await;
    let draft_id = created["draft_id"].as_str().unwrap();

    hub.call("gmail_delete_draft", json!({ "draft_id": draft_id }))
        .await;

    let error = hub
        .fail("gmail_delete_draft", json!({ "draft_id": draft_id }))
        .await;
    assert_eq!(error.category(), ErrorCategory::NotFound);
    assert!(hub.search("in:trash scratch").await.is_empty());
}

#[tokio::test]
async fn labels_create_apply_and_reject_duplicates() {
    let hub = Hub::start("organize", None).await;

    let created = hub
        .call("gmail_create_label", json!({ "name": "Projects/Hub" }))
        .await;
    let label_id = created["id"].as_str().unwrap().to_owned();
    let duplicate = hub
        .fail("gmail_create_label", json!({ "name": "projects/hub" }))
        .await;
    assert!(duplicate.to_string().contains("409"), "{duplicate}");

    let launch = hub.search("subject:launch").await;
    assert!(launch.len() > 1, "{launch:?}");
    let changed = hub
        .call(
            "gmail_modify_labels",
            json!({ "message_ids": launch, "add_labels": ["Projects/Hub", "starred"], "mark": "read" }),
        )
        .await;
    assert_eq!(labels(&changed["added"]), [label_id.as_str(), "STARRED"]);
    assert_eq!(labels(&changed["removed"]), ["UNREAD"]);
    assert_eq!(hub.search("label:projects-hub").await.len(), launch.len());
    assert_eq!(
        hub.search("is:starred subject:launch").await.len(),
        launch.len()
    );

    let one = hub
        .call(
            "gmail_modify_labels",
            json!({ "message_ids": [launch[0]], "remove_labels": [label_id], "mark": "unread", "archive": true }),
        )
        .await;
    let now = labels(&one["label_ids"]);
    assert!(now.contains(&"UNREAD"), "{now:?}");
    assert!(!now.contains(&"INBOX"), "{now:?}");
    assert!(!now.contains(&label_id.as_str()), "{now:?}");

    let unknown = hub
        .fail(
            "gmail_modify_labels",
            json!({ "message_ids": [launch[0]], "add_labels": ["No such label"] }),
        )
        .await;
    assert!(unknown.to_string().contains("No such label"), "{unknown}");
}

/// The text result names the labels that the call looked up by name, not only their ids.
#[tokio::test]
async fn label_changes_print_names() {
    let hub = Hub::start("organize", None).await;
    hub.call("gmail_create_label", json!({ "name": "Work" }))
        .await;
    let launch = hub.search("subject:launch").await;

    let output = hub
        .dispatcher
        .call(
            "gmail_modify_labels",
            json!({ "message_ids": [launch[0]], "add_labels": ["work"], "remove_labels": ["INBOX"] }),
        )
        .await
        .expect("labels change");

    assert!(output.text.contains("Added: Work."), "{}", output.text);
    assert!(output.text.contains("Removed: INBOX."), "{}", output.text);
    assert!(!output.text.contains("Label_"), "{}", output.text);
    assert!(
        output.structured["added"][0]
            .as_str()
            .unwrap()
            .starts_with("Label_"),
        "{}",
        output.structured
    );
}

#[tokio::test]
async fn trash_and_untrash_round_trip() {
    let hub = Hub::start("organize", None).await;
    let welcome = hub.only("subject:welcome").await;

    let trashed = hub
        .call("gmail_trash_message", json!({ "message_id": welcome }))
        .await;
    assert_eq!(trashed["in_trash"], true);
    assert!(labels(&trashed["label_ids"]).contains(&"TRASH"));
    assert!(!labels(&trashed["label_ids"]).contains(&"INBOX"));
    assert!(hub.search("subject:welcome").await.is_empty());
    assert_eq!(
        hub.search("in:trash subject:welcome").await,
        std::slice::from_ref(&welcome)
    );

    let restored = hub
        .call("gmail_untrash_message", json!({ "message_id": welcome }))
        .await;
    assert_eq!(restored["in_trash"], false);
    assert!(labels(&restored["label_ids"]).contains(&"INBOX"));
    assert_eq!(hub.search("in:inbox subject:welcome").await, [welcome]);
}

#[cfg(feature = "gmail-send")]
#[tokio::test]
async fn allowlist_rejects_recipient_naming_field() {
    let hub = Hub::start("send", Some("@example.org, boss@example.net")).await;

    hub.call(
        "gmail_send_message",
        json!({ "to": ["a@example.org"], "cc": ["boss@example.net"] }),
    )
    .await;
    for (arguments, field) in [
        (json!({ "to": ["x@elsewhere.example"] }), "to"),
        (
            json!({ "to": ["a@example.org"], "cc": ["x@sub.example.org"] }),
            "cc",
        ),
        (
            json!({ "to": ["a@example.org"], "bcc": ["Other <boss@example.com>"] }),
            "bcc",
        ),
    ] {
        let error = hub.fail("gmail_send_message", arguments.clone()).await;
        assert_eq!(
            error.category(),
            ErrorCategory::PermissionDenied,
            "{arguments}"
        );
        assert!(
            error.to_string().contains(&format!("`{field}`")),
            "{field}: {error}"
        );
    }
}

#[cfg(feature = "gmail-send")]
#[tokio::test]
async fn allowlist_checks_replies_forwards_and_drafts_sent() {
    let hub = Hub::start("send", Some("@example.org")).await;
    let notes = hub.only("subject:\"Compiler meeting notes\"").await;

    let reply = hub
        .fail(
            "gmail_reply",
            json!({ "message_id": notes, "body": "x", "send": true }),
        )
        .await;
    assert!(
        reply.to_string().contains("grace@cobol.example in `to`"),
        "{reply}"
    );
    let forward = hub
        .fail(
            "gmail_forward",
            json!({ "message_id": notes, "to": ["x@cobol.example"], "send": true }),
        )
        .await;
    assert!(forward.to_string().contains("`to`"), "{forward}");

    // A draft to anyone may be saved; sending it is checked against the allowlist.
    let draft = hub
        .call(
            "gmail_create_draft",
            json!({ "to": ["ok@example.org"], "bcc": ["x@cobol.example"] }),
        )
        .await;
    let error = hub
        .fail("gmail_send_draft", json!({ "draft_id": draft["draft_id"] }))
        .await;
    assert_eq!(error.category(), ErrorCategory::PermissionDenied);
    assert!(
        error.to_string().contains("x@cobol.example in `bcc`"),
        "{error}"
    );
    assert!(
        hub.search("in:sent").await.len() < 2,
        "nothing new was sent"
    );
}

#[cfg(feature = "gmail-send")]
#[tokio::test]
async fn empty_allowlist_rejects_everything() {
    // An empty value and a lone comma are both a list with no entries.
    for allowed in ["", ","] {
        let hub = Hub::start("send", Some(allowed)).await;

        let error = hub
            .fail("gmail_send_message", json!({ "to": ["a@example.org"] }))
            .await;

        assert_eq!(error.category(), ErrorCategory::PermissionDenied);
        assert!(error.to_string().contains("set but empty"), "{error}");
    }
}

#[tokio::test]
async fn send_flag_needs_send_level() {
    let hub = Hub::start("draft", None).await;
    let notes = hub.only("subject:\"Compiler meeting notes\"").await;

    let error = hub
        .fail("gmail_reply", json!({ "message_id": notes, "send": true }))
        .await;
    assert_eq!(error.category(), ErrorCategory::PermissionDenied);
    assert!(
        error.to_string().contains("HUB_GMAIL_ACCESS=send"),
        "{error}"
    );
    let forward = hub
        .fail(
            "gmail_forward",
            json!({ "message_id": notes, "to": ["a@example.org"], "send": true }),
        )
        .await;
    assert!(
        forward.to_string().contains("HUB_GMAIL_ACCESS=send"),
        "{forward}"
    );

    let draft = hub
        .call("gmail_reply", json!({ "message_id": notes }))
        .await;
    assert_eq!(draft["outcome"], "draft_created");
    // Above the level the tool is refused; without gmail-send it does not exist at all.
    let send_tool = hub
        .fail("gmail_send_message", json!({ "to": ["a@example.org"] }))
        .await;
    let expected = if cfg!(feature = "gmail-send") {
        ErrorCategory::PermissionDenied
    } else {
        ErrorCategory::InvalidArgument
    };
    assert_eq!(send_tool.category(), expected, "{send_tool}");
}

#[tokio::test]
async fn attachments_stay_in_upload_folder() {
    let hub = Hub::draft_level().await;
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), b"secret").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(
        outside.path().join("secret.txt"),
        hub.uploads.path().join("link.txt"),
    )
    .unwrap();

    for path in ["../secret.txt", "/etc/hostname", "a/../../secret.txt", ""] {
        let error = hub
            .fail("gmail_create_draft", json!({ "attachments": [path] }))
            .await;
        assert_eq!(
            error.category(),
            ErrorCategory::InvalidArgument,
            "{path}: {error}"
        );
        assert!(
            error.to_string().contains("attachments[0]"),
            "{path}: {error}"
        );
    }
    #[cfg(unix)]
    {
        let error = hub
            .fail("gmail_create_draft", json!({ "attachments": ["link.txt"] }))
            .await;
        assert!(error.to_string().contains("outside the folder"), "{error}");
    }
    let missing = hub
        .fail("gmail_create_draft", json!({ "attachments": ["nope.pdf"] }))
        .await;
    assert!(missing.to_string().contains("attachments[0]"), "{missing}");
}

#[tokio::test]
async fn oversized_attachments_rejected() {
    let hub = Hub::draft_level().await;
    hub.upload("big.bin", &vec![7u8; 20 * 1024 * 1024]);
    hub.upload("huge.bin", &vec![7u8; 26 * 1024 * 1024]);
    let limit = "Gmail's limit of 25.0 MiB for a message with its attachments base64-encoded (about 18.3 MiB of files)";

    // One file that fits as bytes but not base64-encoded, and one past the limit as it is:
    // both errors give sizes in MiB and the same limit.
    for (file, size) in [("big.bin", "27.4 MiB"), ("huge.bin", "26.0 MiB")] {
        let error = hub
            .fail("gmail_create_draft", json!({ "attachments": [file] }))
            .await;

        let message = error.to_string();
        assert!(message.contains(size), "{message}");
        assert!(message.contains(limit), "{message}");
        assert!(!message.contains("bytes"), "{message}");
    }
}

/// An upload whose name would display in another order, or contains a line break, is
/// rejected naming the argument as the schema does.
#[tokio::test]
async fn unsafe_upload_names_rejected() {
    let hub = Hub::draft_level().await;
    hub.upload("fine.txt", b"ok");
    hub.upload("\u{202e}txt.exe", b"MZ");
    hub.upload("two\nlines.txt", b"ok");

    for (name, expected) in [("\u{202e}txt.exe", "U+202E"), ("two\nlines.txt", "control")] {
        let error = hub
            .fail(
                "gmail_create_draft",
                json!({ "subject": "Files", "attachments": ["fine.txt", name] }),
            )
            .await;

        assert_eq!(error.category(), ErrorCategory::InvalidArgument, "{name:?}");
        let message = error.to_string();
        assert!(message.contains("`attachments[1]`"), "{message}");
        assert!(message.contains(expected), "{message}");
    }
    assert!(hub.search("in:drafts subject:Files").await.is_empty());
}
