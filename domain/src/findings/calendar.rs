//! Kazakhstan's working-day calendar, kept as data, and the deadline arithmetic on it.
//!
//! The deadlines of public control count working days: the subject of control sends the final
//! document no later than 7 working days after control is completed, the object answers each
//! recommendation no later than 10 working days after receiving it, and a hearing is announced
//! no later than 3 working days before the decision (Law No. 30-VIII of 2 October 2023 "On
//! public control", Art. 13).
//!
//! **Counting.** A term of N working days counts from the day after the event: the first day
//! counted is `from + 1`, and the term is due on the Nth working day after `from`, ending at the
//! end of that day in Kazakhstan ([`end_of_day`]). Article 13 does not spell this out; it is
//! the common rule for terms in days. Zero working days are due on `from` itself, whatever day
//! that is. Every non-working day passed over on the way is reported with its reason.
//!
//! **The calendar.** A working week is Monday to Friday. Holidays (Law No. 267-II "On
//! holidays", Art. 5) are days off; a holiday on a Saturday or Sunday moves the day off to the
//! next working day, except 7 January and the first day of Kurban Ait (Labour Code Art. 84
//! p. 5). Each year a Government resolution (until 2023) or a Ministry of Labour order (since
//! 2024) may swap a rest day and a working day (Labour Code Art. 85 p. 3). All of it is data in
//! `fixtures/calendar/kz.toml`, which cites the acts: every holiday, every carried-over day and
//! every transfer is written down, and nothing is derived from the rules at run time (the tests
//! derive them, to check the file).
//!
//! **Versions.** The calendar changes when the law does: the Constitution adopted by the
//! referendum of 15 March 2026 ended 30 August as a holiday from 2026 and made 15 March
//! Constitution Day from 2027. Each version has an id, the day it took effect and its source;
//! an entry of the file may be added (`since`) or removed (`until`) in a version. A deadline
//! records the version it was counted on, so it can be counted again the same way.
//!
//! **Time.** Dates are Kazakhstan's: the whole country is on UTC+5 since 1 March 2024
//! (Almaty and Astana were on UTC+6 before), as the tz database's `Asia/Almaty` says.

use std::collections::{BTreeMap, HashMap};
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Asia::Almaty;
use serde::{Deserialize, Serialize};

/// The calendar shipped with Scrutiny.
const SHIPPED: &str = include_str!("../../../fixtures/calendar/kz.toml");

/// What can go wrong reading the calendar or asking it about a day.
#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    #[error("cannot read the calendar file {}: {source}", .path.display())]
    Read { path: PathBuf, source: std::io::Error },
    /// The text is not TOML, or not in the calendar's format; toml's message names the line.
    #[error("the calendar file is malformed: {0}")]
    Format(#[from] toml::de::Error),
    /// An entry contradicts another or the calendar's rules.
    #[error("calendar entry {entry}: {reason}")]
    Invalid { entry: String, reason: String },
    #[error("{date} is outside the working-day calendar, which covers the years {} to {}", .years.start(), .years.end())]
    OutOfRange { date: NaiveDate, years: RangeInclusive<i32> },
    #[error("{working_days} working days from {from} run past {last}, the last day the working-day calendar covers")]
    PastEnd { from: NaiveDate, working_days: u32, last: NaiveDate },
}

fn invalid(entry: impl Into<String>, reason: impl Into<String>) -> CalendarError {
    CalendarError::Invalid { entry: entry.into(), reason: reason.into() }
}

/// A holiday's name in Russian, Kazakh and English.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HolidayName {
    pub ru: String,
    pub kk: String,
    pub en: String,
}

/// One day of a holiday (Nauryz is three).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Holiday {
    pub date: NaiveDate,
    /// A stable key, the same every year: `nauryz`, `kurban-ait`, …
    pub id: String,
    pub name: HolidayName,
    /// Whether, falling on a Saturday or Sunday, it moves the day off to the next working day.
    pub carries_over: bool,
    /// What is uncertain or unusual about this date.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Holiday {
    /// Whether it falls on a Saturday or Sunday.
    pub fn on_weekend(&self) -> bool {
        is_weekend(self.date)
    }
}

/// A swap of a rest day and a working day by the authorised body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Transfer {
    /// The act that made it, e.g. "Ministry of Labour order of 17 Apr 2024".
    pub act: String,
    /// The weekday that becomes a day off.
    pub off: NaiveDate,
    /// The rest day that becomes a working day; `None` when none does under a five-day week.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// What a day is, in one version of the calendar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "day", rename_all = "snake_case")]
pub enum Day {
    /// A working day; `transferred` when it is a rest day made a working day.
    Working {
        transferred: Option<Transfer>,
    },
    Off(OffReason),
}

impl Day {
    pub fn is_working(&self) -> bool {
        matches!(self, Day::Working { .. })
    }
}

/// Why a day is not a working day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OffReason {
    /// A Saturday or Sunday, which may also be a holiday.
    Weekend { also: Option<Holiday> },
    /// A holiday on a weekday.
    Holiday(Holiday),
    /// A weekday off because the holiday on `from`, a Saturday or Sunday, carries over to it.
    CarriedOver { from: NaiveDate, holiday: Holiday },
    /// A weekday made a day off by a transfer.
    Transferred(Transfer),
}

impl OffReason {
    /// `weekend`, `holiday`, `carried_over` or `transferred`.
    pub fn kind(&self) -> &'static str {
        match self {
            OffReason::Weekend { .. } => "weekend",
            OffReason::Holiday(_) => "holiday",
            OffReason::CarriedOver { .. } => "carried_over",
            OffReason::Transferred(_) => "transferred",
        }
    }

    /// The holiday behind the day off, if any.
    pub fn holiday(&self) -> Option<&Holiday> {
        match self {
            OffReason::Weekend { also } => also.as_ref(),
            OffReason::Holiday(holiday) | OffReason::CarriedOver { holiday, .. } => Some(holiday),
            OffReason::Transferred(_) => None,
        }
    }

    /// The reason in plain English, for the day `date` it applies to.
    pub fn why(&self, date: NaiveDate) -> String {
        match self {
            OffReason::Weekend { also: None } => weekday_name(date.weekday()).to_owned(),
            OffReason::Weekend { also: Some(holiday) } => {
                let mut why = format!("{}, also {} (holiday", weekday_name(date.weekday()), holiday.name.en);
                if !holiday.carries_over {
                    why.push_str(", not carried over");
                }
                why.push(')');
                why
            }
            OffReason::Holiday(holiday) => format!("{} (holiday)", holiday.name.en),
            OffReason::CarriedOver { from, holiday } => {
                format!("carried over from {} ({})", long_date(*from), holiday.name.en)
            }
            OffReason::Transferred(transfer) => format!("day off by transfer: {}", transfer.act),
        }
    }
}

