//! The outbox and its mail, against an SMTP server each test starts on a free local port:
//! messages go out once, Russian intact; nothing is lost while the server is down; erased and
//! disabled people get nothing; a rolled-back write leaves no message.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use api::mail::{self, Mailer};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use domain::accounts::tables::account;
use domain::accounts::{self, AccountChanges, Actor};
use domain::notifications::{self, NewMessage};
use domain::writes::Write;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use crate::helpers::spawn_app;

const FROM: &str = "Общественный контроль <noreply@scrutiny.kz>";
const BASE: Duration = Duration::from_secs(30);

/// How the test server answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Accept,
    /// 421 at the greeting: the service is not available.
    Busy,
    /// 451 after the data: try again later.
    Defer,
    /// Accepts the connection and never says a word.
    Silent,
}

/// One message as the server took it.
#[derive(Debug, Clone)]
struct Received {
    ehlo: String,
    mail_from: String,
    rcpt_to: Vec<String>,
    /// The message as sent, dot-stuffing undone.
    data: String,
}

#[derive(Debug)]
struct Shared {
    mode: Mutex<Mode>,
    received: Mutex<Vec<Received>>,
    sessions: AtomicUsize,
}

/// Just enough of an SMTP server (RFC 5321) for lettre: one task per connection.
struct SmtpServer {
    port: u16,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl SmtpServer {
    async fn start(mode: Mode) -> SmtpServer {
        SmtpServer::start_on(0, mode).await
    }

    async fn start_on(port: u16, mode: Mode) -> SmtpServer {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.expect("binds a local port");
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared {
            mode: Mutex::new(mode),
            received: Mutex::new(Vec::new()),
            sessions: AtomicUsize::new(0),
        });
        let task = tokio::spawn({
            let shared = shared.clone();
            async move {
                while let Ok((stream, _)) = listener.accept().await {
                    shared.sessions.fetch_add(1, Ordering::SeqCst);
                    tokio::spawn(session(stream, shared.clone()));
                }
            }
        });
        SmtpServer { port, shared, task }
    }

    fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    fn set_mode(&self, mode: Mode) {
        *self.shared.mode.lock().unwrap() = mode;
    }

    fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    fn sessions(&self) -> usize {
        self.shared.sessions.load(Ordering::SeqCst)
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn session(stream: TcpStream, shared: Arc<Shared>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    let mode = *shared.mode.lock().unwrap();
    match mode {
        Mode::Silent => {
            // Hold the connection open, answering nothing, until the client goes away.
            let mut sink = String::new();
            while lines.read_line(&mut sink).await.is_ok_and(|n| n > 0) {}
            return;
        }
        Mode::Busy => {
            let _ = write.write_all(b"421 test.local Service not available\r\n").await;
            return;
        }
        Mode::Accept | Mode::Defer => {}
    }
    let reply = |text: &'static str| text.as_bytes();
    if write.write_all(reply("220 test.local ESMTP\r\n")).await.is_err() {
        return;
    }
    let (mut ehlo, mut mail_from, mut rcpt_to) = (String::new(), String::new(), Vec::new());
    loop {
        let mut line = String::new();
        if lines.read_line(&mut line).await.map_or(true, |n| n == 0) {
            return;
        }
        let command = line.trim_end_matches(['\r', '\n']);
        let upper = command.to_ascii_uppercase();
        let answer: &[u8] = if upper.starts_with("EHLO ") || upper.starts_with("HELO ") {
            ehlo = command[5..].to_owned();
            b"250 test.local\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            mail_from = command[10..].to_owned();
            b"250 OK\r\n"
        } else if upper.starts_with("RCPT TO:") {
            rcpt_to.push(command[8..].to_owned());
            b"250 OK\r\n"
        } else if upper == "DATA" {
            if write.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n").await.is_err() {
                return;
            }
            let mut data = String::new();
            loop {
                let mut line = String::new();
                if lines.read_line(&mut line).await.map_or(true, |n| n == 0) {
                    return;
                }
                if line == ".\r\n" {
                    break;
                }
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
            }
            if *shared.mode.lock().unwrap() == Mode::Defer {
                b"451 4.3.0 Try again later\r\n"
            } else {
                let received = Received {
                    ehlo: ehlo.clone(),
                    mail_from: std::mem::take(&mut mail_from),
                    rcpt_to: std::mem::take(&mut rcpt_to),
                    data,
                };
                shared.received.lock().unwrap().push(received);
                b"250 OK queued\r\n"
            }
        } else if upper == "RSET" {
            (mail_from, rcpt_to) = (String::new(), Vec::new());
            b"250 OK\r\n"
        } else if upper == "NOOP" {
            b"250 OK\r\n"
        } else if upper == "QUIT" {
            let _ = write.write_all(b"221 Bye\r\n").await;
            return;
        } else {
            b"502 Command not implemented\r\n"
        };
        if write.write_all(answer).await.is_err() {
            return;
        }
    }
}

/// A parsed message: headers unfolded with encoded words decoded, and the body decoded.
struct Parsed {
    headers: Vec<(String, String)>,
    body: String,
}

impl Parsed {
    fn of(data: &str) -> Parsed {
        let (head, body) = data.split_once("\r\n\r\n").expect("headers end with an empty line");
        let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
        let headers: Vec<(String, String)> = unfolded
            .split("\r\n")
            .map(|line| {
                let (name, value) = line.split_once(':').expect("a header line");
                (name.to_ascii_lowercase(), decode_words(value.trim()))
            })
            .collect();
        let encoding = headers
            .iter()
            .find(|(name, _)| name == "content-transfer-encoding")
            .map_or("7bit".to_owned(), |(_, value)| value.to_ascii_lowercase());
        let bytes = match encoding.as_str() {
            "base64" => {
                base64::engine::general_purpose::STANDARD.decode(body.replace("\r\n", "")).expect("the body is base64")
            }
            "quoted-printable" => quoted_printable(body),
            _ => body.as_bytes().to_vec(),
        };
        let body = String::from_utf8(bytes).expect("the body is UTF-8").replace("\r\n", "\n");
        Parsed { headers, body }
    }

