//! A deadline for request headers: a client must finish sending a request's headers within
//! `header_read_timeout_seconds` of its first byte, or the connection is closed.
//!
//! The idle timeout alone does not stop a slowloris client, which sends one header byte every
//! few seconds and so is never idle: each such connection is held for as long as the client
//! likes, and a few hundred of them hold every connection the server will take. poem's server
//! sets no header-read timeout of its own (hyper's needs a timer poem does not give it), so the
//! acceptor wraps every connection in [`HeaderDeadline`]: while it waits for a request's
//! headers (at the start, and after each response is written) it looks for the blank line that
//! ends them, and fails the read once the deadline passes. Bodies and responses are not timed
//! here (the request timeout covers handling). HTTP/2 connections, recognised by their preface,
//! are left alone: their frames are bounded by the stream limits instead.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use poem::http::uri::Scheme;
use poem::listener::Acceptor;
use poem::web::{LocalAddr, RemoteAddr};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// An acceptor whose connections must send each request's headers within `timeout`.
pub struct HeaderDeadlineAcceptor<A> {
    inner: A,
    timeout: Duration,
}

impl<A> HeaderDeadlineAcceptor<A> {
    pub fn new(inner: A, timeout: Duration) -> Self {
        HeaderDeadlineAcceptor { inner, timeout }
    }
}

impl<A: Acceptor> Acceptor for HeaderDeadlineAcceptor<A> {
    type Io = HeaderDeadline<A::Io>;

    fn local_addr(&self) -> Vec<LocalAddr> {
        self.inner.local_addr()
    }

    async fn accept(&mut self) -> io::Result<(Self::Io, LocalAddr, RemoteAddr, Scheme)> {
        let (io, local, remote, scheme) = self.inner.accept().await?;
        Ok((HeaderDeadline::new(io, self.timeout), local, remote, scheme))
    }
}

const HTTP2_PREFACE: &[u8] = b"PRI * HTTP/2.0";

/// Where a connection is in its current request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for a request's headers; `matched` counts the bytes of `\r\n\r\n` seen last.
    Headers { matched: usize },
    /// Headers read: the body and the handler are not timed here, until a response is written.
    Request,
    /// HTTP/2, or anything else not timed.
    Untimed,
}

/// A connection whose request headers must arrive within a deadline.
pub struct HeaderDeadline<Io> {
    io: Io,
    timeout: Duration,
    phase: Phase,
    /// Bytes of the connection read so far, up to the preface's length (to tell HTTP/2).
    seen: Vec<u8>,
    /// Set at a request's first byte; the read fails once it fires.
    deadline: Option<Pin<Box<Sleep>>>,
}

impl<Io> HeaderDeadline<Io> {
    fn new(io: Io, timeout: Duration) -> Self {
        HeaderDeadline { io, timeout, phase: Phase::Headers { matched: 0 }, seen: Vec::new(), deadline: None }
    }

    /// Follows what was read: the end of the headers, or an HTTP/2 preface.
    fn observe(&mut self, bytes: &[u8]) {
        if self.seen.len() < HTTP2_PREFACE.len() {
            let take = (HTTP2_PREFACE.len() - self.seen.len()).min(bytes.len());
            self.seen.extend_from_slice(&bytes[..take]);
            if self.seen.len() == HTTP2_PREFACE.len() && self.seen == HTTP2_PREFACE {
                self.phase = Phase::Untimed;
                self.deadline = None;
                return;
            }
        }
        let Phase::Headers { mut matched } = self.phase else { return };
        if !bytes.is_empty() && self.deadline.is_none() {
            self.deadline = Some(Box::pin(tokio::time::sleep_until(Instant::now() + self.timeout)));
        }
        for &byte in bytes {
            matched = match (matched, byte) {
                (0 | 2, b'\r') => matched + 1,
                (1 | 3, b'\n') => matched + 1,
                (_, b'\r') => 1,
                _ => 0,
            };
            if matched == 4 {
                self.phase = Phase::Request;
                self.deadline = None;
                return;
            }
        }
        self.phase = Phase::Headers { matched };
    }
}

impl<Io: AsyncRead + Unpin> AsyncRead for HeaderDeadline<Io> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if let Some(deadline) = this.deadline.as_mut()
            && deadline.as_mut().poll(cx).is_ready()
        {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the request's headers did not arrive within header_read_timeout_seconds",
            )));
        }
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.io).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            this.observe(&buf.filled()[before..]);
        }
        polled
    }
}

impl<Io: AsyncWrite + Unpin> AsyncWrite for HeaderDeadline<Io> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let written = Pin::new(&mut this.io).poll_write(cx, buf);
        // A response is on its way: the next bytes read are the next request's headers. Not
        // after an interim `100 Continue`, which asks for the body (curl sends `Expect:
        // 100-continue` with any upload over 1 MiB): the body that follows is not timed.
        let interim = buf.starts_with(b"HTTP/1.1 1") || buf.starts_with(b"HTTP/1.0 1");
        if matches!(written, Poll::Ready(Ok(n)) if n > 0) && this.phase == Phase::Request && !interim {
            this.phase = Phase::Headers { matched: 0 };
        }
        written
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phase_after(chunks: &[&[u8]]) -> Phase {
        let mut deadline = HeaderDeadline::new((), Duration::from_secs(1));
        for chunk in chunks {
            deadline.observe(chunk);
        }
        deadline.phase
    }

    #[tokio::test]
    async fn the_end_of_the_headers_is_found_across_reads_and_http2_is_left_alone() {
        assert_eq!(phase_after(&[b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"]), Phase::Request);
        assert_eq!(phase_after(&[b"GET / HTTP/1.1\r\nHost: x\r", b"\n\r", b"\n"]), Phase::Request);
        assert_eq!(phase_after(&[b"GET / HTTP/1.1\r\nHost: x\r\n"]), Phase::Headers { matched: 2 });
        assert_eq!(phase_after(&[b"GET / HTTP/1.1\r\r\n"]), Phase::Headers { matched: 2 });
        assert_eq!(phase_after(&[b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"]), Phase::Untimed);
    }

    /// After `100 Continue` the body may take its time; after a final response, the next
    /// request's headers may not.
    #[tokio::test]
    async fn a_body_after_100_continue_is_not_timed_and_the_next_headers_are() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut client, server) = tokio::io::duplex(1024);
        let mut server = HeaderDeadline::new(server, Duration::from_millis(200));
        let mut buffer = [0u8; 256];
        let request = b"POST /upload HTTP/1.1\r\nExpect: 100-continue\r\n\r\n";
        client.write_all(request).await.unwrap();
        assert_eq!(server.read(&mut buffer).await.unwrap(), request.len());
        server.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await.unwrap();
        tokio::time::sleep(Duration::from_millis(400)).await;
        client.write_all(b"slow body").await.unwrap();
        assert_eq!(server.read(&mut buffer).await.unwrap(), 9, "the body is read, however late");
        server.write_all(b"HTTP/1.1 201 Created\r\n\r\n").await.unwrap();
        client.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        assert_eq!(server.read(&mut buffer).await.unwrap(), 16, "half a request");
        let stalled = server.read(&mut buffer).await.unwrap_err();
        assert_eq!(stalled.kind(), io::ErrorKind::TimedOut);
    }
}
