//! Settings in cardinal's INI format (documented in `fixtures/cardinal/docs/settings.md`).
//!
//! An indicator runs when its section is present, even empty (`[R024]`); each property
//! overrides one default. Top-level properties (before any section) are global. The sections of
//! cardinal's `prepare` command are accepted and ignored, so a file written by `ocdscardinal
//! init` reads as is. Anything else unknown is an error naming its line: a misspelt threshold
//! must not silently fall back to the default.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::rules::Code;

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("settings line {line}: {reason}")]
pub struct SettingsError {
    pub line: usize,
    pub reason: String,
}

/// What every indicator reads: global options and one optional section per indicator.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Settings {
    /// `currency`: the main currency; amounts in any other are skipped. Unset: the first seen.
    pub currency: Option<String>,
    /// `no_price_comparison_procurement_methods`: `procurementMethodDetails` values whose
    /// prices the buyer sets, so comparing bid prices means nothing.
    pub no_price_comparison_procurement_methods: HashSet<String>,
    /// `price_comparison_procurement_methods`: if set, only these are price-compared.
    pub price_comparison_procurement_methods: HashSet<String>,
    /// `[exclusions] procurement_method_details`: processes no indicator looks at.
    pub excluded_procurement_method_details: HashSet<String>,
    pub r003: Option<R003>,
    pub r018: Option<R018>,
    pub r024: Option<Threshold>,
    pub r025: Option<R025>,
    pub r028: Option<()>,
    pub r030: Option<()>,
    pub r035: Option<R035>,
    pub r036: Option<()>,
    pub r038: Option<R038>,
    pub r048: Option<R048>,
    pub r058: Option<Threshold>,
    /// Sections of Kazakhstan's own indicators (`[KZ01]` …), as written: they are read by
    /// [`crate::kazakhstan`], which knows their properties.
    pub kazakhstan: BTreeMap<String, Vec<Property>>,
}

/// One `name = value` line of a section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    pub line: usize,
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct R003 {
    /// Shortest submission period in whole days.
    pub threshold: i64,
    /// Only these `procurementMethod`s (empty: all).
    pub procurement_methods: HashSet<String>,
    /// A threshold per `procurementMethodDetails`.
    pub procurement_method_details: HashMap<String, i64>,
}