/// A non-working day a deadline passed over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedDay {
    pub date: NaiveDate,
    pub reason: OffReason,
}

impl SkippedDay {
    /// Why the day was skipped, in plain English: "Saturday", "Nauryz meiramy (holiday)",
    /// "carried over from Sunday 8 March 2026 (International Women's Day)".
    pub fn why(&self) -> String {
        self.reason.why(self.date)
    }
}

/// A due date counted on the calendar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deadline {
    /// The event the term counts from (not itself counted).
    pub from: NaiveDate,
    pub working_days: u32,
    /// The last day of the term: the `working_days`th working day after `from`.
    pub due: NaiveDate,
    /// The id of the calendar version it was counted on.
    pub version: String,
    /// Whether any day counted or skipped lies in a provisional year, so the due date may move.
    pub provisional: bool,
    /// Every non-working day after `from` and before `due`, in order.
    pub skipped: Vec<SkippedDay>,
}

/// A weekday off (the days that would otherwise be working days).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DayOff {
    pub date: NaiveDate,
    pub reason: OffReason,
}

impl DayOff {
    /// Why the day is off, in plain English.
    pub fn why(&self) -> String {
        self.reason.why(self.date)
    }
}

/// A Saturday or Sunday made a working day by a transfer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkingDay {
    pub date: NaiveDate,
    pub transfer: Transfer,
}

impl WorkingDay {
    /// Why the rest day is worked, in plain English.
    pub fn why(&self) -> String {
        format!(
            "working day by transfer: {} (the day off moves to {})",
            self.transfer.act,
            long_date(self.transfer.off)
        )
    }
}

/// One year of one calendar version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct YearCalendar {
    pub year: i32,
    /// Whether dates of this year may still be announced or moved.
    pub provisional: bool,
    /// The acts the year's dates come from.
    pub source: String,
    pub notes: Vec<String>,
    /// Every holiday, weekends included, in date order.
    pub holidays: Vec<Holiday>,
    /// Every weekday off (holiday, carried over or transferred), in date order.
    pub days_off: Vec<DayOff>,
    /// Every rest day made a working day, in date order.
    pub working_days: Vec<WorkingDay>,
    /// The calendar version's id.
    pub version: String,
}

#[derive(Debug, Clone)]
struct YearData {
    provisional: bool,
    source: String,
    notes: Vec<String>,
    holidays: Vec<Holiday>,
}

/// The calendar as one version knows it.
#[derive(Debug, Clone)]
pub struct CalendarVersion {
    id: String,
    effective_from: NaiveDate,
    source: String,
    years: RangeInclusive<i32>,
    year_data: BTreeMap<i32, YearData>,
    /// Every day that is not a plain Monday-to-Friday working day or a plain weekend day.
    special: HashMap<NaiveDate, Day>,
}

impl CalendarVersion {
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The first day this version is the calendar in force.
    pub fn effective_from(&self) -> NaiveDate {
        self.effective_from
    }

    /// The act or event the version records.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The years covered.
    pub fn years(&self) -> RangeInclusive<i32> {
        self.years.clone()
    }

    /// Whether `year` is covered and provisional.
    pub fn is_provisional(&self, year: i32) -> bool {
        self.year_data.get(&year).is_some_and(|y| y.provisional)
    }

    /// What `date` is; an error outside the covered years.
    pub fn day(&self, date: NaiveDate) -> Result<Day, CalendarError> {
        if !self.years.contains(&date.year()) {
            return Err(CalendarError::OutOfRange { date, years: self.years.clone() });
        }
        Ok(self.special.get(&date).cloned().unwrap_or_else(|| plain_day(date)))
    }

    /// The `working_days`th working day after `from` (see the module's counting rule), with
    /// every day skipped on the way. Zero working days are due on `from`. An error when `from`
    /// is outside the covered years or the count runs past their end.
    pub fn add_working_days(&self, from: NaiveDate, working_days: u32) -> Result<Deadline, CalendarError> {
        if !self.years.contains(&from.year()) {
            return Err(CalendarError::OutOfRange { date: from, years: self.years.clone() });
        }
        let last = self.last_day();
        let mut date = from;
        let mut counted = 0;
        let mut provisional = false;
        let mut skipped = Vec::new();
        while counted < working_days {
            if date >= last {
                return Err(CalendarError::PastEnd { from, working_days, last });
            }
            date = date.succ_opt().expect("a covered date has a next day");
            provisional |= self.is_provisional(date.year());
            match self.day(date)? {
                Day::Working { .. } => counted += 1,
                Day::Off(reason) => skipped.push(SkippedDay { date, reason }),
            }
        }
        Ok(Deadline { from, working_days, due: date, version: self.id.clone(), provisional, skipped })
    }

    /// The year as this version knows it; `None` outside the covered years.
    pub fn year(&self, year: i32) -> Option<YearCalendar> {
        let data = self.year_data.get(&year)?;
        let mut days_off = Vec::new();
        let mut working_days = Vec::new();
        for (&date, day) in &self.special {
            if date.year() != year {
                continue;
            }
            match day {
                Day::Off(OffReason::Weekend { .. }) => {}
                Day::Off(reason) => days_off.push(DayOff { date, reason: reason.clone() }),
                Day::Working { transferred: Some(transfer) } => {
                    working_days.push(WorkingDay { date, transfer: transfer.clone() })
                }
                Day::Working { transferred: None } => {}
            }
        }
        days_off.sort_by_key(|d| d.date);
        working_days.sort_by_key(|d| d.date);
        Some(YearCalendar {
            year,
            provisional: data.provisional,
            source: data.source.clone(),
            notes: data.notes.clone(),
            holidays: data.holidays.clone(),
            days_off,
            working_days,
            version: self.id.clone(),
        })
    }

