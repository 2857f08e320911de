//! The working-day calendar the deadlines of public control count on (Law No. 30-VIII, Art. 13):
//! a year's days off and worked rest days, and a deadline counted in working days.

use std::sync::Arc;

use poem::Request;
use poem::http::StatusCode;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};

use domain::clock::Clock;
use domain::findings::calendar::{self, Calendar, CalendarError, CalendarVersion, Holiday, OffReason};
use domain::names::Language;

use super::ApiTags;
use crate::dto::Day;
use crate::dto::{LocalizedName, Timestamp, preferred_language};
use crate::error::{ApiError, ApiResult, InvalidParam, Problem};

pub struct CalendarApi {
    pub calendar: Arc<Calendar>,
    pub clock: Clock,
}

/// A version of the calendar: the holidays and transfers as the law stood from a day on.
#[derive(Debug, Clone, Object)]
pub struct CalendarVersionRef {
    /// The version's id, which a deadline records and `version=` selects, e.g. `2026-03-15`.
    pub id: String,
    /// The first day (in Kazakhstan) this version is the calendar in force.
    pub effective_from: Day,
    /// The act or event the version records.
    pub source: String,
}

impl From<&CalendarVersion> for CalendarVersionRef {
    fn from(version: &CalendarVersion) -> Self {
        CalendarVersionRef {
            id: version.id().to_owned(),
            effective_from: version.effective_from().into(),
            source: version.source().to_owned(),
        }
    }
}

/// Why a weekday is off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum CalendarDayOffKind {
    /// A holiday (Law No. 267-II "On holidays", Art. 5).
    Holiday,
    /// The day off of a holiday that fell on a Saturday or Sunday.
    CarriedOver,
    /// Made a day off by a transfer of rest days (Labour Code Art. 85 p. 3).
    Transferred,
}

/// A weekday that is not a working day.
#[derive(Debug, Clone, Object)]
pub struct CalendarDayOff {
    /// The day.
    pub date: Day,
    /// `holiday`, `carried_over` or `transferred`.
    pub kind: CalendarDayOffKind,
    /// The holiday: the day's own for `holiday`, the one carried over for `carried_over`.
    #[oai(skip_serializing_if_is_none)]
    pub holiday: Option<LocalizedName>,
    /// For `carried_over`: the Saturday or Sunday holiday whose day off this is.
    #[oai(skip_serializing_if_is_none)]
    pub carried_from: Option<Day>,
    /// For `transferred`: the resolution or order that made the transfer.
    #[oai(skip_serializing_if_is_none)]
    pub act: Option<String>,
    /// What is uncertain or unusual about the date, e.g. Kurban Ait before the moon is sighted.
    #[oai(skip_serializing_if_is_none)]
    pub note: Option<String>,
    /// Why the day is off, in plain English.
    pub why: String,
}

/// A Saturday or Sunday made a working day by a transfer of rest days.
#[derive(Debug, Clone, Object)]
pub struct CalendarWorkingDay {
    /// The day.
    pub date: Day,
    /// The resolution or order that made the transfer.
    pub act: String,
    /// The weekday made a day off in exchange.
    pub day_off: Day,
    /// Why the day is worked, in plain English.
    pub why: String,
}

/// A holiday, whatever day of the week it falls on.
#[derive(Debug, Clone, Object)]
pub struct CalendarHoliday {
    /// The day.
    pub date: Day,
    /// A key that stays the same every year: `new-year`, `nauryz`, `kurban-ait`, …
    pub id: String,
    /// The holiday's name.
    pub name: LocalizedName,
    /// Whether, on a Saturday or Sunday, its day off moves to the next working day (never for
    /// 7 January and Kurban Ait, Labour Code Art. 84 p. 5).
    pub carries_over: bool,
    /// Whether it falls on a Saturday or Sunday.
    pub on_weekend: bool,
    /// What is uncertain or unusual about the date.
    #[oai(skip_serializing_if_is_none)]
    pub note: Option<String>,
}

/// One year of the working-day calendar. The week is Monday to Friday; every other day off
/// and every worked Saturday or Sunday is listed.
#[derive(Debug, Clone, Object)]
pub struct CalendarYear {
    /// The year.
    pub year: i32,
    /// Whether dates of this year are not yet fixed by the acts (a holiday not yet announced,
    /// transfers not yet made): deadlines that reach into it may move.
    pub provisional: bool,
    /// The calendar version this year is shown as.
    pub version: CalendarVersionRef,
    /// Every weekday off, in date order.
    pub days_off: Vec<CalendarDayOff>,
    /// Every Saturday or Sunday that is a working day, in date order.
    pub working_days: Vec<CalendarWorkingDay>,
    /// Every holiday, weekends included, in date order.
    pub holidays: Vec<CalendarHoliday>,
    /// The acts the year's dates come from.
    pub source: String,
    /// Remarks on the year.
    pub notes: Vec<String>,
}

