//! A local HTTP server that plays an upstream: recorded pages in their real format, with
//! scripted failures (429, 500, slow answers, HTML instead of JSON) before success.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use poem::listener::{Acceptor, Listener, TcpListener};
use poem::{EndpointExt, Request, Response, Server, handler, http::StatusCode, web::Data};

/// One scripted answer.
#[derive(Clone, Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
    pub content_type: &'static str,
    pub delay: Duration,
    pub retry_after: Option<&'static str>,
}

impl Answer {
    pub fn json(body: impl Into<Vec<u8>>) -> Answer {
        Answer {
            status: 200,
            body: body.into(),
            content_type: "application/json",
            delay: Duration::ZERO,
            retry_after: None,
        }
    }
    pub fn status(status: u16) -> Answer {
        Answer { status, body: b"{\"error\":\"try later\"}".to_vec(), ..Answer::json("") }
    }
    pub fn html() -> Answer {
        Answer {
            body: b"<!DOCTYPE html><html><body>502 Bad Gateway</body></html>".to_vec(),
            content_type: "text/html",
            ..Answer::json("")
        }
    }
    pub fn after(mut self, delay: Duration) -> Answer {
        self.delay = delay;
        self
    }
    pub fn retry_after(mut self, value: &'static str) -> Answer {
        self.retry_after = Some(value);
        self
    }
}

#[derive(Default)]
struct Script {
    /// Path with query → answers, taken in order; the last one repeats.
    answers: HashMap<String, Vec<Answer>>,
    hits: HashMap<String, usize>,
}

#[derive(Clone)]
pub struct Upstream {
    pub base_url: String,
    script: Arc<Mutex<Script>>,
}

#[handler]
async fn answer(req: &Request, script: Data<&Arc<Mutex<Script>>>) -> Response {
    let full = req.uri().path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_default();
    let found = {
        let mut script = script.lock().unwrap();
        // An exact path and query first; else the path alone (for queries with today's dates).
        let key = if script.answers.contains_key(&full) { full.clone() } else { req.uri().path().to_owned() };
        let hit = *script.hits.entry(key.clone()).and_modify(|n| *n += 1).or_insert(1);
        script.answers.get(&key).map(|answers| answers[(hit - 1).min(answers.len() - 1)].clone())
    };
    let Some(found) = found else {
        return Response::builder().status(StatusCode::NOT_FOUND).body(format!("no recorded page for {full}"));
    };
    tokio::time::sleep(found.delay).await;
    let mut builder =
        Response::builder().status(StatusCode::from_u16(found.status).unwrap()).content_type(found.content_type);
    if let Some(value) = found.retry_after {
        builder = builder.header("Retry-After", value);
    }
    builder.body(found.body)
}

impl Upstream {
    pub async fn start() -> Upstream {
        let script = Arc::new(Mutex::new(Script::default()));
        let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.unwrap();
        let address = acceptor.local_addr()[0].as_socket_addr().copied().unwrap();
        let app = answer.data(script.clone());
        tokio::spawn(Server::new_with_acceptor(acceptor).run(app.map_to_response()));
        Upstream { base_url: format!("http://{address}"), script }
    }

    /// Answers `path_and_query` (or, without `?`, the path whatever the query) with `answers`,
    /// in order (the last one repeats).
    pub fn on(&self, path_and_query: &str, answers: Vec<Answer>) {
        self.script.lock().unwrap().answers.insert(path_and_query.to_owned(), answers);
    }

    /// How many requests `path_and_query` received.
    pub fn hits(&self, path_and_query: &str) -> usize {
        self.script.lock().unwrap().hits.get(path_and_query).copied().unwrap_or(0)
    }
}