    fn last_day(&self) -> NaiveDate {
        NaiveDate::from_ymd_opt(*self.years.end(), 12, 31).expect("a covered year has a 31 December")
    }
}

/// Every version of the calendar, oldest first.
#[derive(Debug, Clone)]
pub struct Calendar {
    versions: Vec<CalendarVersion>,
    years: RangeInclusive<i32>,
}

impl Calendar {
    /// The calendar shipped in `fixtures/calendar/kz.toml`, compiled in.
    pub fn shipped() -> Calendar {
        match Calendar::parse(SHIPPED) {
            Ok(calendar) => calendar,
            Err(error) => panic!("the shipped calendar fixtures/calendar/kz.toml is broken: {error}"),
        }
    }

    /// A calendar file in the format of `fixtures/calendar/kz.toml`.
    pub fn from_file(path: &Path) -> Result<Calendar, CalendarError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| CalendarError::Read { path: path.to_owned(), source })?;
        Calendar::parse(&text)
    }

    /// A calendar from the text of a calendar file. Errors name the entry at fault.
    pub fn parse(text: &str) -> Result<Calendar, CalendarError> {
        let file: RawFile = toml::from_str(text)?;
        build(file)
    }

    /// Every version, oldest first.
    pub fn versions(&self) -> &[CalendarVersion] {
        &self.versions
    }

    /// The latest version in effect on `on`; the oldest when none is yet.
    pub fn in_effect(&self, on: NaiveDate) -> &CalendarVersion {
        self.versions.iter().rev().find(|v| v.effective_from <= on).unwrap_or(&self.versions[0])
    }

    /// The version with this id.
    pub fn version(&self, id: &str) -> Option<&CalendarVersion> {
        self.versions.iter().find(|v| v.id == id)
    }

    /// The years covered, by every version.
    pub fn years(&self) -> RangeInclusive<i32> {
        self.years.clone()
    }
}

/// The date in Kazakhstan at `at`.
pub fn kazakhstan_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&Almaty).date_naive()
}

/// The instant `date` ends in Kazakhstan (the next midnight there), in UTC: a due date's
/// deadline. 19:00Z since 1 March 2024, 18:00Z before.
pub fn end_of_day(date: NaiveDate) -> DateTime<Utc> {
    let next = date.succ_opt().expect("a calendar date has a next day").and_time(NaiveTime::MIN);
    match Almaty.from_local_datetime(&next).earliest() {
        Some(midnight) => midnight.with_timezone(&Utc),
        // Kazakhstan's clocks have never skipped midnight; should they, the day ends when they
        // jump (near enough: at midnight by the offset in force after it).
        None => {
            use chrono::Offset as _;
            let offset = Almaty.offset_from_utc_datetime(&next).fix();
            Utc.from_utc_datetime(&(next - offset))
        }
    }
}

fn plain_day(date: NaiveDate) -> Day {
    if is_weekend(date) { Day::Off(OffReason::Weekend { also: None }) } else { Day::Working { transferred: None } }
}

fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

fn weekday_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

/// "Sunday 8 March 2026".
fn long_date(date: NaiveDate) -> String {
    date.format("%A %-d %B %Y").to_string()
}

