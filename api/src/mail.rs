//! Sending the outbox by email.
