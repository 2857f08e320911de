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

use crate::rules::Code;
use crate::settings::Settings;

/// What a flag of one of cardinal's indicators weighs, and why.
pub fn cardinal_severity(code: Code) -> Severity {
    cardinal_entry(code).3
}

type Entry = (Text, Text, &'static str, Severity);

/// Title, description, why the severity, the severity.
fn cardinal_entry(code: Code) -> Entry {
    let t = |ru, kk, en| Text { ru, kk, en };
    match code {
        Code::R003 => (
            t("Короткий срок подачи заявок", "Өтінімдерді берудің қысқа мерзімі", "Short submission period"),
            t(
                "Срок подачи заявок (от начала до окончания приёма) короче порога в целых днях.",
                "Өтінімдерді қабылдау мерзімі (басынан аяғына дейін) бүтін күнмен шектен қысқа.",
                "The submission period, from its start to the deadline, is shorter than the threshold in whole days.",
            ),
            "a hint, not a proof: short periods are also lawful for some methods",
            Severity::Low,
        ),
        Code::R018 => (
            t("Подана одна заявка", "Бір ғана өтінім берілді", "Single bid received"),
            t(
                "В конкурентной процедуре (открытой или ограниченной) участвовал один поставщик.",
                "Бәсекелі рәсімге (ашық немесе шектеулі) бір ғана әлеуетті өнім беруші қатысты.",
                "Only one tenderer bid in a competitive (open or selective) procedure.",
            ),
            "competition that did not happen; common where markets are thin",
            Severity::Medium,
        ),
        Code::R024 => (
            t("Цена близка к выигравшей", "Баға жеңген бағаға жақын", "Price close to winning bid"),
            t(
                "Разница между выигравшей и второй по величине допущенной заявками — низкий выброс (не больше Q1 − 1,5·IQR).",
                "Жеңген өтінім мен екінші ең төмен жарамды өтінім арасындағы айырма — төменгі шығыс (Q1 − 1,5·IQR-дан аспайды).",
                "The difference between the winning and the second-lowest valid bid is a low outlier (at most Q1 − 1.5 IQR).",
            ),
            "a pattern of cover bidding, but close prices also occur in tight markets",
            Severity::Medium,
        ),
        Code::R025 => (
            t("Слишком много проигранных заявок", "Тым көп ұтылған өтінімдер", "Excessive unsuccessful bids"),
            t(
                "У одного из самых активных участников доля побед — низкий выброс.",
                "Ең белсенді қатысушылардың бірінің жеңістер үлесі — төменгі шығыс.",
                "A top tenderer's share of bids won is a low outlier.",
            ),
            "a statistical outlier about a bidder's record, weaker than a flag about one process",
            Severity::Low,
        ),
        Code::R028 => (
            t("Одинаковые цены заявок", "Өтінімдердің бірдей бағалары", "Identical bid prices"),
            t(
                "Разные участники подали заявки с одной и той же ценой.",
                "Әртүрлі қатысушылар бірдей бағамен өтінім берді.",
                "Different tenderers submitted bids with the same price.",
            ),
            "identical prices from independent firms are rarely a coincidence",
            Severity::High,
        ),
        Code::R030 => (
            t("Победила поздняя заявка", "Кеш берілген өтінім жеңді", "Late bid won"),
            t(
                "Выигравшая заявка получена после окончания срока подачи.",
                "Жеңген өтінім беру мерзімі аяқталғаннан кейін түскен.",
                "The winning bid was received after the submission deadline.",
            ),
            "a rule broken in the winner's favour",
            Severity::High,
        ),
        Code::R035 => (
            t(
                "Отклонены все заявки, кроме выигравшей",
                "Жеңгеннен басқа барлық өтінімдер қабылданбады",
                "All except winning bid disqualified",
            ),
            t(
                "Допущен один участник, он и победил, а заявки остальных отклонены.",
                "Бір ғана қатысушы жіберілді, сол жеңді, қалғандарының өтінімдері қабылданбады.",
                "One tenderer's bids were valid and won; the other tenderers' bids were disqualified.",
            ),
            "the way cleared for one bidder",
            Severity::High,
        ),
        Code::R036 => (
            t("Отклонена самая низкая цена", "Ең төмен баға қабылданбады", "Lowest bid disqualified"),
            t(
                "Самая дешёвая заявка отклонена, хотя есть допущенные заявки с ценой.",
                "Ең арзан өтінім қабылданбады, ал бағасы бар жарамды өтінімдер бар.",
                "The lowest submitted bid was disqualified while valid bids with prices remain.",
            ),
            "the cheapest offer thrown out where price decides",
            Severity::High,
        ),
        Code::R038 => (
            t("Слишком много отклонённых заявок", "Тым көп қабылданбаған өтінімдер", "Excessive disqualified bids"),
            t(
                "Доля отклонённых заявок у заказчика, организатора или участника — высокий выброс (не меньше Q3 + 1,5·IQR).",
                "Тапсырыс берушіде, ұйымдастырушыда немесе қатысушыда қабылданбаған өтінімдер үлесі — жоғары шығыс (Q3 + 1,5·IQR-дан кем емес).",
                "The share of disqualified bids of a buyer, procuring entity or tenderer is a high outlier (at least Q3 + 1.5 IQR).",
            ),
            "an outlier over many processes, worth a look at how bids are judged",
            Severity::Medium,
        ),
        Code::R048 => (
            t("Разнородный поставщик", "Әртүрлі тауар жеткізуші", "Heterogeneous supplier"),
            t(
                "Поставщик поставляет товары и услуги из необычно многих разделов классификатора.",
                "Өнім беруші сыныптауыштың әдеттен тыс көп бөлімдерінен тауарлар мен қызметтер жеткізеді.",
                "The variety of what a supplier supplies, in first-level classification codes, is a high outlier.",
            ),
            "fronts and resellers look like this, and so do honest wholesalers",
            Severity::Low,
        ),
        Code::R058 => (
            t("Сильно заниженная цена", "Тым төмендетілген баға", "Heavily discounted bid"),
            t(
                "Выигравшая заявка намного дешевле второй — высокий выброс разницы (не меньше Q3 + 1,5·IQR).",
                "Жеңген өтінім екіншісінен әлдеқайда арзан — айырманың жоғары шығысы (Q3 + 1,5·IQR-дан кем емес).",
                "The winning bid is far below the second-lowest: the difference is a high outlier (at least Q3 + 1.5 IQR).",
            ),
            "a risk to what is delivered, not a sign of collusion",
            Severity::Low,
        ),
    }
}

fn setting(name: &'static str, value: impl ToString, default: &'static str, reason: &'static str) -> SettingInfo {
    SettingInfo { name, value: value.to_string(), default, reason }
}

fn fence_or_quartiles(value: Option<f64>) -> String {
    value.map_or_else(|| "from the quartiles".to_owned(), |v| v.to_string())
}

fn methods(set: &std::collections::HashSet<String>) -> String {
    let mut methods: Vec<&str> = set.iter().map(String::as_str).collect();
    methods.sort_unstable();
    methods.join("|")
}

/// The settings of one of cardinal's indicators as in force (defaults where it is off).
pub fn cardinal_settings(settings: &Settings, code: Code) -> Vec<SettingInfo> {
    let quartiles = "a fence from the data's own quartiles adapts to each market; set one to compare markets";
    match code {
        Code::R003 => {
            let r003 = settings.r003.clone().unwrap_or_default();
            let mut list = vec![
                setting(
                    "threshold",
                    r003.threshold,
                    "15",
                    "cardinal's default: two weeks and a day is the shortest period common EU and World Bank rules allow for open procedures",
                ),
                setting(
                    "procurement_methods",
                    methods(&r003.procurement_methods),
                    "",
                    "empty: every method; Kazakhstan's law sets periods per method",
                ),
            ];
            let mut details: Vec<_> = r003.procurement_method_details.iter().collect();
            details.sort();
            for (name, days) in details {
                list.push(SettingInfo {
                    name: "procurement_method_details",
                    value: format!("{name} = {days}"),
                    default: "",
                    reason: "a legal minimum per method overrides the threshold",
                });
            }
            list
        }
        Code::R018 => vec![setting(
            "procurement_methods",
            methods(&settings.r018.clone().unwrap_or_default().procurement_methods),
            "open|selective",
            "only competitive procedures are expected to draw several bids",
        )],
        Code::R024 => vec![setting(
            "threshold",
            fence_or_quartiles(settings.r024.clone().unwrap_or_default().threshold),
            "",
            quartiles,
        )],
        Code::R058 => vec![setting(
            "threshold",
            fence_or_quartiles(settings.r058.clone().unwrap_or_default().threshold),
            "",
            quartiles,
        )],
        Code::R025 => {
            let r025 = settings.r025.clone().unwrap_or_default();
            vec![
                setting(
                    "percentile",
                    r025.percentile,
                    "75",
                    "only the most active quarter of tenderers has a record long enough to judge",
                ),
                setting("threshold", fence_or_quartiles(r025.threshold), "", quartiles),
            ]
        }
        Code::R035 => vec![setting(
            "threshold",
            settings.r035.clone().unwrap_or_default().threshold,
            "1",
            "one other tenderer disqualified already clears the way; raise it where few bids are common",
        )],
        Code::R038 => {
            let r038 = settings.r038.clone().unwrap_or_default();
            vec![
                setting("threshold", fence_or_quartiles(r038.threshold), "", quartiles),
                setting("minimum_submitted_bids", r038.minimum_submitted_bids, "2", "a share of one bid says nothing"),
                setting(
                    "minimum_contracting_processes",
                    r038.minimum_contracting_processes,
                    "2",
                    "compared with the bids received, as cardinal does",
                ),
            ]
        }
        Code::R048 => {
            let r048 = settings.r048.clone().unwrap_or_default();
            vec![
                setting(
                    "digits",
                    r048.digits,
                    "2",
                    "the first two digits are the classification's top level (ENSTRU's section, CPV's division)",
                ),
                setting(
                    "threshold",
                    r048.threshold.map_or_else(|| "from the quartiles".to_owned(), |v| v.to_string()),
                    "",
                    quartiles,
                ),
                setting(
                    "minimum_contracting_processes",
                    r048.minimum_contracting_processes,
                    "20",
                    "variety grows with the number of contracts: only suppliers with many are compared",
                ),
            ]
        }
        Code::R028 | Code::R030 | Code::R036 => Vec::new(),
    }
}

/// The settings in force as a JSON object, for the stored coverage.
pub fn cardinal_settings_json(settings: &Settings, code: Code) -> serde_json::Value {
    serde_json::Value::Object(
        cardinal_settings(settings, code)
            .into_iter()
            .map(|s| (s.name.to_owned(), serde_json::Value::String(s.value)))
            .collect(),
    )
}

/// Cardinal's eleven indicators, with the settings in force.
pub fn cardinal(settings: &Settings) -> Vec<IndicatorInfo> {
    let enabled = settings.enabled();
    Code::ALL
        .into_iter()
        .map(|code| {
            let (title, description, severity_reason, severity) = cardinal_entry(code);
            IndicatorInfo {
                code: code.as_str(),
                title,
                description,
                severity,
                severity_reason,
                cardinal: true,
                enabled: enabled.contains(&code),
                settings: cardinal_settings(settings, code),
            }
        })
        .collect()
}