/// Why a day was not counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum CalendarSkippedReason {
    /// A Saturday or Sunday (perhaps a holiday too).
    Weekend,
    /// A holiday on a weekday.
    Holiday,
    /// The day off of a holiday that fell on a Saturday or Sunday.
    CarriedOver,
    /// Made a day off by a transfer of rest days.
    Transferred,
}

/// A day a deadline passed over.
#[derive(Debug, Clone, Object)]
pub struct CalendarSkippedDay {
    /// The day.
    pub date: Day,
    /// `weekend`, `holiday`, `carried_over` or `transferred`.
    pub reason: CalendarSkippedReason,
    /// Why the day was not counted, in plain English, e.g. "carried over from Saturday
    /// 21 March 2026 (Nauryz meiramy)".
    pub why: String,
}

/// A term of working days, counted on the calendar.
#[derive(Debug, Clone, Object)]
pub struct CalendarDeadline {
    /// The day of the event the term counts from; not itself counted.
    pub from: Day,
    /// The length of the term in working days.
    pub working_days: u32,
    /// The last day of the term: the `working_days`th working day after `from`.
    pub due: Day,
    /// When the due date ends: the next midnight in Kazakhstan (UTC+5; UTC+6 before
    /// 1 March 2024), in UTC (RFC 3339).
    pub due_ends_at: Timestamp,
    /// The calendar version the term was counted on.
    pub version: CalendarVersionRef,
    /// Whether a day counted or skipped lies in a provisional year, so `due` may move.
    pub provisional: bool,
    /// Every day after `from` and before `due` that was not counted, in date order.
    pub skipped: Vec<CalendarSkippedDay>,
}

#[derive(ApiResponse)]
pub enum CalendarYearResponse {
    /// The year's days off and worked rest days.
    #[oai(status = 200)]
    Ok(Json<CalendarYear>),
}

#[derive(ApiResponse)]
pub enum CalendarDeadlineResponse {
    /// The due date, with every day skipped on the way.
    #[oai(status = 200)]
    Ok(Json<CalendarDeadline>),
}

fn holiday_name(holiday: &Holiday, language: Language) -> LocalizedName {
    let name = holiday.name.clone();
    LocalizedName::new(Some(name.ru), Some(name.kk), Some(name.en), language)
}

fn day_off(day: calendar::DayOff, language: Language) -> CalendarDayOff {
    let why = day.why();
    let (kind, carried_from, act) = match &day.reason {
        OffReason::CarriedOver { from, .. } => (CalendarDayOffKind::CarriedOver, Some(*from), None),
        OffReason::Transferred(transfer) => (CalendarDayOffKind::Transferred, None, Some(transfer.act.clone())),
        OffReason::Holiday(_) | OffReason::Weekend { .. } => (CalendarDayOffKind::Holiday, None, None),
    };
    let holiday = day.reason.holiday();
    CalendarDayOff {
        date: day.date.into(),
        kind,
        holiday: holiday.map(|h| holiday_name(h, language)),
        carried_from: carried_from.map(Into::into),
        act,
        note: holiday.and_then(|h| h.note.clone()),
        why,
    }
}

fn skipped_reason(reason: &OffReason) -> CalendarSkippedReason {
    match reason {
        OffReason::Weekend { .. } => CalendarSkippedReason::Weekend,
        OffReason::Holiday(_) => CalendarSkippedReason::Holiday,
        OffReason::CarriedOver { .. } => CalendarSkippedReason::CarriedOver,
        OffReason::Transferred(_) => CalendarSkippedReason::Transferred,
    }
}

/// A 404 naming the parameter that selected nothing.
fn nothing_at(name: &str, reason: String) -> ApiError {
    ApiError::NotFound(Json(Problem {
        invalid_params: vec![InvalidParam { name: name.to_owned(), reason: reason.clone() }],
        ..Problem::new(StatusCode::NOT_FOUND, "not-found", reason)
    }))
}

impl CalendarApi {
    /// The version asked for, or the one in effect today in Kazakhstan.
    fn version(&self, id: Option<&str>) -> ApiResult<&CalendarVersion> {
        match id {
            None => Ok(self.calendar.in_effect(calendar::kazakhstan_date(self.clock.now()))),
            Some(id) => self.calendar.version(id).ok_or_else(|| {
                let known: Vec<_> = self.calendar.versions().iter().map(CalendarVersion::id).collect();
                nothing_at(
                    "version",
                    format!("calendar version `{id}` does not exist; the versions are {}", known.join(", ")),
                )
            }),
        }
    }
}

