//! Value types shared by the ports, the services and the adapters.
//!
//! The Gmail and Calendar resource types mirror Google's JSON (camelCase field names, int64
//! values as strings) so that an adapter can deserialize a response into them directly and
//! the sandbox can serialize them into the same shape.

pub mod auth_mode;
pub mod calendar;
pub mod credentials;
pub mod gmail;
pub mod ids;
mod int64;

pub use auth_mode::{AuthMode, ParseAuthModeError};
pub use credentials::{AccessToken, Credentials, EXPIRY_MARGIN, ProviderStatus, RefreshToken};
pub use ids::{AttachmentId, CalendarId, DraftId, EventId, InvalidId, MessageId, ThreadId};
