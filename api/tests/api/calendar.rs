//! The working-day calendar through HTTP: a year's days off and a deadline counted on it.

use serde_json::Value;

use crate::helpers::{assert_problem, invalid_param_name, spawn_app};

fn dates(list: &Value) -> Vec<&str> {
    list.as_array().unwrap().iter().map(|day| day["date"].as_str().unwrap()).collect()
}

fn day<'a>(list: &'a Value, date: &str) -> &'a Value {
    list.as_array().unwrap().iter().find(|day| day["date"] == date).unwrap_or_else(|| panic!("{date} in {list}"))
}

#[tokio::test]
async fn the_2026_calendar_lists_nauryz_and_kurban_ait_and_not_31_august() {
    let app = spawn_app().await;
    let year = app.get_json("/v1/calendar/2026?version=2026-03-15").await;
    assert_eq!(year["year"], 2026);
    assert_eq!(year["provisional"], false);
    assert_eq!(year["version"]["id"], "2026-03-15");
    assert_eq!(year["version"]["effective_from"], "2026-03-15");
    assert!(year["version"]["source"].as_str().unwrap().contains("referendum"));
    let off = dates(&year["days_off"]);
    assert_eq!(
        off,
        [
            "2026-01-01",
            "2026-01-02",
            "2026-01-07",
            "2026-03-09",
            "2026-03-23",
            "2026-03-24",
            "2026-03-25",
            "2026-05-01",
            "2026-05-07",
            "2026-05-11",
            "2026-05-27",
            "2026-07-06",
            "2026-10-26",
            "2026-12-16",
        ]
    );
    assert!(!off.contains(&"2026-08-31"));
    let nauryz = day(&year["days_off"], "2026-03-23");
    assert_eq!(nauryz["kind"], "holiday");
    assert_eq!(nauryz["holiday"]["kk"], "Наурыз мейрамы");
    assert_eq!(nauryz["why"], "Nauryz meiramy (holiday)");
    let carried = day(&year["days_off"], "2026-03-24");
    assert_eq!(carried["kind"], "carried_over");
    assert_eq!(carried["carried_from"], "2026-03-21");
    assert_eq!(carried["why"], "carried over from Saturday 21 March 2026 (Nauryz meiramy)");
    let kurban = day(&year["days_off"], "2026-05-27");
    assert_eq!(kurban["kind"], "holiday");
    assert_eq!(kurban["holiday"]["en"], "Kurban Ait");
    assert!(kurban["note"].as_str().unwrap().contains("not confirmed"));
    assert_eq!(year["working_days"], serde_json::json!([]));
    let womens_day = day(&year["holidays"], "2026-03-08");
    assert_eq!(womens_day["on_weekend"], true);
    assert_eq!(womens_day["carries_over"], true);
    assert!(year["holidays"].as_array().unwrap().iter().all(|h| h["date"] != "2026-08-30"));

    // The calendar as it stood before the new Constitution: Constitution Day carried to 31 August.
    let before = app.get_json("/v1/calendar/2026?version=2025-11-21").await;
    let carried = day(&before["days_off"], "2026-08-31");
    assert_eq!(carried["kind"], "carried_over");
    assert_eq!(carried["carried_from"], "2026-08-30");
    assert_eq!(carried["holiday"]["en"], "Constitution Day");
}

#[tokio::test]
async fn a_year_is_shown_as_the_version_in_effect_today() {
    let app = spawn_app().await;
    app.clock.set("2026-03-14T18:59:00Z".parse().unwrap()); // 23:59 on 14 March in Kazakhstan
    let year = app.get_json("/v1/calendar/2026").await;
    assert_eq!(year["version"]["id"], "2025-11-21");
    assert!(dates(&year["days_off"]).contains(&"2026-08-31"));
    app.clock.set("2026-03-14T19:00:00Z".parse().unwrap()); // midnight, 15 March
    let year = app.get_json("/v1/calendar/2026").await;
    assert_eq!(year["version"]["id"], "2026-03-15");
    assert!(!dates(&year["days_off"]).contains(&"2026-08-31"));
}

#[tokio::test]
async fn a_transferred_saturday_is_a_working_day() {
    let app = spawn_app().await;
    let year = app.get_json("/v1/calendar/2024").await;
    let saturday = day(&year["working_days"], "2024-05-04");
    assert_eq!(saturday["act"], "Ministry of Labour order of 17 Apr 2024");
    assert_eq!(saturday["day_off"], "2024-05-08");
    let wednesday = day(&year["days_off"], "2024-05-08");
    assert_eq!(wednesday["kind"], "transferred");
    assert_eq!(wednesday["act"], "Ministry of Labour order of 17 Apr 2024");
    assert_eq!(wednesday["why"], "day off by transfer: Ministry of Labour order of 17 Apr 2024");
    let provisional = app.get_json("/v1/calendar/2027").await;
    assert_eq!(provisional["provisional"], true);
}