    fn header(&self, name: &str) -> &str {
        let name = name.to_ascii_lowercase();
        &self.headers.iter().find(|(n, _)| *n == name).unwrap_or_else(|| panic!("a {name} header")).1
    }
}

/// RFC 2047 encoded words (`=?utf-8?b?...?=`, `=?utf-8?q?...?=`) decoded; the space between
/// two of them dropped, as the RFC says.
fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    let mut after_word = false;
    while let Some(start) = rest.find("=?") {
        let gap = &rest[..start];
        if !(after_word && gap.trim().is_empty()) {
            out.push_str(gap);
        }
        let word = &rest[start + 2..];
        let mut parts = word.splitn(3, '?');
        let (Some(charset), Some(encoding), Some(tail)) = (parts.next(), parts.next(), parts.next()) else {
            break;
        };
        let end = tail.find("?=").expect("an encoded word ends");
        assert!(charset.eq_ignore_ascii_case("utf-8"), "charset {charset}");
        let text = &tail[..end];
        let bytes = if encoding.eq_ignore_ascii_case("b") {
            base64::engine::general_purpose::STANDARD.decode(text).expect("base64 word")
        } else {
            quoted_printable(&text.replace('_', " "))
        };
        out.push_str(&String::from_utf8(bytes).expect("UTF-8 word"));
        rest = &tail[end + 2..];
        after_word = true;
    }
    out.push_str(rest);
    out
}

fn quoted_printable(text: &str) -> Vec<u8> {
    let text = text.replace("=\r\n", "");
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).expect("a quoted-printable escape"));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

fn message(recipient: i64, kind: &str, subject: &str, body: &str) -> NewMessage {
    NewMessage {
        kind: kind.to_owned(),
        recipient_account_id: recipient,
        finding_id: Some(7),
        subject: subject.to_owned(),
        body: body.to_owned(),
    }
}

/// Enqueues through the one write path and commits.
async fn enqueue(db: &sea_orm::DatabaseConnection, messages: Vec<NewMessage>) -> DateTime<Utc> {
    let write = Write::begin(db).await.unwrap();
    let now = write.now();
    notifications::enqueue(write.txn(), now, messages).await.unwrap();
    write.commit().await.unwrap();
    now
}

fn after(now: DateTime<Utc>, by: Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(by).unwrap()
}

/// A port nothing listens on (just now).
async fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap().port()
}

