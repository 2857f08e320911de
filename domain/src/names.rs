//! Names in Kazakhstan's three working languages, any of which may be missing upstream.

use serde::{Deserialize, Serialize};

/// A name in Russian, Kazakh and English. Upstream sources leave parts out, pad them with
/// spaces, or (goszakup) call Kazakh `_kz`; this type holds the cleaned parts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalizedName {
    pub ru: Option<String>,
    pub kk: Option<String>,
    pub en: Option<String>,
}

/// One of the three languages a name can be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Ru,
    Kk,
    En,
}

impl LocalizedName {
    /// Builds a name from raw upstream parts: trims each, and drops the empty ones.
    pub fn from_parts(ru: Option<&str>, kk: Option<&str>, en: Option<&str>) -> Self {
        fn clean(part: Option<&str>) -> Option<String> {
            let trimmed = part?.trim();
            (!trimmed.is_empty()).then(|| trimmed.to_owned())
        }
        LocalizedName { ru: clean(ru), kk: clean(kk), en: clean(en) }
    }

    pub fn get(&self, language: Language) -> Option<&str> {
        match language {
            Language::Ru => self.ru.as_deref(),
            Language::Kk => self.kk.as_deref(),
            Language::En => self.en.as_deref(),
        }
    }

    /// The name to show a reader who prefers `language`: that part if present, else Russian,
    /// Kazakh, English in that order (Russian is the part upstream sources fill most often).
    pub fn display(&self, language: Language) -> Option<&str> {
        self.get(language).or(self.ru.as_deref()).or(self.kk.as_deref()).or(self.en.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_drops_empty_parts() {
        let name = LocalizedName::from_parts(Some("  АО НИТ "), Some(""), None);
        assert_eq!(name, LocalizedName { ru: Some("АО НИТ".into()), kk: None, en: None });
    }

    #[test]
    fn display_falls_back_to_a_present_language() {
        let name = LocalizedName::from_parts(None, Some("Қаржы министрлігі"), Some("Ministry of Finance"));
        assert_eq!(name.display(Language::Ru), Some("Қаржы министрлігі"));
        assert_eq!(name.display(Language::En), Some("Ministry of Finance"));
        assert_eq!(LocalizedName::default().display(Language::Kk), None);
    }
}
