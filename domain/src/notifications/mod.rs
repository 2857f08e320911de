//! Messages to people, kept in an outbox until sent.