#[tokio::test]
async fn due_messages_go_out_once_with_russian_intact() {
    let app = spawn_app().await;
    let server = SmtpServer::start(Mode::Accept).await;
    let mailer = Mailer::new(&server.url(), FROM).unwrap();
    let alice = app.user(&["citizen"], None, None).await;
    let bota = app.user(&["citizen"], None, None).await;
    account::Entity::update_many()
        .col_expr(account::Column::DisplayName, Expr::value("Бота Жанатқызы"))
        .filter(account::Column::Id.eq(bota.id))
        .exec(&app.db)
        .await
        .unwrap();
    let russian_body =
        "Здравствуйте!\nСовет предлагает слушание по замечанию № 7 на 12 марта.\n.\nС уважением, «Scrutiny».";
    let now = enqueue(
        &app.db,
        vec![
            message(
                alice.id,
                "finding.delivered",
                "Finding 7 was delivered",
                "It reached the council.\n.\nThat is all.",
            ),
            message(bota.id, "hearing.offered", "Слушание по замечанию № 7 — приглашение", russian_body),
            // Alice again in the same call: she gets the first message only.
            message(alice.id, "hearing.offered", "duplicate", "duplicate"),
        ],
    )
    .await;
    assert_eq!(notifications::pending_count(&app.db).await.unwrap(), 2);

    assert_eq!(mail::send_due(&app.db, &mailer, now, BASE).await.unwrap(), (2, 0));

    let received = server.received();
    assert_eq!(received.len(), 2);
    for (user, name, subject, body) in [
        (
            &alice,
            display_name(&app, alice.id).await,
            "Finding 7 was delivered",
            "It reached the council.\n.\nThat is all.",
        ),
        (&bota, "Бота Жанатқызы".to_owned(), "Слушание по замечанию № 7 — приглашение", russian_body),
    ] {
        let envelope = received
            .iter()
            .find(|r| r.rcpt_to == [format!("<{}>", user.email)])
            .unwrap_or_else(|| panic!("a message to {}", user.email));
        assert_eq!(envelope.mail_from, "<noreply@scrutiny.kz>");
        // The EHLO name is the sender's domain.
        assert_eq!(envelope.ehlo, "scrutiny.kz");
        let parsed = Parsed::of(&envelope.data);
        assert_eq!(parsed.header("To").replace('"', ""), format!("{name} <{}>", user.email));
        assert_eq!(parsed.header("From").replace('"', ""), FROM);
        assert_eq!(parsed.header("Subject"), subject);
        assert!(parsed.header("Content-Type").to_ascii_lowercase().starts_with("text/plain; charset=utf-8"));
        assert_eq!(parsed.body.trim_end(), body);
    }

    let messages = notifications::of_finding(&app.db, 7).await.unwrap();
    assert_eq!(messages.len(), 2);
    for stored in &messages {
        assert_eq!(stored.sent_at, Some(now));
        assert_eq!(stored.attempts, 1);
        assert_eq!(stored.last_error, None);
    }
    assert_eq!(notifications::pending_count(&app.db).await.unwrap(), 0);

    assert_eq!(mail::send_due(&app.db, &mailer, after(now, Duration::from_secs(3600)), BASE).await.unwrap(), (0, 0));
    assert_eq!(server.received().len(), 2);
}

async fn display_name(app: &crate::helpers::TestApp, id: i64) -> String {
    account::Entity::find_by_id(id).one(&app.db).await.unwrap().unwrap().display_name
}

