//! Any bytes as a Gmail message resource: neither parsing nor turning the message into
//! text may panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mcp_google_hub::domain::mail_content;
use mcp_google_hub::domain::models::gmail::Message;

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = serde_json::from_slice::<Message>(data)
        && let Some(payload) = &message.payload
    {
        let _ = mail_content::extract(payload);
        let _ = mail_content::decode_header(message.header("Subject").unwrap_or_default());
    }
});
