//! Gmail v1 and Calendar v3 REST clients, always built.
//!
//! [`GmailClient`] implements [`GmailApi`](crate::domain::ports::GmailApi) and
//! [`CalendarClient`] implements [`CalendarApi`](crate::domain::ports::CalendarApi). Both
//! send authorized GET requests to the method paths of Google's discovery documents under
//! the roots in [`GoogleEndpoints`], and map Google's JSON error body to
//! [`GoogleApiError`](crate::domain::errors::GoogleApiError) in one place. Response
//! bodies are read up to a size limit per method.

mod calendar;
mod endpoints;
pub(crate) mod error;
mod gmail;
mod transport;

pub use calendar::CalendarClient;
pub use endpoints::GoogleEndpoints;
pub use gmail::GmailClient;

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_shareable<T: Send + Sync + Clone + std::fmt::Debug + 'static>() {}

    #[test]
    fn clients_are_shareable() {
        assert_shareable::<GmailClient>();
        assert_shareable::<CalendarClient>();
        assert_shareable::<GoogleEndpoints>();
    }
}