#[tokio::test]
async fn seven_working_days_from_19_march_2026_skip_nauryz() {
    let app = spawn_app().await;
    let deadline = app.get_json("/v1/calendar/deadline?from=2026-03-19&working_days=7&version=2026-03-15").await;
    assert_eq!(deadline["from"], "2026-03-19");
    assert_eq!(deadline["working_days"], 7);
    assert_eq!(deadline["due"], "2026-04-02");
    assert_eq!(deadline["due_ends_at"], "2026-04-02T19:00:00Z");
    assert_eq!(deadline["version"]["id"], "2026-03-15");
    assert_eq!(deadline["provisional"], false);
    let skipped: Vec<(&str, &str, &str)> = deadline["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["date"].as_str().unwrap(), d["reason"].as_str().unwrap(), d["why"].as_str().unwrap()))
        .collect();
    assert_eq!(
        skipped,
        [
            ("2026-03-21", "weekend", "Saturday, also Nauryz meiramy (holiday)"),
            ("2026-03-22", "weekend", "Sunday, also Nauryz meiramy (holiday)"),
            ("2026-03-23", "holiday", "Nauryz meiramy (holiday)"),
            ("2026-03-24", "carried_over", "carried over from Saturday 21 March 2026 (Nauryz meiramy)"),
            ("2026-03-25", "carried_over", "carried over from Sunday 22 March 2026 (Nauryz meiramy)"),
            ("2026-03-28", "weekend", "Saturday"),
            ("2026-03-29", "weekend", "Sunday"),
        ]
    );
}

#[tokio::test]
async fn the_deadline_depends_on_the_version() {
    let app = spawn_app().await;
    let old = app.get_json("/v1/calendar/deadline?from=2026-08-28&working_days=1&version=2025-11-21").await;
    assert_eq!(old["due"], "2026-09-01");
    assert_eq!(old["skipped"][2]["reason"], "carried_over");
    let new = app.get_json("/v1/calendar/deadline?from=2026-08-28&working_days=1&version=2026-03-15").await;
    assert_eq!(new["due"], "2026-08-31");
    // Before 1 March 2024 Kazakhstan was on UTC+6, and into 2027 the count is provisional.
    let early = app.get_json("/v1/calendar/deadline?from=2023-06-01&working_days=1").await;
    assert_eq!(early["due_ends_at"], "2023-06-02T18:00:00Z");
    let late = app.get_json("/v1/calendar/deadline?from=2026-12-30&working_days=3").await;
    assert_eq!(late["due"], "2027-01-06");
    assert_eq!(late["provisional"], true);
}

#[tokio::test]
async fn bad_dates_years_and_versions_are_problems_naming_the_parameter() {
    let app = spawn_app().await;
    let problem = assert_problem(app.get("/v1/calendar/deadline?from=2026-13-01&working_days=7").await, 400).await;
    assert_eq!(invalid_param_name(&problem), "from");
    let problem = assert_problem(app.get("/v1/calendar/deadline?from=2030-01-07&working_days=7").await, 422).await;
    assert_eq!(invalid_param_name(&problem), "from");
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("2030-01-07") && detail.contains("2023 to 2027"), "{detail}");
    let problem = assert_problem(app.get("/v1/calendar/deadline?from=2027-12-28&working_days=10").await, 422).await;
    assert_eq!(invalid_param_name(&problem), "working_days");
    for bad in ["0", "251", "seven"] {
        let path = format!("/v1/calendar/deadline?from=2026-03-19&working_days={bad}");
        let problem = assert_problem(app.get(&path).await, 400).await;
        assert_eq!(invalid_param_name(&problem), "working_days", "{bad}");
    }
    let problem = assert_problem(app.get("/v1/calendar/deadline?working_days=7").await, 400).await;
    assert_eq!(invalid_param_name(&problem), "from");

    let problem = assert_problem(app.get("/v1/calendar/2030").await, 404).await;
    assert_eq!(invalid_param_name(&problem), "year");
    assert!(problem["detail"].as_str().unwrap().contains("2023 to 2027"));
    let problem = assert_problem(app.get("/v1/calendar/twenty").await, 400).await;
    assert_eq!(invalid_param_name(&problem), "year");
    let problem = assert_problem(app.get("/v1/calendar/2026?version=2020-01-01").await, 404).await;
    assert_eq!(invalid_param_name(&problem), "version");
    let path = "/v1/calendar/deadline?from=2026-03-19&working_days=7&version=nope";
    let problem = assert_problem(app.get(path).await, 404).await;
    assert_eq!(invalid_param_name(&problem), "version");
}