#[tokio::test]
async fn nothing_is_lost_while_the_server_is_down() {
    let app = spawn_app().await;
    let alice = app.user(&["citizen"], None, None).await;
    let port = free_port().await;
    let mailer = Mailer::new(&format!("smtp://127.0.0.1:{port}"), FROM).unwrap();
    let now =
        enqueue(&app.db, vec![message(alice.id, "deadline.passed", "Срок ответа истёк", "Ответ не получен.")]).await;

    // Nobody listens: the attempt fails and the message waits.
    assert_eq!(mail::send_due(&app.db, &mailer, now, BASE).await.unwrap(), (0, 1));
    let stored = &notifications::of_finding(&app.db, 7).await.unwrap()[0];
    assert_eq!((stored.attempts, stored.sent_at), (1, None));
    assert_eq!(stored.next_attempt_at, after(now, BASE));
    assert!(stored.last_error.as_deref().is_some_and(|e| !e.is_empty() && e.chars().count() <= 500));
    assert_eq!(notifications::pending_count(&app.db).await.unwrap(), 1);

    // The server is back, but the delay has not passed: nothing is tried.
    let server = SmtpServer::start_on(port, Mode::Defer).await;
    assert_eq!(mail::send_due(&app.db, &mailer, after(now, BASE / 2), BASE).await.unwrap(), (0, 0));
    assert_eq!(server.sessions(), 0);

    // Past it, the server defers (451): the second failure waits twice as long.
    let second = after(now, BASE);
    assert_eq!(mail::send_due(&app.db, &mailer, second, BASE).await.unwrap(), (0, 1));
    let stored = &notifications::of_finding(&app.db, 7).await.unwrap()[0];
    assert_eq!((stored.attempts, stored.sent_at), (2, None));
    assert_eq!(stored.next_attempt_at, after(second, BASE * 2));
    let error = stored.last_error.clone().unwrap();
    assert!(error.contains("451"), "{error}");
    assert!(!error.contains(&alice.email), "{error}");

    // Then it takes mail: sent exactly once.
    server.set_mode(Mode::Accept);
    let third = after(second, BASE * 2);
    assert_eq!(mail::send_due(&app.db, &mailer, third, BASE).await.unwrap(), (1, 0));
    assert_eq!(mail::send_due(&app.db, &mailer, after(third, Duration::from_secs(7200)), BASE).await.unwrap(), (0, 0));
    let received = server.received();
    assert_eq!(received.len(), 1);
    assert_eq!(Parsed::of(&received[0].data).header("Subject"), "Срок ответа истёк");
    let stored = &notifications::of_finding(&app.db, 7).await.unwrap()[0];
    assert_eq!((stored.attempts, stored.sent_at), (3, Some(third)));
    assert_eq!(notifications::pending_count(&app.db).await.unwrap(), 0);
}

#[tokio::test]
async fn an_unavailable_server_ends_the_run_and_a_silent_one_times_out() {
    let app = spawn_app().await;
    let mut people = Vec::new();
    for _ in 0..3 {
        people.push(app.user(&["citizen"], None, None).await);
    }
    let now = enqueue(
        &app.db,
        people.iter().map(|p| message(p.id, "finding.delivered", "Замечание доставлено", "Текст")).collect(),
    )
    .await;

    // 421 to the first: the other two are not tried, but wait as if they were.
    let busy = SmtpServer::start(Mode::Busy).await;
    let mailer = Mailer::new(&busy.url(), FROM).unwrap();
    assert_eq!(mail::send_due(&app.db, &mailer, now, BASE).await.unwrap(), (0, 3));
    assert_eq!(busy.sessions(), 1);
    for stored in notifications::of_finding(&app.db, 7).await.unwrap() {
        assert_eq!((stored.attempts, stored.next_attempt_at), (1, after(now, BASE)));
    }

    // A server that never answers is given up on after the timeout.
    let silent = SmtpServer::start(Mode::Silent).await;
    let mailer = Mailer::new(&silent.url(), FROM).unwrap().with_timeout(Duration::from_millis(300));
    let later = after(now, BASE);
    let started = std::time::Instant::now();
    assert_eq!(mail::send_due(&app.db, &mailer, later, BASE).await.unwrap(), (0, 3));
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    assert_eq!(silent.sessions(), 1);
    for stored in notifications::of_finding(&app.db, 7).await.unwrap() {
        assert_eq!((stored.attempts, stored.sent_at), (2, None));
        assert!(stored.last_error.unwrap().contains("did not finish"));
    }
    assert_eq!(notifications::pending_count(&app.db).await.unwrap(), 3);
}

