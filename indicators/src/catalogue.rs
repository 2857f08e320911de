//! What each indicator is, for people: its title and description in Russian, Kazakh and
//! English, how much a flag weighs, and its settings with their defaults and reasons.

use domain::red_flags::Severity;

/// A text in the portal's three languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Text {
    pub ru: &'static str,
    pub kk: &'static str,
    pub en: &'static str,
}

/// One setting as in force.
#[derive(Debug, Clone, PartialEq)]
pub struct SettingInfo {
    /// The property name in the settings file.
    pub name: &'static str,
    /// The value in force, as written in the settings file.
    pub value: String,
    pub default: &'static str,
    /// Why the default is what it is.
    pub reason: &'static str,
}

#[derive(Debug, Clone, PartialEq)]
pub struct IndicatorInfo {
    /// `R003` … `R058` (cardinal's), `KZ01` … (Kazakhstan's own).
    pub code: &'static str,
    pub title: Text,
    pub description: Text,
    pub severity: Severity,
    /// Why a flag of this indicator weighs what it does.
    pub severity_reason: &'static str,
    /// Whether it is one of cardinal's, computed the same on a file and on the database.
    pub cardinal: bool,
    /// Whether the settings in force run it.
    pub enabled: bool,
    pub settings: Vec<SettingInfo>,
}