#[OpenApi(tag = "ApiTags::Calendar")]
impl CalendarApi {
    /// Get a year of the working-day calendar
    ///
    /// The year's weekdays off (holidays, days off carried over from holidays on a Saturday or
    /// Sunday, days off by transfer), its worked Saturdays and Sundays, and all its holidays,
    /// as the calendar version in effect today shows them (or the version asked for). Every
    /// other Monday to Friday is a working day. 404 for a year the calendar does not cover.
    #[oai(path = "/v1/calendar/:year", method = "get", operation_id = "getCalendarYear")]
    async fn year(
        &self,
        req: &Request,
        /// The year, e.g. `2026`.
        #[oai(name = "year")]
        year: Path<i32>,
        /// A calendar version's id; the version in effect today when absent.
        #[oai(name = "version", validator(min_length = 1, max_length = 32))]
        version: Query<Option<String>>,
    ) -> ApiResult<CalendarYearResponse> {
        let version = self.version(version.0.as_deref())?;
        let Some(calendar) = version.year(year.0) else {
            let years = version.years();
            return Err(nothing_at(
                "year",
                format!(
                    "the working-day calendar has no year {}; it covers the years {} to {}",
                    year.0,
                    years.start(),
                    years.end()
                ),
            ));
        };
        let language = preferred_language(req);
        Ok(CalendarYearResponse::Ok(Json(CalendarYear {
            year: calendar.year,
            provisional: calendar.provisional,
            version: version.into(),
            days_off: calendar.days_off.into_iter().map(|day| day_off(day, language)).collect(),
            working_days: calendar
                .working_days
                .into_iter()
                .map(|day| CalendarWorkingDay {
                    date: day.date.into(),
                    why: day.why(),
                    act: day.transfer.act,
                    day_off: day.transfer.off.into(),
                })
                .collect(),
            holidays: calendar
                .holidays
                .iter()
                .map(|holiday| CalendarHoliday {
                    date: holiday.date.into(),
                    id: holiday.id.clone(),
                    name: holiday_name(holiday, language),
                    carries_over: holiday.carries_over,
                    on_weekend: holiday.on_weekend(),
                    note: holiday.note.clone(),
                })
                .collect(),
            source: calendar.source,
            notes: calendar.notes,
        })))
    }

    /// Count a deadline in working days
    ///
    /// The due date of a term of `working_days` working days after `from`, as the deadlines of
    /// public control count (Law No. 30-VIII, Art. 13): counting starts the day after `from`,
    /// and the term ends at the end of its last working day in Kazakhstan. Every day passed
    /// over is listed with the reason. Counted on the calendar version in effect today, or
    /// the one asked for. 422 when `from` or the end of the term is outside the years the
    /// calendar covers.
    #[oai(path = "/v1/calendar/deadline", method = "get", operation_id = "computeDeadline")]
    async fn deadline(
        &self,
        /// The day of the event the term counts from (`YYYY-MM-DD`, Kazakhstan's date).
        #[oai(name = "from")]
        from: Query<Day>,
        /// The length of the term, 1 to 250 working days (7 to deliver a final document,
        /// 10 to answer it).
        #[oai(name = "working_days", validator(minimum(value = "1"), maximum(value = "250")))]
        working_days: Query<u32>,
        /// A calendar version's id; the version in effect today when absent.
        #[oai(name = "version", validator(min_length = 1, max_length = 32))]
        version: Query<Option<String>>,
    ) -> ApiResult<CalendarDeadlineResponse> {
        let version = self.version(version.0.as_deref())?;
        let deadline = version.add_working_days(from.0.into(), working_days.0).map_err(|error| match &error {
            CalendarError::OutOfRange { .. } => ApiError::unprocessable("from", error.to_string()),
            CalendarError::PastEnd { .. } => ApiError::unprocessable("working_days", error.to_string()),
            _ => ApiError::internal(&error),
        })?;
        Ok(CalendarDeadlineResponse::Ok(Json(CalendarDeadline {
            from: deadline.from.into(),
            working_days: deadline.working_days,
            due: deadline.due.into(),
            due_ends_at: calendar::end_of_day(deadline.due).into(),
            version: version.into(),
            provisional: deadline.provisional,
            skipped: deadline
                .skipped
                .iter()
                .map(|day| CalendarSkippedDay {
                    date: day.date.into(),
                    reason: skipped_reason(&day.reason),
                    why: day.why(),
                })
                .collect(),
        })))
    }
}