#[tokio::test]
async fn erased_and_disabled_people_get_nothing() {
    let app = spawn_app().await;
    let server = SmtpServer::start(Mode::Accept).await;
    let mailer = Mailer::new(&server.url(), FROM).unwrap();
    let (kept, erased, disabled) = (
        app.user(&["citizen"], None, None).await,
        app.user(&["citizen"], None, None).await,
        app.user(&["citizen"], None, None).await,
    );
    let operator = Actor::System("test");
    let changes = AccountChanges { display_name: None, disabled: Some(true) };
    accounts::update(&app.db, &operator, disabled.id, None, changes).await.unwrap();
    let now = enqueue(
        &app.db,
        [&kept, &erased, &disabled]
            .iter()
            .map(|p| message(p.id, "recommendation.answered", "Ответ на рекомендацию", "Текст"))
            .collect(),
    )
    .await;
    // Erased after the message was queued, before it went out.
    accounts::erase(&app.db, &operator, erased.id).await.unwrap();

    assert_eq!(mail::send_due(&app.db, &mailer, now, BASE).await.unwrap(), (1, 0));
    let received = server.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].rcpt_to, [format!("<{}>", kept.email)]);
    for stored in notifications::of_finding(&app.db, 7).await.unwrap() {
        if stored.recipient_account_id == kept.id {
            assert_eq!(stored.sent_at, Some(now));
        } else if stored.recipient_account_id == erased.id {
            // Dropped by the erasure itself, in its transaction.
            assert_eq!((stored.sent_at, stored.dropped_at.is_some(), stored.attempts), (None, true, 0));
        } else {
            assert_eq!((stored.sent_at, stored.dropped_at, stored.attempts), (None, Some(now), 0));
        }
    }
    assert_eq!(notifications::pending_count(&app.db).await.unwrap(), 0);
    assert_eq!(mail::send_due(&app.db, &mailer, after(now, Duration::from_secs(3600)), BASE).await.unwrap(), (0, 0));
    assert_eq!(server.received().len(), 1);
}

#[tokio::test]
async fn a_rolled_back_write_leaves_no_message() {
    let app = spawn_app().await;
    let server = SmtpServer::start(Mode::Accept).await;
    let mailer = Mailer::new(&server.url(), FROM).unwrap();
    let alice = app.user(&["citizen"], None, None).await;
    let write = Write::begin(&app.db).await.unwrap();
    let now = write.now();
    notifications::enqueue(write.txn(), now, vec![message(alice.id, "finding.delivered", "Тема", "Текст")])
        .await
        .unwrap();
    // The change fails after the message was queued: the write is dropped, not committed.
    drop(write);

    assert_eq!(notifications::pending_count(&app.db).await.unwrap(), 0);
    assert!(notifications::of_finding(&app.db, 7).await.unwrap().is_empty());
    assert_eq!(mail::send_due(&app.db, &mailer, now, BASE).await.unwrap(), (0, 0));
    assert_eq!(server.sessions(), 0);
}

#[tokio::test]
async fn two_senders_never_send_one_message_twice() {
    let app = spawn_app().await;
    let server = SmtpServer::start(Mode::Accept).await;
    let mailer = Mailer::new(&server.url(), FROM).unwrap();
    let mut people = Vec::new();
    for _ in 0..4 {
        people.push(app.user(&["citizen"], None, None).await);
    }
    let now = enqueue(
        &app.db,
        people.iter().map(|p| message(p.id, "finding.delivered", "Замечание доставлено", "Текст")).collect(),
    )
    .await;

    let (first, second) =
        tokio::join!(mail::send_due(&app.db, &mailer, now, BASE), mail::send_due(&app.db, &mailer, now, BASE));
    let (first, second) = (first.unwrap(), second.unwrap());
    assert_eq!(first.0 + second.0, 4, "{first:?} {second:?}");
    let mut recipients: Vec<_> = server.received().into_iter().flat_map(|r| r.rcpt_to).collect();
    recipients.sort();
    recipients.dedup();
    assert_eq!(recipients.len(), 4);
    assert_eq!(server.received().len(), 4);
}

#[tokio::test]
async fn the_background_task_sends_what_is_enqueued() {
    let app = spawn_app().await;
    let server = SmtpServer::start(Mode::Accept).await;
    let mailer = Mailer::new(&server.url(), FROM).unwrap();
    let alice = app.user(&["citizen"], None, None).await;
    let task = mail::spawn(app.db.clone(), mailer, Duration::from_secs(1));
    enqueue(&app.db, vec![message(alice.id, "finding.delivered", "Замечание доставлено", "Текст")]).await;

    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while server.received().is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    task.abort();
    assert_eq!(server.received().len(), 1);
    assert_eq!(notifications::pending_count(&app.db).await.unwrap(), 0);
}