// --- The file ---------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    versions: Vec<RawVersion>,
    years: Vec<RawYear>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVersion {
    id: String,
    #[serde(deserialize_with = "toml_date")]
    effective_from: NaiveDate,
    source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawYear {
    year: i32,
    provisional: bool,
    source: String,
    #[serde(default)]
    notes: Vec<String>,
    #[serde(default)]
    holidays: Vec<RawHoliday>,
    #[serde(default)]
    carried_over: Vec<RawCarried>,
    #[serde(default)]
    transfers: Vec<RawTransfer>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHoliday {
    #[serde(deserialize_with = "toml_date")]
    date: NaiveDate,
    id: String,
    name: HolidayName,
    carries_over: bool,
    note: Option<String>,
    since: Option<String>,
    until: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCarried {
    #[serde(deserialize_with = "toml_date")]
    date: NaiveDate,
    #[serde(deserialize_with = "toml_date")]
    from: NaiveDate,
    since: Option<String>,
    until: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTransfer {
    act: String,
    #[serde(deserialize_with = "toml_date")]
    off: NaiveDate,
    #[serde(default, deserialize_with = "toml_date_opt")]
    working: Option<NaiveDate>,
    note: Option<String>,
    since: Option<String>,
    until: Option<String>,
}

/// A TOML local date (`2026-03-21`, unquoted) as a `NaiveDate`.
fn toml_date<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<NaiveDate, D::Error> {
    let value = toml::value::Datetime::deserialize(deserializer)?;
    date_of(&value)
}

fn toml_date_opt<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<NaiveDate>, D::Error> {
    Option::<toml::value::Datetime>::deserialize(deserializer)?.map(|value| date_of(&value)).transpose()
}

fn date_of<E: serde::de::Error>(value: &toml::value::Datetime) -> Result<NaiveDate, E> {
    match (value.date, value.time, value.offset) {
        (Some(date), None, None) => {
            NaiveDate::from_ymd_opt(i32::from(date.year), u32::from(date.month), u32::from(date.day))
                .ok_or_else(|| E::custom(format!("{value} is not a date")))
        }
        _ => Err(E::custom(format!("{value} is not a plain date such as 2026-03-21 (no time, no offset)"))),
    }
}

/// Whether an entry with these `since`/`until` is in the version at `index`.
struct Versions<'a> {
    ids: Vec<&'a str>,
}

impl Versions<'_> {
    fn index(&self, entry: &str, field: &str, id: Option<&str>) -> Result<Option<usize>, CalendarError> {
        let Some(id) = id else { return Ok(None) };
        match self.ids.iter().position(|v| *v == id) {
            Some(index) => Ok(Some(index)),
            None => Err(invalid(entry, format!("`{field}` names version \"{id}\", which the file does not define"))),
        }
    }

    /// The versions the entry is in, by index.
    fn span(
        &self,
        entry: &str,
        since: Option<&str>,
        until: Option<&str>,
    ) -> Result<RangeInclusive<usize>, CalendarError> {
        let first = self.index(entry, "since", since)?.unwrap_or(0);
        let end = self.index(entry, "until", until)?.unwrap_or(self.ids.len());
        if end <= first {
            return Err(invalid(entry, "`until` must name a later version than `since`"));
        }
        Ok(first..=end - 1)
    }
}

fn build(file: RawFile) -> Result<Calendar, CalendarError> {
    if file.versions.is_empty() {
        return Err(invalid("versions", "the file defines no version"));
    }
    for (i, version) in file.versions.iter().enumerate() {
        let entry = format!("versions[{i}] (\"{}\")", version.id);
        if version.id.trim().is_empty() || version.id.len() > 32 {
            return Err(invalid(entry, "`id` must be 1 to 32 characters"));
        }
        if version.source.trim().is_empty() {
            return Err(invalid(entry, "`source` is empty: name the act or event"));
        }
        if file.versions[..i].iter().any(|v| v.id == version.id) {
            return Err(invalid(entry, "another version has the same id"));
        }
        if i > 0 && file.versions[i - 1].effective_from >= version.effective_from {
            return Err(invalid(entry, "versions must be listed oldest first, each effective after the one before"));
        }
    }
    let versions = Versions { ids: file.versions.iter().map(|v| v.id.as_str()).collect() };

    let mut years = file.years;
    years.sort_by_key(|y| y.year);
    let (Some(first), Some(last)) = (years.first().map(|y| y.year), years.last().map(|y| y.year)) else {
        return Err(invalid("years", "the file covers no year"));
    };
    for pair in years.windows(2) {
        if pair[1].year == pair[0].year {
            return Err(invalid(format!("years ({})", pair[1].year), "the year appears twice"));
        }
        if pair[1].year != pair[0].year + 1 {
            return Err(invalid(
                format!("years ({})", pair[1].year),
                format!("the years must follow one another: {} is missing", pair[0].year + 1),
            ));
        }
    }
    if NaiveDate::from_ymd_opt(first, 1, 1).is_none() || NaiveDate::from_ymd_opt(last + 1, 1, 1).is_none() {
        return Err(invalid("years", "a year is out of the range of dates"));
    }

    // Every entry, with the versions it is in.
    let mut holidays = Vec::new();
    let mut carried = Vec::new();
    let mut transfers = Vec::new();
    for year in &years {
        let y = year.year;
        if year.source.trim().is_empty() {
            return Err(invalid(format!("years ({y})"), "`source` is empty: name the acts"));
        }
        for h in &year.holidays {
            let entry = format!("years ({y}), holiday {} ({})", h.date, h.id);
            check_in_year(&entry, "date", h.date, y)?;
            if h.id.trim().is_empty() {
                return Err(invalid(entry, "`id` is empty"));
            }
            if [&h.name.ru, &h.name.kk, &h.name.en].iter().any(|n| n.trim().is_empty()) {
                return Err(invalid(entry, "`name` needs ru, kk and en"));
            }
            let span = versions.span(&entry, h.since.as_deref(), h.until.as_deref())?;
            let holiday = Holiday {
                date: h.date,
                id: h.id.clone(),
                name: h.name.clone(),
                carries_over: h.carries_over,
                note: h.note.clone(),
            };
            holidays.push((entry, span, holiday));
        }
        for c in &year.carried_over {
            let entry = format!("years ({y}), carried_over {} (from {})", c.date, c.from);
            check_in_year(&entry, "date", c.date, y)?;
            let span = versions.span(&entry, c.since.as_deref(), c.until.as_deref())?;
            carried.push((entry, span, c.date, c.from));
        }
        for t in &year.transfers {
            let entry = format!("years ({y}), transfer off {}", t.off);
            check_in_year(&entry, "off", t.off, y)?;
            if let Some(working) = t.working {
                check_in_year(&entry, "working", working, y)?;
            }
            if t.act.trim().is_empty() {
                return Err(invalid(entry, "`act` is empty: name the resolution or order"));
            }
            let span = versions.span(&entry, t.since.as_deref(), t.until.as_deref())?;
            let transfer = Transfer { act: t.act.clone(), off: t.off, working: t.working, note: t.note.clone() };
            transfers.push((entry, span, transfer));
        }
    }

    let mut built = Vec::with_capacity(file.versions.len());
    for (index, version) in file.versions.iter().enumerate() {
        let mut special: HashMap<NaiveDate, (String, Day)> = HashMap::new();
        let mut year_holidays: BTreeMap<i32, Vec<Holiday>> = BTreeMap::new();
        let mut by_date: HashMap<NaiveDate, &Holiday> = HashMap::new();
        let claim = |special: &mut HashMap<NaiveDate, (String, Day)>, date, entry: &str, day| {
            if let Some((other, _)) = special.get(&date) {
                return Err(invalid(entry, format!("{date} is already taken by {other} (in version {})", version.id)));
            }
            special.insert(date, (entry.to_owned(), day));
            Ok(())
        };
        for (entry, _, holiday) in holidays.iter().filter(|(_, span, _)| span.contains(&index)) {
            let day = if is_weekend(holiday.date) {
                Day::Off(OffReason::Weekend { also: Some(holiday.clone()) })
            } else {
                Day::Off(OffReason::Holiday(holiday.clone()))
            };
            claim(&mut special, holiday.date, entry, day)?;
            by_date.insert(holiday.date, holiday);
            year_holidays.entry(holiday.date.year()).or_default().push(holiday.clone());
        }
        for (entry, _, transfer) in transfers.iter().filter(|(_, span, _)| span.contains(&index)) {
            if is_weekend(transfer.off) {
                return Err(invalid(
                    entry,
                    format!("`off` {} is a {}, already a rest day", transfer.off, weekday_name(transfer.off.weekday())),
                ));
            }
            claim(&mut special, transfer.off, entry, Day::Off(OffReason::Transferred(transfer.clone())))?;
            if let Some(working) = transfer.working {
                if !is_weekend(working) {
                    return Err(invalid(
                        entry,
                        format!("`working` {working} is a {}, already a working day", weekday_name(working.weekday())),
                    ));
                }
                claim(&mut special, working, entry, Day::Working { transferred: Some(transfer.clone()) })?;
            }
        }
        let mut carried_from: HashMap<NaiveDate, &str> = HashMap::new();
        for (entry, _, date, from) in carried.iter().filter(|(_, span, _, _)| span.contains(&index)) {
            if is_weekend(*date) {
                return Err(invalid(entry, format!("{date} is a {}, not a weekday", weekday_name(date.weekday()))));
            }
            let Some(holiday) = by_date.get(from) else {
                return Err(invalid(entry, format!("`from` {from} is not a holiday in version {}", version.id)));
            };
            if !holiday.carries_over {
                return Err(invalid(entry, format!("{} on {from} does not carry over", holiday.name.en)));
            }
            if !is_weekend(*from) {
                return Err(invalid(
                    entry,
                    format!("`from` {from} is a weekday: only a Saturday or Sunday holiday carries over"),
                ));
            }
            if from >= date {
                return Err(invalid(entry, "a holiday carries over to a later day"));
            }
            if let Some(other) = carried_from.insert(*from, entry) {
                return Err(invalid(entry, format!("{from} is carried over already by {other}")));
            }
            let reason = OffReason::CarriedOver { from: *from, holiday: (*holiday).clone() };
            claim(&mut special, *date, entry, Day::Off(reason))?;
        }
        // Each weekend holiday that carries over needs its weekday off, in every version.
        for (_, _, holiday) in holidays.iter().filter(|(_, span, _)| span.contains(&index)) {
            if holiday.carries_over && is_weekend(holiday.date) && !carried_from.contains_key(&holiday.date) {
                return Err(invalid(
                    format!("years ({}), holiday {} ({})", holiday.date.year(), holiday.date, holiday.id),
                    format!(
                        "a {} holiday that carries over needs a `carried_over` entry in version {}",
                        weekday_name(holiday.date.weekday()),
                        version.id
                    ),
                ));
            }
        }

        let year_data = years
            .iter()
            .map(|y| {
                let mut holidays = year_holidays.remove(&y.year).unwrap_or_default();
                holidays.sort_by_key(|h| h.date);
                let data =
                    YearData { provisional: y.provisional, source: y.source.clone(), notes: y.notes.clone(), holidays };
                (y.year, data)
            })
            .collect();
        built.push(CalendarVersion {
            id: version.id.clone(),
            effective_from: version.effective_from,
            source: version.source.clone(),
            years: first..=last,
            year_data,
            special: special.into_iter().map(|(date, (_, day))| (date, day)).collect(),
        });
    }
    Ok(Calendar { versions: built, years: first..=last })
}

fn check_in_year(entry: &str, field: &str, date: NaiveDate, year: i32) -> Result<(), CalendarError> {
    if date.year() == year { Ok(()) } else { Err(invalid(entry, format!("`{field}` {date} is not in {year}"))) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn latest() -> CalendarVersion {
        Calendar::shipped().versions().last().unwrap().clone()
    }

    fn skipped(deadline: &Deadline) -> Vec<(NaiveDate, &'static str)> {
        deadline.skipped.iter().map(|s| (s.date, s.reason.kind())).collect()
    }

    #[test]
    fn the_shipped_calendar_parses_with_its_two_versions() {
        let calendar = Calendar::shipped();
        let ids: Vec<_> = calendar.versions().iter().map(CalendarVersion::id).collect();
        assert_eq!(ids, ["2025-11-21", "2026-03-15"]);
        assert_eq!(calendar.years(), 2023..=2027);
        assert_eq!(calendar.version("2026-03-15").unwrap().effective_from(), d("2026-03-15"));
        assert!(calendar.version("2026-03-15").unwrap().source().contains("referendum of 15 March 2026"));
        assert!(calendar.version("2024-01-01").is_none());
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/calendar/kz.toml");
        assert_eq!(Calendar::from_file(&path).unwrap().versions().len(), 2);
        let missing = Calendar::from_file(Path::new("/nonexistent/kz.toml")).unwrap_err();
        assert!(matches!(missing, CalendarError::Read { .. }), "{missing}");
    }

    #[test]
    fn the_version_in_effect_is_the_latest_that_has_started() {
        let calendar = Calendar::shipped();
        assert_eq!(calendar.in_effect(d("2020-01-01")).id(), "2025-11-21");
        assert_eq!(calendar.in_effect(d("2025-11-21")).id(), "2025-11-21");
        assert_eq!(calendar.in_effect(d("2026-03-14")).id(), "2025-11-21");
        assert_eq!(calendar.in_effect(d("2026-03-15")).id(), "2026-03-15");
        assert_eq!(calendar.in_effect(d("2030-01-01")).id(), "2026-03-15");
    }

    /// The README's "resulting days off on weekdays", as month/day pairs.
    const README_DAYS_OFF: [(i32, &[(u32, u32)]); 5] = [
        (
            2023,
            &[
                (1, 2),
                (1, 3),
                (3, 8),
                (3, 21),
                (3, 22),
                (3, 23),
                (5, 1),
                (5, 8),
                (5, 9),
                (6, 28),
                (7, 6),
                (7, 7),
                (8, 30),
                (10, 25),
                (12, 18),
            ],
        ),
        (
            2024,
            &[
                (1, 1),
                (1, 2),
                (3, 8),
                (3, 21),
                (3, 22),
                (3, 25),
                (5, 1),
                (5, 7),
                (5, 8),
                (5, 9),
                (7, 8),
                (8, 30),
                (10, 25),
                (12, 16),
            ],
        ),
        (
            2025,
            &[
                (1, 1),
                (1, 2),
                (1, 3),
                (1, 7),
                (3, 10),
                (3, 21),
                (3, 24),
                (3, 25),
                (5, 1),
                (5, 7),
                (5, 9),
                (6, 6),
                (7, 7),
                (9, 1),
                (10, 27),
                (12, 16),
            ],
        ),
        (
            2026,
            &[
                (1, 1),
                (1, 2),
                (1, 7),
                (3, 9),
                (3, 23),
                (3, 24),
                (3, 25),
                (5, 1),
                (5, 7),
                (5, 11),
                (5, 27),
                (7, 6),
                (10, 26),
                (12, 16),
            ],
        ),
        (
            2027,
            &[
                (1, 1),
                (1, 4),
                (1, 7),
                (3, 8),
                (3, 15),
                (3, 22),
                (3, 23),
                (3, 24),
                (5, 3),
                (5, 7),
                (5, 10),
                (7, 6),
                (10, 25),
                (12, 16),
            ],
        ),
    ];

    fn readme_days_off(year: i32) -> Vec<NaiveDate> {
        let (_, days) = README_DAYS_OFF.iter().find(|(y, _)| *y == year).unwrap();
        days.iter().map(|&(m, day)| NaiveDate::from_ymd_opt(year, m, day).unwrap()).collect()
    }

    #[test]
    fn every_years_weekdays_off_are_the_readmes() {
        let version = latest();
        for year in version.years() {
            let calendar = version.year(year).unwrap();
            let days_off: Vec<_> = calendar.days_off.iter().map(|d| d.date).collect();
            assert_eq!(days_off, readme_days_off(year), "{year}");
            // And day by day: exactly these weekdays are off.
            let mut date = NaiveDate::from_ymd_opt(year, 1, 1).unwrap();
            while date.year() == year {
                let off = !version.day(date).unwrap().is_working();
                let expected = if is_weekend(date) {
                    !calendar.working_days.iter().any(|w| w.date == date)
                } else {
                    days_off.contains(&date)
                };
                assert_eq!(off, expected, "{date}");
                date = date.succ_opt().unwrap();
            }
        }
        let transferred = |year| version.year(year).unwrap().working_days.iter().map(|w| w.date).collect::<Vec<_>>();
        assert_eq!(transferred(2023), [d("2023-07-01")]);
        assert_eq!(transferred(2024), [d("2024-05-04")]);
        assert!(transferred(2025).is_empty() && transferred(2026).is_empty() && transferred(2027).is_empty());
        assert!(version.year(2027).unwrap().provisional);
        assert!(!version.year(2026).unwrap().provisional);
        assert!(version.year(2022).is_none() && version.year(2028).is_none());
    }

    /// The carried-over days by the rules of Law No. 267-II Art. 5 and Labour Code Art. 84:
    /// each Saturday or Sunday holiday that carries over, in date order, takes the next weekday
    /// that is neither a holiday, nor a transferred day off, nor taken by an earlier one.
    #[test]
    fn the_carried_over_days_in_the_file_follow_the_rules_in_every_version() {
        for version in Calendar::shipped().versions() {
            for year in version.years() {
                let calendar = version.year(year).unwrap();
                let mut taken: Vec<NaiveDate> = calendar
                    .days_off
                    .iter()
                    .filter(|d| !matches!(d.reason, OffReason::CarriedOver { .. }))
                    .map(|d| d.date)
                    .collect();
                let mut derived = Vec::new();
                for holiday in calendar.holidays.iter().filter(|h| h.carries_over && is_weekend(h.date)) {
                    let mut date = holiday.date.succ_opt().unwrap();
                    while is_weekend(date) || taken.contains(&date) {
                        date = date.succ_opt().unwrap();
                    }
                    taken.push(date);
                    derived.push((date, holiday.date));
                }
                derived.sort();
                let in_file: Vec<_> = calendar
                    .days_off
                    .iter()
                    .filter_map(|d| match &d.reason {
                        OffReason::CarriedOver { from, .. } => Some((d.date, *from)),
                        _ => None,
                    })
                    .collect();
                assert_eq!(in_file, derived, "{year} in version {}", version.id());
            }
        }
    }

    #[test]
    fn seven_working_days_before_nauryz_skip_the_long_weekend() {
        let deadline = latest().add_working_days(d("2026-03-19"), 7).unwrap();
        assert_eq!(deadline.due, d("2026-04-02"));
        assert_eq!(deadline.version, "2026-03-15");
        assert!(!deadline.provisional);
        assert_eq!(
            skipped(&deadline),
            [
                (d("2026-03-21"), "weekend"),
                (d("2026-03-22"), "weekend"),
                (d("2026-03-23"), "holiday"),
                (d("2026-03-24"), "carried_over"),
                (d("2026-03-25"), "carried_over"),
                (d("2026-03-28"), "weekend"),
                (d("2026-03-29"), "weekend"),
            ]
        );
        let why: Vec<_> = deadline.skipped.iter().map(SkippedDay::why).collect();
        assert_eq!(why[0], "Saturday, also Nauryz meiramy (holiday)");
        assert_eq!(why[2], "Nauryz meiramy (holiday)");
        assert_eq!(why[3], "carried over from Saturday 21 March 2026 (Nauryz meiramy)");
        assert_eq!(why[5], "Saturday");
        // Three working days from the same Thursday end on Friday 27 March.
        let deadline = latest().add_working_days(d("2026-03-19"), 3).unwrap();
        assert_eq!(deadline.due, d("2026-03-27"));
    }

    #[test]
    fn womens_day_on_a_sunday_is_carried_to_monday() {
        let deadline = latest().add_working_days(d("2026-03-06"), 1).unwrap();
        assert_eq!(deadline.due, d("2026-03-10"));
        let why: Vec<_> = deadline.skipped.iter().map(SkippedDay::why).collect();
        assert_eq!(
            why,
            [
                "Saturday",
                "Sunday, also International Women's Day (holiday)",
                "carried over from Sunday 8 March 2026 (International Women's Day)"
            ]
        );
    }

    #[test]
    fn a_transferred_saturday_counts_and_its_wednesday_does_not() {
        let version = latest();
        assert!(matches!(version.day(d("2024-05-04")).unwrap(), Day::Working { transferred: Some(_) }));
        let deadline = version.add_working_days(d("2024-05-02"), 5).unwrap();
        // Fri 3, Sat 4 (worked), Mon 6, Fri 10, Mon 13.
        assert_eq!(deadline.due, d("2024-05-13"));
        assert_eq!(
            skipped(&deadline),
            [
                (d("2024-05-05"), "weekend"),
                (d("2024-05-07"), "holiday"),
                (d("2024-05-08"), "transferred"),
                (d("2024-05-09"), "holiday"),
                (d("2024-05-11"), "weekend"),
                (d("2024-05-12"), "weekend"),
            ]
        );
        assert_eq!(deadline.skipped[2].why(), "day off by transfer: Ministry of Labour order of 17 Apr 2024");
        let year = version.year(2024).unwrap();
        assert_eq!(
            year.working_days[0].why(),
            "working day by transfer: Ministry of Labour order of 17 Apr 2024 (the day off moves to Wednesday 8 May 2024)"
        );
        // 2025: Friday 3 January off, Sunday 5 January stays a rest day.
        let deadline = version.add_working_days(d("2024-12-31"), 1).unwrap();
        assert_eq!(deadline.due, d("2025-01-06"));
        assert_eq!(deadline.skipped[2].why(), "day off by transfer: Ministry of Labour order No. 436 of 21 Nov 2024");
        assert!(!version.day(d("2025-01-05")).unwrap().is_working());
    }

    #[test]
    fn kurban_ait_is_off_and_never_carried_over() {
        let version = latest();
        let deadline = version.add_working_days(d("2026-05-26"), 1).unwrap();
        assert_eq!(deadline.due, d("2026-05-28"));
        assert_eq!(deadline.skipped[0].why(), "Kurban Ait (holiday)");
        // 2024: on Sunday 16 June, no extra day.
        assert_eq!(
            version.day(d("2024-06-16")).unwrap(),
            Day::Off(OffReason::Weekend {
                also: version.year(2024).unwrap().holidays.into_iter().find(|h| h.id == "kurban-ait")
            })
        );
        assert!(version.day(d("2024-06-17")).unwrap().is_working());
        let deadline = version.add_working_days(d("2024-06-14"), 1).unwrap();
        assert_eq!(deadline.due, d("2024-06-17"));
        assert_eq!(deadline.skipped[1].why(), "Sunday, also Kurban Ait (holiday, not carried over)");
    }

    #[test]
    fn the_years_end_and_the_new_year() {
        let version = latest();
        let deadline = version.add_working_days(d("2025-12-15"), 1).unwrap();
        assert_eq!(deadline.due, d("2025-12-17"));
        assert_eq!(deadline.skipped[0].why(), "Independence Day (holiday)");
        let deadline = version.add_working_days(d("2025-12-31"), 3).unwrap();
        assert_eq!(deadline.due, d("2026-01-08"));
        assert_eq!(
            deadline.skipped.iter().map(|s| s.date).collect::<Vec<_>>(),
            [d("2026-01-01"), d("2026-01-02"), d("2026-01-03"), d("2026-01-04"), d("2026-01-07")]
        );
        // Into the provisional year.
        let deadline = version.add_working_days(d("2026-12-30"), 3).unwrap();
        assert_eq!(deadline.due, d("2027-01-06"));
        assert!(deadline.provisional);
        assert_eq!(deadline.skipped.last().unwrap().why(), "carried over from Saturday 2 January 2027 (New Year)");
        assert!(!version.add_working_days(d("2026-12-28"), 2).unwrap().provisional);
    }

    #[test]
    fn seventh_of_january_on_a_saturday_gives_no_extra_day() {
        let version = latest();
        let deadline = version.add_working_days(d("2023-01-06"), 1).unwrap();
        assert_eq!(deadline.due, d("2023-01-09"));
        assert_eq!(deadline.skipped[0].why(), "Saturday, also Orthodox Christmas (holiday, not carried over)");
        // And the Sunday New Year of 2023 carries past Monday's holiday to Tuesday.
        assert_eq!(version.day(d("2023-01-03")).unwrap(), {
            let holiday = version.year(2023).unwrap().holidays[0].clone();
            Day::Off(OffReason::CarriedOver { from: d("2023-01-01"), holiday })
        });
    }

    #[test]
    fn the_new_constitution_makes_31_august_2026_a_working_day() {
        let calendar = Calendar::shipped();
        let before = calendar.version("2025-11-21").unwrap();
        let after = calendar.version("2026-03-15").unwrap();
        let old = before.add_working_days(d("2026-08-28"), 1).unwrap();
        assert_eq!(old.due, d("2026-09-01"));
        assert_eq!(old.version, "2025-11-21");
        assert_eq!(old.skipped[2].why(), "carried over from Sunday 30 August 2026 (Constitution Day)");
        let new = after.add_working_days(d("2026-08-28"), 1).unwrap();
        assert_eq!(new.due, d("2026-08-31"));
        assert_eq!(skipped(&new), [(d("2026-08-29"), "weekend"), (d("2026-08-30"), "weekend")]);
        assert_eq!(new.skipped[1].why(), "Sunday");
        // 15 March is Constitution Day from 2027 only in the new version; 30 August 2027 only in the old.
        assert!(!after.day(d("2027-03-15")).unwrap().is_working());
        assert!(before.day(d("2027-03-15")).unwrap().is_working());
        assert!(after.day(d("2027-08-30")).unwrap().is_working());
        assert!(!before.day(d("2027-08-30")).unwrap().is_working());
        // 15 March 2026 was a Sunday and no holiday.
        assert_eq!(after.day(d("2026-03-15")).unwrap(), Day::Off(OffReason::Weekend { also: None }));
        assert!(after.day(d("2026-03-16")).unwrap().is_working());
    }

    #[test]
    fn zero_working_days_are_due_on_the_day_itself() {
        let deadline = latest().add_working_days(d("2026-03-22"), 0).unwrap();
        assert_eq!(deadline.due, d("2026-03-22"));
        assert!(deadline.skipped.is_empty());
    }

    #[test]
    fn days_outside_the_covered_years_are_errors() {
        let version = latest();
        let error = version.day(d("2022-12-31")).unwrap_err();
        assert!(matches!(error, CalendarError::OutOfRange { date, .. } if date == d("2022-12-31")));
        assert_eq!(
            error.to_string(),
            "2022-12-31 is outside the working-day calendar, which covers the years 2023 to 2027"
        );
        assert!(matches!(version.add_working_days(d("2028-01-03"), 1), Err(CalendarError::OutOfRange { .. })));
        let error = version.add_working_days(d("2027-12-28"), 5).unwrap_err();
        assert!(matches!(error, CalendarError::PastEnd { last, .. } if last == d("2027-12-31")), "{error}");
        assert_eq!(version.add_working_days(d("2027-12-28"), 3).unwrap().due, d("2027-12-31"));
    }

    #[test]
    fn kazakhstan_time() {
        assert_eq!(kazakhstan_date(at("2026-03-19T19:30:00Z")), d("2026-03-20"));
        assert_eq!(kazakhstan_date(at("2026-03-19T18:59:59Z")), d("2026-03-19"));
        assert_eq!(end_of_day(d("2026-03-27")), at("2026-03-27T19:00:00Z"));
        // UTC+6 before 1 March 2024.
        assert_eq!(kazakhstan_date(at("2023-06-01T18:30:00Z")), d("2023-06-02"));
        assert_eq!(kazakhstan_date(at("2023-06-01T17:59:59Z")), d("2023-06-01"));
        assert_eq!(end_of_day(d("2023-06-01")), at("2023-06-01T18:00:00Z"));
        // 29 February 2024 lasted 25 hours: the clocks went back at midnight.
        assert_eq!(end_of_day(d("2024-02-28")), at("2024-02-28T18:00:00Z"));
        assert_eq!(end_of_day(d("2024-02-29")), at("2024-02-29T19:00:00Z"));
        assert_eq!(kazakhstan_date(at("2024-02-29T18:30:00Z")), d("2024-02-29"));
        assert_eq!(end_of_day(d("2024-03-01")), at("2024-03-01T19:00:00Z"));
    }

    #[test]
    fn serialises_with_its_reasons() {
        let deadline = latest().add_working_days(d("2024-05-07"), 1).unwrap();
        let json = serde_json::to_value(&deadline).unwrap();
        assert_eq!(json["due"], "2024-05-10");
        assert_eq!(json["skipped"][0]["reason"]["kind"], "transferred");
        assert_eq!(json["skipped"][1]["reason"]["kind"], "holiday");
        assert_eq!(json["skipped"][1]["reason"]["name"]["kk"], "Жеңіс күні");
    }

    const MINIMAL: &str = r#"
[[versions]]
id = "v1"
effective_from = 2025-01-01
source = "test"

[[versions]]
id = "v2"
effective_from = 2026-01-01
source = "test"

[[years]]
year = 2026
provisional = false
source = "test"
holidays = [
  { date = 2026-03-08, id = "womens-day", name = { ru = "a", kk = "b", en = "c" }, carries_over = true },
]
carried_over = [
  { date = 2026-03-09, from = 2026-03-08 },
]
"#;

    fn parse_error(text: &str) -> String {
        Calendar::parse(text).unwrap_err().to_string()
    }

    #[test]
    fn parse_errors_name_the_entry() {
        assert!(Calendar::parse(MINIMAL).is_ok());
        let error = parse_error(&MINIMAL.replace("from = 2026-03-08", "from = 2026-03-07"));
        assert!(
            error.contains("carried_over 2026-03-09 (from 2026-03-07)") && error.contains("not a holiday"),
            "{error}"
        );
        let error = parse_error(&MINIMAL.replace("carries_over = true", "carries_over = true, until = \"v3\""));
        assert!(error.contains("holiday 2026-03-08 (womens-day)") && error.contains("\"v3\""), "{error}");
        let error = parse_error(&MINIMAL.replace("  { date = 2026-03-09, from = 2026-03-08 },\n", ""));
        assert!(
            error.contains("holiday 2026-03-08 (womens-day)") && error.contains("needs a `carried_over`"),
            "{error}"
        );
        // Removed in v2 while its carried-over day stays.
        let error = parse_error(&MINIMAL.replace("carries_over = true", "carries_over = true, until = \"v2\""));
        assert!(error.contains("not a holiday in version v2"), "{error}");
        let error = parse_error(&MINIMAL.replace("date = 2026-03-09", "date = 2027-03-09"));
        assert!(error.contains("is not in 2026"), "{error}");
        let error = parse_error(&MINIMAL.replace("effective_from = 2026-01-01", "effective_from = 2024-01-01"));
        assert!(error.contains("versions[1]") && error.contains("oldest first"), "{error}");
        let error = parse_error(&MINIMAL.replace("date = 2026-03-09,", "date = \"2026-03-09\","));
        assert!(error.contains("malformed"), "{error}");
        let error = parse_error(&MINIMAL.replace("date = 2026-03-09,", "date = 2026-03-09T10:00:00,"));
        assert!(error.contains("plain date"), "{error}");
        let error = parse_error(&format!("{MINIMAL}\n[[years]]\nyear = 2028\nprovisional = true\nsource = \"x\"\n"));
        assert!(error.contains("2027 is missing"), "{error}");
        let error = parse_error(&format!(
            "{MINIMAL}transfers = [{{ act = \"order\", off = 2026-03-09, working = 2026-03-14 }}]\n"
        ));
        assert!(error.contains("2026-03-09 is already taken by years (2026), transfer off 2026-03-09"), "{error}");
        let error = parse_error(&MINIMAL.replace("carries_over = true }", "carries_over = true, colour = \"red\" }"));
        assert!(error.contains("colour"), "{error}");
    }
}