impl Default for R003 {
    fn default() -> Self {
        R003 { threshold: 15, procurement_methods: HashSet::new(), procurement_method_details: HashMap::new() }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct R018 {
    /// The competitive methods.
    pub procurement_methods: HashSet<String>,
}

impl Default for R018 {
    fn default() -> Self {
        R018 { procurement_methods: ["open", "selective"].map(String::from).into() }
    }
}

/// A fence set by hand instead of from the quartiles.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Threshold {
    pub threshold: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct R025 {
    /// Top tenderers are those with at least this percentile of valid bids.
    pub percentile: usize,
    pub threshold: Option<f64>,
}

impl Default for R025 {
    fn default() -> Self {
        R025 { percentile: 75, threshold: None }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct R035 {
    /// At least this many other tenderers disqualified (never below 1).
    pub threshold: usize,
}

impl Default for R035 {
    fn default() -> Self {
        R035 { threshold: 1 }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct R038 {
    pub threshold: Option<f64>,
    pub minimum_submitted_bids: usize,
    /// Compared, as cardinal does, with the number of bids the buyer or procuring entity
    /// received (cardinal's documentation speaks of contracting processes).
    pub minimum_contracting_processes: usize,
}

impl Default for R038 {
    fn default() -> Self {
        R038 { threshold: None, minimum_submitted_bids: 2, minimum_contracting_processes: 2 }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct R048 {
    /// Leading digits of a classification code that make its first level.
    pub digits: usize,
    pub threshold: Option<usize>,
    pub minimum_contracting_processes: usize,
}

impl Default for R048 {
    fn default() -> Self {
        R048 { digits: 2, threshold: None, minimum_contracting_processes: 20 }
    }
}

/// Sections of cardinal's `prepare` command: they configure data preparation, not indicators.
const PREPARE_SECTIONS: [&str; 6] = ["output", "defaults", "redactions", "corrections", "modifications", "codelists"];

impl Settings {
    /// Every indicator with its defaults.
    pub fn all() -> Self {
        Settings {
            r003: Some(R003::default()),
            r018: Some(R018::default()),
            r024: Some(Threshold::default()),
            r025: Some(R025::default()),
            r028: Some(()),
            r030: Some(()),
            r035: Some(R035::default()),
            r036: Some(()),
            r038: Some(R038::default()),
            r048: Some(R048::default()),
            r058: Some(Threshold::default()),
            ..Settings::default()
        }
    }

    /// The indicators these settings enable, in code order.
    pub fn enabled(&self) -> Vec<Code> {
        let on = [
            self.r003.is_some(),
            self.r018.is_some(),
            self.r024.is_some(),
            self.r025.is_some(),
            self.r028.is_some(),
            self.r030.is_some(),
            self.r035.is_some(),
            self.r036.is_some(),
            self.r038.is_some(),
            self.r048.is_some(),
            self.r058.is_some(),
        ];
        Code::ALL.into_iter().zip(on).filter_map(|(code, on)| on.then_some(code)).collect()
    }

    /// Parses a settings file.
    pub fn parse(text: &str) -> Result<Self, SettingsError> {
        let mut settings = Settings::default();
        // Properties per section, in file order, so errors name the right line.
        let mut sections: BTreeMap<String, Vec<(usize, String, String)>> = BTreeMap::new();
        let mut current = String::new();
        sections.insert(current.clone(), Vec::new());
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with(';') || trimmed.starts_with('#') {
                continue;
            }
            if let Some(rest) = trimmed.strip_prefix('[') {
                let Some(name) = rest.strip_suffix(']') else {
                    return Err(error(line, format!("`{trimmed}` opens a section but does not close it with `]`")));
                };
                current = name.trim().to_owned();
                if current.is_empty() {
                    return Err(error(line, "a section needs a name between the brackets".into()));
                }
                sections.entry(current.clone()).or_default();
                continue;
            }
            let Some((key, value)) = trimmed.split_once(['=', ':']) else {
                return Err(error(line, format!("`{trimmed}` is neither a section, a comment nor `name = value`")));
            };
            let value = strip_inline_comment(value.trim());
            let value = value.trim_matches('"');
            sections.entry(current.clone()).or_default().push((line, key.trim().to_owned(), value.to_owned()));
        }

        for (section, properties) in sections {
            let top = section.split('.').next().unwrap_or_default();
            match section.as_str() {
                "" => settings.read_globals(&properties)?,
                "exclusions" => {
                    for (line, key, value) in &properties {
                        match key.as_str() {
                            "procurement_method_details" => {
                                settings.excluded_procurement_method_details = pipe_separated(value)
                            }
                            _ => return Err(unknown(*line, key, &section, &["procurement_method_details"])),
                        }
                    }
                }
                _ if PREPARE_SECTIONS.contains(&top) => {}
                _ if top.starts_with("KZ") => {
                    let properties = properties
                        .iter()
                        .map(|(line, key, value)| Property { line: *line, key: key.clone(), value: value.clone() })
                        .collect();
                    settings.kazakhstan.insert(section.clone(), properties);
                }
                "R003" => {
                    let r003 = settings.r003.get_or_insert_with(R003::default);
                    for (line, key, value) in &properties {
                        match key.as_str() {
                            "threshold" => r003.threshold = integer(*line, key, value)?,
                            "procurement_methods" => r003.procurement_methods = pipe_separated(value),
                            _ => return Err(unknown(*line, key, &section, &["threshold", "procurement_methods"])),
                        }
                    }
                }
                "R003.procurement_method_details" => {
                    let r003 = settings.r003.get_or_insert_with(R003::default);
                    for (line, key, value) in &properties {
                        r003.procurement_method_details.insert(key.clone(), integer(*line, key, value)?);
                    }
                }
                "R018" => {
                    let r018 = settings.r018.get_or_insert_with(R018::default);
                    for (line, key, value) in &properties {
                        match key.as_str() {
                            "procurement_methods" => r018.procurement_methods = pipe_separated(value),
                            _ => return Err(unknown(*line, key, &section, &["procurement_methods"])),
                        }
                    }
                }
                "R024" | "R058" => {
                    let mut threshold = Threshold::default();
                    for (line, key, value) in &properties {
                        match key.as_str() {
                            "threshold" => threshold.threshold = Some(decimal(*line, key, value)?),
                            _ => return Err(unknown(*line, key, &section, &["threshold"])),
                        }
                    }
                    if section == "R024" {
                        settings.r024 = Some(threshold);
                    } else {
                        settings.r058 = Some(threshold);
                    }
                }
                "R025" => {
                    let r025 = settings.r025.get_or_insert_with(R025::default);
                    for (line, key, value) in &properties {
                        match key.as_str() {
                            "percentile" => {
                                r025.percentile = natural(*line, key, value)?;
                                if r025.percentile > 100 {
                                    return Err(error(*line, format!("`percentile` is {value}; it must be 0 to 100")));
                                }
                            }
                            "threshold" => r025.threshold = Some(decimal(*line, key, value)?),
                            _ => return Err(unknown(*line, key, &section, &["percentile", "threshold"])),
                        }
                    }
                }
                "R028" | "R030" | "R036" => {
                    if let Some((line, key, _)) = properties.first() {
                        return Err(unknown(*line, key, &section, &[]));
                    }
                    match section.as_str() {
                        "R028" => settings.r028 = Some(()),
                        "R030" => settings.r030 = Some(()),
                        _ => settings.r036 = Some(()),
                    }
                }
                "R035" => {
                    let r035 = settings.r035.get_or_insert_with(R035::default);
                    for (line, key, value) in &properties {
                        match key.as_str() {
                            // Zero would flag every process won by its only valid bidder.
                            "threshold" => r035.threshold = natural(*line, key, value)?.max(1),
                            _ => return Err(unknown(*line, key, &section, &["threshold"])),
                        }
                    }
                }
                "R038" => {
                    let r038 = settings.r038.get_or_insert_with(R038::default);
                    for (line, key, value) in &properties {
                        match key.as_str() {
                            "threshold" => r038.threshold = Some(decimal(*line, key, value)?),
                            "minimum_submitted_bids" => r038.minimum_submitted_bids = natural(*line, key, value)?,
                            "minimum_contracting_processes" => {
                                r038.minimum_contracting_processes = natural(*line, key, value)?
                            }
                            _ => {
                                return Err(unknown(
                                    *line,
                                    key,
                                    &section,
                                    &["threshold", "minimum_submitted_bids", "minimum_contracting_processes"],
                                ));
                            }
                        }
                    }
                }
                "R048" => {
                    let r048 = settings.r048.get_or_insert_with(R048::default);
                    for (line, key, value) in &properties {
                        match key.as_str() {
                            "digits" => r048.digits = natural(*line, key, value)?,
                            "threshold" => r048.threshold = Some(natural(*line, key, value)?),
                            "minimum_contracting_processes" => {
                                r048.minimum_contracting_processes = natural(*line, key, value)?
                            }
                            _ => {
                                return Err(unknown(
                                    *line,
                                    key,
                                    &section,
                                    &["digits", "threshold", "minimum_contracting_processes"],
                                ));
                            }
                        }
                    }
                }
                _ => {
                    let line = section_line(text, &section);
                    return Err(error(
                        line,
                        format!(
                            "`[{section}]` is not a section cardinal knows; the indicators are {}, and the other \
                             sections exclusions, {}",
                            Code::ALL.map(Code::as_str).join(", "),
                            PREPARE_SECTIONS.join(", ")
                        ),
                    ));
                }
            }
        }
        Ok(settings)
    }

    fn read_globals(&mut self, properties: &[(usize, String, String)]) -> Result<(), SettingsError> {
        for (line, key, value) in properties {
            match key.as_str() {
                "currency" => self.currency = Some(value.clone()),
                "no_price_comparison_procurement_methods" => {
                    self.no_price_comparison_procurement_methods = pipe_separated(value)
                }
                "price_comparison_procurement_methods" => {
                    self.price_comparison_procurement_methods = pipe_separated(value)
                }
                _ => {
                    return Err(unknown(
                        *line,
                        key,
                        "",
                        &[
                            "currency",
                            "no_price_comparison_procurement_methods",
                            "price_comparison_procurement_methods",
                        ],
                    ));
                }
            }
        }
        Ok(())
    }
}

/// `a|b|c`, as cardinal splits lists (an empty value is an empty list).
pub fn pipe_separated(value: &str) -> HashSet<String> {
    value.split_terminator('|').map(str::to_owned).collect()
}

/// `threshold = 15 ; why` and `threshold = 15 # default`: a comment starts at `;` or `#` after a space.
fn strip_inline_comment(value: &str) -> &str {
    let bytes = value.as_bytes();
    for (index, byte) in bytes.iter().enumerate() {
        if (*byte == b';' || *byte == b'#') && index > 0 && bytes[index - 1].is_ascii_whitespace() {
            return value[..index].trim_end();
        }
    }
    value
}

pub(crate) fn error(line: usize, reason: String) -> SettingsError {
    SettingsError { line, reason }
}

pub(crate) fn unknown(line: usize, key: &str, section: &str, known: &[&str]) -> SettingsError {
    let place = if section.is_empty() { "at the top of the file".to_owned() } else { format!("in [{section}]") };
    let known =
        if known.is_empty() { "it takes no settings".to_owned() } else { format!("known: {}", known.join(", ")) };
    error(line, format!("`{key}` is not a setting {place} ({known})"))
}

pub(crate) fn integer(line: usize, key: &str, value: &str) -> Result<i64, SettingsError> {
    value.parse().map_err(|_| error(line, format!("`{key}` is `{value}`; it must be a whole number of days")))
}

pub(crate) fn natural(line: usize, key: &str, value: &str) -> Result<usize, SettingsError> {
    value.parse().map_err(|_| error(line, format!("`{key}` is `{value}`; it must be a whole number, 0 or more")))
}

pub(crate) fn decimal(line: usize, key: &str, value: &str) -> Result<f64, SettingsError> {
    match value.parse::<f64>() {
        Ok(number) if number.is_finite() => Ok(number),
        _ => Err(error(line, format!("`{key}` is `{value}`; it must be a decimal number such as 0.05"))),
    }
}

fn section_line(text: &str, section: &str) -> usize {
    text.lines()
        .position(|line| line.trim().trim_start_matches('[').trim_end_matches(']').trim() == section)
        .map_or(0, |index| index + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cardinal_init_file_reads_and_enables_every_indicator() {
        let text = include_str!("../../fixtures/cardinal/settings-init.ini");
        let settings = Settings::parse(text).unwrap();
        assert_eq!(settings, Settings::all());
    }

    #[test]
    fn properties_sections_and_comments() {
        let settings = Settings::parse(
            "currency = KZT\nno_price_comparison_procurement_methods = A|B\n\n[exclusions]\nprocurement_method_details = X\n\
             [R003]\nthreshold = 10 # by law\n[R003.procurement_method_details]\nemergency = 5\n; [R018]\n[R035]\nthreshold = 0\n",
        )
        .unwrap();
        assert_eq!(settings.currency.as_deref(), Some("KZT"));
        assert_eq!(settings.no_price_comparison_procurement_methods, pipe_separated("A|B"));
        assert_eq!(settings.excluded_procurement_method_details, pipe_separated("X"));
        let r003 = settings.r003.unwrap();
        assert_eq!(r003.threshold, 10);
        assert_eq!(r003.procurement_method_details["emergency"], 5);
        assert!(settings.r018.is_none(), "a commented-out section is off");
        assert_eq!(settings.r035.unwrap().threshold, 1, "R035's threshold is never below 1");
    }

    #[test]
    fn mistakes_name_the_line() {
        let error = Settings::parse("[R024]\nthreshhold = 0.1\n").unwrap_err();
        assert_eq!(error.line, 2);
        assert!(error.reason.contains("`threshhold` is not a setting in [R024]"), "{error}");
        let error = Settings::parse("[R024]\nthreshold = low\n").unwrap_err();
        assert_eq!(
            error.to_string(),
            "settings line 2: `threshold` is `low`; it must be a decimal number such as 0.05"
        );
        let error = Settings::parse("\n[R999]\n").unwrap_err();
        assert_eq!(error.line, 2);
        assert!(Settings::parse("[R003\n").is_err());
    }
}
