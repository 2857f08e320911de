use crate::helpers::{assert_problem, spawn_app};

#[tokio::test]
async fn liveness_answers_ok() {
    let app = spawn_app().await;
    assert_eq!(app.get_json("/healthz").await["status"], "ok");
}

#[tokio::test]
async fn readiness_follows_the_database() {
    let app = spawn_app().await;
    assert_eq!(app.get_json("/readyz").await["status"], "ready");

    app.db.close_by_ref().await.expect("pool closes");
    let problem = assert_problem(app.get("/readyz").await, 503).await;
    assert_eq!(problem["type"], "/problems/database-unavailable");
    // Liveness does not depend on the database.
    assert_eq!(app.get_json("/healthz").await["status"], "ok");
}
