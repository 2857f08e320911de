//! `scrutiny-bench ocds-releases`: synthetic OCDS compiled releases, one JSON object a line, the
//! input of `scrutiny indicators` and of OCP's cardinal in `scripts/bench-indicators.sh`.
//!
//! The data is shaped so that each of the eleven red flags (R003 … R058) has something to find
//! and the work per release is realistic: about 2,000 buyers, 500 procuring entities and
//! 20,000 tenderers drawn with a skew (a few very active), bidders chosen among the suppliers of
//! the tender's CPV division, the lowest valid bid usually winning, and a small share of processes
//! that carry each pattern the indicators look for. The same `count` and `seed` always give the
//! same bytes.

use std::io::{self, Write};

use chrono::{DateTime, Duration, SecondsFormat, TimeZone, Utc};
use serde_json::{Value, json};

use domain::biin::Biin;

const BUYERS: usize = 2_000;
const PROCURING_ENTITIES: usize = 500;
const TENDERERS: usize = 20_000;
/// Tenderers whose awards span many divisions (R048).
const HETEROGENEOUS: usize = 60;
/// Tenderers that only ever place a losing cover bid beside others (R025).
const COVER_BIDDERS: usize = 100;
/// Share of submitted bids disqualified, before the buyer's and the tenderer's own leaning.
const DISQUALIFIED: f64 = 0.045;

/// A CPV division: its name, its OCDS main procurement category, and items as (eight-digit
/// code, description, unit).
struct Division {
    name: &'static str,
    category: &'static str,
    items: &'static [(&'static str, &'static str, &'static str)],
}

/// Thirty divisions, in the order of how often a buyer needs them (the draw is skewed to the front).
const DIVISIONS: [Division; 30] = [
    Division {
        name: "Строительные работы",
        category: "works",
        items: &[
            ("45453000", "Капитальный ремонт здания", "работа"),
            ("45233140", "Ремонт автомобильных дорог", "км"),
            ("45210000", "Строительство здания школы", "объект"),
            ("45330000", "Монтаж систем водоснабжения и канализации", "работа"),
        ],
    },
    Division {
        name: "Продукты питания",
        category: "goods",
        items: &[
            ("15511000", "Молоко пастеризованное 2,5%", "литр"),
            ("15811000", "Хлеб пшеничный формовой", "килограмм"),
            ("15110000", "Говядина охлаждённая", "килограмм"),
            ("15831000", "Сахар-песок", "килограмм"),
        ],
    },
    Division {
        name: "Медицинское оборудование и лекарственные средства",
        category: "goods",
        items: &[
            ("33600000", "Лекарственные средства по перечню", "упаковка"),
            ("33141000", "Медицинские расходные материалы", "штука"),
            ("33124000", "Реагенты для диагностики", "набор"),
        ],
    },
    Division {
        name: "Офисная и вычислительная техника",
        category: "goods",
        items: &[
            ("30213100", "Ноутбук 15,6\", 16 ГБ ОЗУ", "штука"),
            ("30232110", "Принтер лазерный монохромный", "штука"),
            ("30197630", "Бумага для печати А4, 80 г/м²", "пачка"),
            ("30192000", "Канцелярские товары", "набор"),
        ],
    },
    Division {
        name: "Нефтепродукты, топливо и электроэнергия",
        category: "goods",
        items: &[
            ("09134100", "Дизельное топливо летнее", "литр"),
            ("09132000", "Бензин АИ-92", "литр"),
            ("09111100", "Уголь каменный", "тонна"),
        ],
    },
    Division {
        name: "Уборка, вывоз отходов и охрана окружающей среды",
        category: "services",
        items: &[
            ("90910000", "Уборка помещений", "месяц"),
            ("90510000", "Вывоз твёрдых бытовых отходов", "кубический метр"),
            ("90620000", "Уборка снега с территории", "месяц"),
        ],
    },
    Division {
        name: "Ремонт и техническое обслуживание",
        category: "services",
        items: &[
            ("50110000", "Техническое обслуживание автотранспорта", "услуга"),
            ("50312000", "Обслуживание компьютерной техники", "месяц"),
            ("50750000", "Обслуживание лифтов", "месяц"),
        ],
    },
    Division {
        name: "Услуги общественного питания",
        category: "services",
        items: &[
            ("55524000", "Организация горячего питания учащихся", "день"),
            ("55520000", "Кейтеринг мероприятий", "услуга"),
        ],
    },
    Division {
        name: "Деловые услуги",
        category: "services",
        items: &[
            ("79710000", "Охрана объекта", "месяц"),
            ("79810000", "Печать бланочной продукции", "тираж"),
            ("79530000", "Письменный перевод документов", "страница"),
        ],
    },
    Division {
        name: "Транспортные средства",
        category: "goods",
        items: &[
            ("34110000", "Автомобиль легковой", "штука"),
            ("34350000", "Шины для грузовых автомобилей", "штука"),
            ("34144000", "Автомобиль специального назначения", "штука"),
        ],
    },
    Division {
        name: "Мебель и хозяйственные товары",
        category: "goods",
        items: &[
            ("39130000", "Мебель офисная", "комплект"),
            ("39160000", "Мебель школьная", "комплект"),
            ("39830000", "Моющие и чистящие средства", "штука"),
        ],
    },
    Division {
        name: "Услуги в сфере информационных технологий",
        category: "services",
        items: &[
            ("72260000", "Сопровождение информационной системы", "месяц"),
            ("72410000", "Услуги хостинга", "месяц"),
        ],
    },
    Division {
        name: "Архитектурные и инженерные услуги",
        category: "services",
        items: &[
            ("71320000", "Разработка проектно-сметной документации", "проект"),
            ("71520000", "Технический надзор за строительством", "услуга"),
        ],
    },
    Division {
        name: "Строительные материалы и конструкции",
        category: "goods",
        items: &[
            ("44111000", "Цемент М400", "тонна"),
            ("44160000", "Трубы стальные", "метр"),
            ("44221000", "Окна из ПВХ-профиля", "штука"),
        ],
    },
    Division {
        name: "Транспортные услуги",
        category: "services",
        items: &[("60130000", "Подвоз учащихся", "рейс"), ("60100000", "Автотранспортные услуги", "машино-час")],
    },
    Division {
        name: "Коммунальные услуги",
        category: "services",
        items: &[("65300000", "Электроснабжение", "киловатт-час"), ("65100000", "Водоснабжение", "кубический метр")],
    },
    Division {
        name: "Образовательные услуги",
        category: "services",
        items: &[
            ("80530000", "Курсы повышения квалификации", "человек"),
            ("80411200", "Обучение водителей", "человек"),
        ],
    },
    Division {
        name: "Одежда и обувь",
        category: "goods",
        items: &[("18110000", "Спецодежда летняя", "комплект"), ("18830000", "Обувь защитная", "пара")],
    },
    Division {
        name: "Печатная продукция",
        category: "goods",
        items: &[
            ("22110000", "Учебники для общеобразовательных школ", "штука"),
            ("22800000", "Журналы учёта", "штука"),
        ],
    },
    Division {
        name: "Услуги связи",
        category: "services",
        items: &[("64216000", "Доступ к сети Интернет", "месяц"), ("64210000", "Услуги телефонной связи", "месяц")],
    },
    Division {
        name: "Электрооборудование",
        category: "goods",
        items: &[("31500000", "Светильники светодиодные", "штука"), ("31440000", "Аккумуляторные батареи", "штука")],
    },
    Division {
        name: "Телекоммуникационное оборудование",
        category: "goods",
        items: &[("32420000", "Коммутатор сетевой", "штука"), ("32323500", "Система видеонаблюдения", "комплект")],
    },
    Division {
        name: "Промышленное оборудование",
        category: "goods",
        items: &[("42120000", "Насос центробежный", "штука"), ("42510000", "Теплообменник пластинчатый", "штука")],
    },
    Division {
        name: "Услуги здравоохранения",
        category: "services",
        items: &[
            ("85140000", "Медицинский осмотр работников", "человек"),
            ("85312000", "Социальные услуги на дому", "месяц"),
        ],
    },
    Division {
        name: "Сельскохозяйственная продукция",
        category: "goods",
        items: &[("03221000", "Овощи свежие", "килограмм"), ("03222000", "Фрукты свежие", "килограмм")],
    },
    Division {
        name: "Лабораторное и измерительное оборудование",
        category: "goods",
        items: &[
            ("38430000", "Приборы учёта тепловой энергии", "штука"),
            ("38540000", "Лабораторное оборудование", "комплект"),
        ],
    },
    Division {
        name: "Программное обеспечение",
        category: "goods",
        items: &[
            ("48760000", "Антивирусное программное обеспечение", "лицензия"),
            ("48310000", "Офисное программное обеспечение", "лицензия"),
        ],
    },
    Division {
        name: "Химическая продукция",
        category: "goods",
        items: &[("24450000", "Средства защиты растений", "литр"), ("24311000", "Хлор для водоподготовки", "тонна")],
    },
    Division {
        name: "Спортивный инвентарь",
        category: "goods",
        items: &[("37400000", "Спортивный инвентарь для школ", "комплект")],
    },
    Division {
        name: "Продукция горнодобывающей промышленности",
        category: "goods",
        items: &[("14212000", "Щебень фракции 20–40", "тонна"), ("14410000", "Соль техническая", "тонна")],
    },
];

const CITIES: [(&str, &str, &str); 17] = [
    ("Астана", "Астана", "010000"),
    ("Алматы", "Алматы", "050000"),
    ("Шымкент", "Шымкент", "160000"),
    ("Караганда", "Карагандинская область", "100000"),
    ("Актобе", "Актюбинская область", "030000"),
    ("Тараз", "Жамбылская область", "080000"),
    ("Павлодар", "Павлодарская область", "140000"),
    ("Усть-Каменогорск", "Восточно-Казахстанская область", "070000"),
    ("Семей", "область Абай", "071400"),
    ("Атырау", "Атырауская область", "060000"),
    ("Костанай", "Костанайская область", "110000"),
    ("Кызылорда", "Кызылординская область", "120000"),
    ("Уральск", "Западно-Казахстанская область", "090000"),
    ("Петропавловск", "Северо-Казахстанская область", "150000"),
    ("Актау", "Мангистауская область", "130000"),
    ("Туркестан", "Туркестанская область", "161200"),
    ("Кокшетау", "Акмолинская область", "020000"),
];
const STREETS: [&str; 10] = [
    "ул. Абая",
    "пр. Республики",
    "ул. Кунаева",
    "ул. Сейфуллина",
    "пр. Назарбаева",
    "ул. Толе би",
    "ул. Жамбыла",
    "ул. Байтурсынова",
    "пр. Победы",
    "ул. Ауэзова",
];
const BUYER_KINDS: [&str; 8] = [
    "КГУ «Школа-гимназия № {n}» г. {city}",
    "ГКП на ПХВ «Поликлиника № {n}» г. {city}",
    "ГУ «Аппарат акима района № {n}» г. {city}",
    "КГУ «Детский сад № {n}» г. {city}",
    "ГУ «Отдел ЖКХ № {n}» г. {city}",
    "ГУ «Отдел дорог № {n}» г. {city}",
    "РГУ «УГД № {n}» по г. {city}",
    "ГККП «Колледж № {n}» г. {city}",
];
const WORDS: [&str; 24] = [
    "Астана",
    "Береке",
    "Жол",
    "Құрылыс",
    "Сервис",
    "Снаб",
    "Техно",
    "Строй",
    "Медикал",
    "Азия",
    "Даму",
    "Нур",
    "Алтын",
    "Дала",
    "Трейд",
    "Инвест",
    "Групп",
    "Логистик",
    "Энерго",
    "Фарм",
    "Арман",
    "Сапа",
    "Өрлеу",
    "Транс",
];
const SURNAMES: [&str; 12] = [
    "Ахметов",
    "Садыкова",
    "Иванов",
    "Жумабаев",
    "Касымова",
    "Петренко",
    "Нурланов",
    "Оспанова",
    "Ким",
    "Абдрахманов",
    "Сейткали",
    "Беков",
];

struct Organization {
    id: String,
    name: String,
    /// The party without its roles, which depend on the process.
    party: Value,
}

/// The fixed population the releases are drawn from.
struct World {
    buyers: Vec<Organization>,
    /// How much more often than usual a buyer disqualifies bids (R038 by buyer).
    buyer_strictness: Vec<f64>,
    /// The procuring entity that usually runs a buyer's procedures.
    buyer_entity: Vec<usize>,
    entities: Vec<Organization>,
    tenderers: Vec<Organization>,
    /// How much more often than usual a tenderer's bids are disqualified (R038 by tenderer).
    sloppiness: Vec<f64>,
    /// The tenderers supplying each division, most active first.
    pools: Vec<Vec<usize>>,
    /// The cover bidders working in each division.
    covers: Vec<Vec<usize>>,
}

/// Distinct synthetic BINs with valid check digits, from a block of serial numbers.
fn bins(block: u64, count: usize) -> Vec<String> {
    (0u64..)
        .filter_map(|n| {
            let digits = format!("{:011}", block * 100_000 + n * 7);
            let prefix: Vec<u32> = digits.chars().map(|c| c.to_digit(10).unwrap()).collect();
            Biin::from_prefix(&prefix.try_into().unwrap()).map(|b| b.as_str().to_owned())
        })
        .take(count)
        .collect()
}

/// How much a party tells of itself beside its identifier.
enum Detail {
    /// A tenderer's: nothing more.
    None,
    /// A procuring entity's: its town (an index into `CITIES`).
    Town(usize),
    /// A buyer's: its full address and a contact point.
    Full(usize),
}

fn organization(rng: &mut fastrand::Rng, bin: &str, name: String, detail: Detail) -> Organization {
    let id = format!("KZ-BIN-{bin}");
    let mut party = json!({"id": id, "name": name, "identifier": {"scheme": "KZ-BIN", "id": bin}});
    match detail {
        Detail::None => {}
        Detail::Town(city) => party["address"] = json!({"locality": CITIES[city].0}),
        Detail::Full(city) => {
            let (locality, region, postal) = CITIES[city];
            party["address"] = json!({
                "streetAddress": format!("{}, {}", STREETS[rng.usize(..STREETS.len())], rng.u32(1..=180)),
                "locality": locality,
                "region": region,
                "postalCode": postal,
                "countryName": "Казахстан",
            });
            let initial = ["А", "Б", "Г", "Е", "М", "С"][rng.usize(..6)];
            party["contactPoint"] = json!({
                "name": format!("{} {initial}.", SURNAMES[rng.usize(..SURNAMES.len())]),
                "email": format!("zakup{}@example.kz", &bin[6..]),
            });
        }
    }
    Organization { id, name, party }
}

/// An index in `0..n` skewed to the front: the first 1% get about `100^(1 - 1/power)` times
/// their share, the last ones about `1/power` of it, so no one is idle and a few are very busy.
fn skewed(rng: &mut fastrand::Rng, n: usize, power: f64) -> usize {
    ((rng.f64().powf(power) * n as f64) as usize).min(n - 1)
}

fn between(rng: &mut fastrand::Rng, low: f64, high: f64) -> f64 {
    low + rng.f64() * (high - low)
}

impl World {
    fn new(rng: &mut fastrand::Rng) -> World {
        let buyer_bins = bins(60_040, BUYERS);
        let buyers: Vec<Organization> = buyer_bins
            .iter()
            .enumerate()
            .map(|(i, bin)| {
                let (city, _, _) = CITIES[i % CITIES.len()];
                let name = BUYER_KINDS[rng.usize(..BUYER_KINDS.len())]
                    .replace("{n}", &(i / CITIES.len() + 1).to_string())
                    .replace("{city}", city);
                organization(rng, bin, name, Detail::Full(i % CITIES.len()))
            })
            .collect();
        // A few buyers disqualify several times as often as the rest.
        let buyer_strictness =
            (0..BUYERS).map(|_| if rng.f64() < 0.02 { between(rng, 4.0, 7.0) } else { 1.0 }).collect();
        let entities: Vec<Organization> = bins(70_040, PROCURING_ENTITIES)
            .iter()
            .enumerate()
            .map(|(i, bin)| {
                let (city, _, _) = CITIES[i % CITIES.len()];
                let name = if i % 3 == 0 {
                    format!("ГУ «Управление госзакупок № {}» г. {city}", i / 3 + 1)
                } else {
                    format!("ГУ «Отдел госзакупок № {}» г. {city}", i + 1)
                };
                organization(rng, bin, name, Detail::Town(i % CITIES.len()))
            })
            .collect();
        let buyer_entity = (0..BUYERS).map(|_| skewed(rng, PROCURING_ENTITIES, 1.5)).collect();

        let tenderers: Vec<Organization> = bins(80_140, TENDERERS + COVER_BIDDERS)
            .iter()
            .map(|bin| {
                let name = match rng.u32(0..10) {
                    0 => format!("ИП «{}»", SURNAMES[rng.usize(..SURNAMES.len())]),
                    1 => format!("АО «{}{}»", WORDS[rng.usize(..WORDS.len())], WORDS[rng.usize(..WORDS.len())]),
                    _ => format!(
                        "ТОО «{} {}{}»",
                        WORDS[rng.usize(..WORDS.len())],
                        WORDS[rng.usize(..WORDS.len())],
                        ["", " KZ", " Плюс", "-2005", " Казахстан"][rng.usize(..5)]
                    ),
                };
                organization(rng, bin, name, Detail::None)
            })
            .collect();
        let sloppiness = (0..TENDERERS + COVER_BIDDERS)
            .map(|_| if rng.f64() < 0.015 { between(rng, 5.0, 9.0) } else { between(rng, 0.5, 1.5) })
            .collect();

        // Each tenderer supplies one to three divisions (drawn with the buyers' skew, so common
        // divisions have many suppliers); a few heterogeneous ones supply a dozen or more.
        let mut pools = vec![Vec::new(); DIVISIONS.len()];
        let mut heterogeneous = Vec::with_capacity(HETEROGENEOUS);
        while heterogeneous.len() < HETEROGENEOUS {
            let t = rng.usize(..TENDERERS);
            if !heterogeneous.contains(&t) {
                heterogeneous.push(t);
            }
        }
        for (t, _) in tenderers.iter().enumerate().take(TENDERERS) {
            let count =
                if heterogeneous.contains(&t) { rng.usize(12..=22) } else { [1, 1, 1, 2, 2, 2, 3, 3][rng.usize(..8)] };
            let mut mine: Vec<usize> = Vec::with_capacity(count);
            while mine.len() < count {
                let d = skewed(rng, DIVISIONS.len(), 1.4);
                if !mine.contains(&d) {
                    mine.push(d);
                }
            }
            for d in mine {
                pools[d].push(t);
            }
        }
        let mut covers = vec![Vec::new(); DIVISIONS.len()];
        for c in TENDERERS..TENDERERS + COVER_BIDDERS {
            covers[skewed(rng, DIVISIONS.len(), 1.4)].push(c);
        }
        World { buyers, buyer_strictness, buyer_entity, entities, tenderers, sloppiness, pools, covers }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Method {
    Open,
    Selective,
    Limited,
    Direct,
}

/// The pattern, if any, a process is made to carry beside what arises by chance.
#[derive(Clone, Copy, PartialEq)]
enum Pattern {
    None,
    /// Two tenderers quote the same price (R028).
    IdenticalPrices,
    /// The winner's bid arrived after the deadline (R030).
    LateWinner,
    /// Every bid but the winner's is disqualified (R035).
    OthersDisqualified,
    /// The lowest bid is disqualified (R036).
    LowestDisqualified,
    /// The second-lowest bid is within 1.5% of the winner's (R024).
    CloseSecond,
    /// The winner undercuts the next bid by 30% or more (R058).
    DeepDiscount,
}

struct Bid {
    tenderers: Vec<usize>,
    status: &'static str,
    /// In tiyn; `None` for an invitation that was never answered.
    amount: Option<u64>,
    date: DateTime<Utc>,
}

/// A sum in tiyn: whole tenge unless `cents`.
fn money(tenge: f64, cents: bool) -> u64 {
    let tiyn = (tenge * 100.0).round().max(100.0) as u64;
    if cents { tiyn } else { tiyn / 100 * 100 }
}

/// A sum as OCDS writes it: an integer when whole, else with two decimals.
fn amount(tiyn: u64) -> Value {
    if tiyn.is_multiple_of(100) { json!(tiyn / 100) } else { json!(tiyn as f64 / 100.0) }
}

fn value(tiyn: u64) -> Value {
    json!({"amount": amount(tiyn), "currency": "KZT"})
}

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub struct Generator {
    rng: fastrand::Rng,
    world: World,
    epoch: DateTime<Utc>,
}

impl Generator {
    pub fn new(seed: u64) -> Generator {
        let mut rng = fastrand::Rng::with_seed(seed);
        let world = World::new(&mut rng);
        Generator { rng, world, epoch: Utc.with_ymd_and_hms(2023, 1, 9, 3, 0, 0).unwrap() }
    }

    /// Adds up to `count` tenderers from a division's pool, with the pool's skew, to `taken`,
    /// each not in it already.
    fn bidders(&mut self, division: usize, count: usize, taken: &mut Vec<usize>) {
        let pool = &self.world.pools[division];
        let want = taken.len() + count;
        // Bounded, so that a small pool cannot stall the draw.
        for _ in 0..count * 20 {
            if taken.len() == want {
                break;
            }
            let t = pool[skewed(&mut self.rng, pool.len(), 2.0)];
            if !taken.contains(&t) {
                taken.push(t);
            }
        }
    }

    /// The release numbered `n` (from 0).
    pub fn release(&mut self, n: usize) -> Value {
        let ocid = format!("ocds-bench-{:06}", n + 1);
        let buyer = skewed(&mut self.rng, BUYERS, 2.0);
        let entity = if self.rng.f64() < 0.85 {
            self.world.buyer_entity[buyer]
        } else {
            skewed(&mut self.rng, PROCURING_ENTITIES, 2.0)
        };
        let division = skewed(&mut self.rng, DIVISIONS.len(), 1.6);
        let rng = &mut self.rng;
        let method = match rng.u32(0..100) {
            0..60 => Method::Open,
            60..70 => Method::Selective,
            70..85 => Method::Limited,
            _ => Method::Direct,
        };
        let (method_code, details) = match method {
            Method::Open => ("open", ["Открытый конкурс", "Аукцион", "Запрос ценовых предложений"][rng.usize(..3)]),
            Method::Selective => ("selective", "Конкурс с предварительным квалификационным отбором"),
            Method::Limited => (
                "limited",
                ["Конкурс с ограниченным участием", "Конкурс среди отечественных товаропроизводителей"][rng.usize(..2)],
            ),
            Method::Direct => ("direct", "Из одного источника"),
        };
        let pattern = if method == Method::Direct {
            Pattern::None
        } else {
            match rng.u32(0..1000) {
                0..5 => Pattern::IdenticalPrices,
                5..9 => Pattern::LateWinner,
                9..15 => Pattern::OthersDisqualified,
                15..20 => Pattern::LowestDisqualified,
                20..35 => Pattern::CloseSecond,
                35..50 => Pattern::DeepDiscount,
                _ => Pattern::None,
            }
        };

        // The submission period: most procedures allow at least 15 days; some do not.
        let start = self.epoch
            + Duration::days(rng.i64(0..1_050))
            + Duration::minutes(rng.i64(0..8 * 60))
            + Duration::seconds(rng.i64(0..60));
        let days = match method {
            Method::Open | Method::Selective if rng.f64() < 0.07 => rng.i64(2..15),
            Method::Open | Method::Selective => rng.i64(15..=40),
            Method::Limited => rng.i64(10..=30),
            Method::Direct => rng.i64(3..=10),
        };
        let end = start + Duration::days(days) + Duration::minutes(rng.i64(0..8 * 60));
        // A direct award seldom publishes a submission period.
        let has_period = method != Method::Direct || rng.f64() < 0.2;

        // Who bids.
        let wanted = match method {
            Method::Open => [1, 2, 2, 2, 2, 3, 3, 3, 3, 3, 4, 4, 4, 5, 6, 8][rng.usize(..16)],
            Method::Selective => rng.usize(1..=5),
            Method::Limited => rng.usize(1..=3),
            Method::Direct => 1,
        };
        let wanted = match pattern {
            Pattern::None | Pattern::LateWinner => wanted,
            _ => wanted.max(2),
        };
        let mut people = Vec::with_capacity(wanted + 2);
        self.bidders(division, wanted, &mut people);
        let rng = &mut self.rng;
        let strictness = self.world.buyer_strictness[buyer];
        let cents = rng.f64() < 0.25;
        let estimate = (rng.f64() * (300_000_000f64 / 200_000.0).ln()).exp() * 200_000.0;

        let mut bids: Vec<Bid> = people
            .iter()
            .map(|&t| {
                let disqualified = method != Method::Direct
                    && rng.f64() < (DISQUALIFIED * strictness * self.world.sloppiness[t]).min(0.9);
                Bid {
                    tenderers: vec![t],
                    status: if disqualified { "disqualified" } else { "valid" },
                    amount: None,
                    date: start + Duration::seconds(rng.i64(3_600..(end - start).num_seconds().max(7_200))),
                }
            })
            .collect();
        match pattern {
            Pattern::OthersDisqualified => {
                bids[0].status = "valid";
                for bid in &mut bids[1..] {
                    bid.status = "disqualified";
                }
            }
            Pattern::LowestDisqualified => {
                bids[0].status = "valid";
                bids[1].status = "disqualified";
            }
            _ => {}
        }
        // Now and then a consortium bids.
        let pool = &self.world.pools[division];
        for bid in &mut bids {
            let partner = pool[rng.usize(..pool.len())];
            if rng.f64() < 0.004 && !people.contains(&partner) {
                bid.tenderers.push(partner);
                people.push(partner);
            }
        }

        let valid: Vec<usize> = (0..bids.len()).filter(|&i| bids[i].status == "valid").collect();
        // The winner is any valid bidder; prices are then laid out so that it is the lowest,
        // except where other criteria than price decided.
        let winner = if valid.is_empty() { None } else { Some(valid[rng.usize(..valid.len())]) };
        let price_only = valid.len() < 2 || rng.f64() < 0.95;
        let winning = estimate * between(rng, 0.72, 0.99);
        if let Some(w) = winner {
            bids[w].amount = Some(money(winning, cents));
            let gap = match pattern {
                Pattern::CloseSecond => between(rng, 0.0005, 0.015),
                Pattern::DeepDiscount => between(rng, 0.3, 1.2),
                _ => 0.04 + 0.10 * (rng.f64() + rng.f64()) / 2.0,
            };
            let mut others: Vec<usize> = valid.iter().copied().filter(|&i| i != w).collect();
            rng.shuffle(&mut others);
            let mut price = winning * (1.0 + gap);
            for &i in &others {
                bids[i].amount = Some(money(price, cents));
                price *= 1.0 + between(rng, 0.003, 0.06);
            }
            if !price_only {
                let other = others[rng.usize(..others.len())];
                let (a, b) = (bids[w].amount, bids[other].amount);
                bids[w].amount = b;
                bids[other].amount = a;
            }
        }
        let floor = valid.iter().filter_map(|&i| bids[i].amount).min().map_or(winning, |t| t as f64 / 100.0);
        let mut lowest_marked = false;
        for bid in bids.iter_mut().filter(|b| b.status == "disqualified") {
            // Disqualified bids are mostly dearer than the winner; an abnormally low one is rarer.
            let factor = if pattern == Pattern::LowestDisqualified && !lowest_marked {
                lowest_marked = true;
                between(rng, 0.6, 0.95)
            } else if rng.f64() < 0.12 {
                between(rng, 0.8, 0.99)
            } else {
                between(rng, 1.0, 1.35)
            };
            bid.amount = Some(money(floor * factor, cents));
        }
        if pattern == Pattern::IdenticalPrices && bids.len() >= 2 {
            // A loser copies a price: the winner's or another loser's.
            let losers: Vec<usize> = (0..bids.len()).filter(|&i| Some(i) != winner).collect();
            let copier = losers[rng.usize(..losers.len())];
            let source = match winner {
                Some(w) if losers.len() < 2 || rng.bool() => w,
                _ => *losers.iter().find(|&&i| i != copier).unwrap(),
            };
            bids[copier].amount = bids[source].amount;
        }
        if pattern == Pattern::LateWinner
            && let Some(w) = winner
        {
            bids[w].date = end + Duration::minutes(rng.i64(5..72 * 60));
        }
        // A cover bidder adds a dearer bid to some competitive procedures.
        let covers = &self.world.covers[division];
        if matches!(method, Method::Open | Method::Selective)
            && bids.len() >= 2
            && !covers.is_empty()
            && rng.f64() < 0.08
        {
            let cover = covers[skewed(rng, covers.len(), 1.5)];
            let top = bids.iter().filter_map(|b| b.amount).max().unwrap_or(0) as f64 / 100.0;
            people.push(cover);
            bids.push(Bid {
                tenderers: vec![cover],
                status: "valid",
                amount: Some(money(top * between(rng, 1.01, 1.08), cents)),
                date: start + Duration::seconds(rng.i64(3_600..(end - start).num_seconds().max(7_200))),
            });
        }
        // Invitations never answered, and withdrawn bids, which count as no submission.
        if method == Method::Selective {
            let count = self.rng.usize(0..=2);
            let mut invited = people.clone();
            self.bidders(division, count, &mut invited);
            for t in invited.split_off(people.len()) {
                people.push(t);
                bids.push(Bid { tenderers: vec![t], status: "invited", amount: None, date: start });
            }
        }
        let rng = &mut self.rng;
        if method != Method::Direct && rng.f64() < 0.02 {
            let mut extra = people.clone();
            self.bidders(division, 1, &mut extra);
            let rng = &mut self.rng;
            if let Some(&t) = extra.get(people.len()) {
                people.push(t);
                bids.push(Bid {
                    tenderers: vec![t],
                    status: "withdrawn",
                    amount: Some(money(winning * between(rng, 1.0, 1.3), cents)),
                    date: start + Duration::seconds(rng.i64(3_600..(end - start).num_seconds().max(7_200))),
                });
            }
        }
        let rng = &mut self.rng;

        // What became of the procedure.
        let fate = rng.u32(0..1000);
        let cancelled = fate < 20;
        let pending = (20..40).contains(&fate) && winner.is_some();
        let reawarded = (40..70).contains(&fate) && valid.len() >= 2;
        let lots = (70..100).contains(&fate) && valid.len() >= 2;
        if pending {
            for bid in bids.iter_mut().filter(|b| b.status == "valid") {
                if rng.f64() < 0.4 {
                    bid.status = "pending";
                }
            }
            if let Some(w) = winner {
                bids[w].status = "valid";
            }
        }

        let division_info = &DIVISIONS[division];
        let item_count = [1, 1, 1, 2, 2, 3, 4][rng.usize(..7)];
        let items: Vec<(String, &(&str, &str, &str), u32)> = (0..item_count)
            .map(|i| {
                let item = &division_info.items[rng.usize(..division_info.items.len())];
                (format!("{}-{}", n + 1, i + 1), item, rng.u32(1..=500))
            })
            .collect();
        let tender_items: Vec<Value> = items
            .iter()
            .map(|(id, (code, description, unit), quantity)| {
                json!({
                    "id": id,
                    "description": description,
                    "classification": {"scheme": "CPV", "id": code},
                    "quantity": quantity,
                    "unit": {"name": unit},
                })
            })
            .collect();
        let award_items = |range: std::ops::Range<usize>| -> Vec<Value> {
            items[range]
                .iter()
                .map(|(id, (code, _, _), quantity)| {
                    json!({"id": id, "classification": {"scheme": "CPV", "id": code}, "quantity": quantity})
                })
                .collect()
        };

        let award_date = end + Duration::hours(rng.i64(24..10 * 24));
        let mut awards = Vec::new();
        let mut contracts = Vec::new();
        let mut suppliers: Vec<usize> = Vec::new();
        let organizations = |list: &[usize]| -> Vec<Value> {
            list.iter()
                .map(|&t| json!({"id": self.world.tenderers[t].id, "name": self.world.tenderers[t].name}))
                .collect()
        };
        if let Some(w) = winner {
            let winning_amount = bids[w].amount.unwrap();
            if reawarded {
                // The first winner walked away; the award went to the next.
                let other = valid.iter().copied().find(|&i| i != w).unwrap();
                awards.push(json!({
                    "id": format!("{}-award-0", n + 1),
                    "status": "cancelled",
                    "date": stamp(award_date - Duration::days(3)),
                    "suppliers": organizations(&bids[other].tenderers),
                    "items": award_items(0..items.len()),
                    "value": value(bids[other].amount.unwrap()),
                }));
            }
            let split = if lots && items.len() >= 2 { rng.usize(1..items.len()) } else { items.len() };
            let mut parts = vec![(w, 0..split, winning_amount)];
            if split < items.len() {
                let second = valid.iter().copied().find(|&i| i != w).unwrap();
                let share = split as f64 / items.len() as f64;
                parts[0].2 = money(winning_amount as f64 / 100.0 * share, cents);
                parts.push((
                    second,
                    split..items.len(),
                    money(bids[second].amount.unwrap() as f64 / 100.0 * (1.0 - share), cents),
                ));
            }
            for (k, (bid, range, sum)) in parts.into_iter().enumerate() {
                let id = format!("{}-award-{}", n + 1, k + 1);
                let status = if cancelled {
                    "cancelled"
                } else if pending {
                    "pending"
                } else {
                    "active"
                };
                suppliers.extend(&bids[bid].tenderers);
                awards.push(json!({
                    "id": id,
                    "status": status,
                    "date": stamp(award_date),
                    "suppliers": organizations(&bids[bid].tenderers),
                    "items": award_items(range.clone()),
                    "value": value(sum),
                }));
                if status == "active" {
                    let signed = award_date + Duration::days(rng.i64(1..=10));
                    let until = signed + Duration::days(rng.i64(30..=365));
                    contracts.push(json!({
                        "id": format!("{}-contract-{}", n + 1, k + 1),
                        "awardID": id,
                        "title": format!("Договор № {}-{}", n + 1, k + 1),
                        "status": if rng.f64() < 0.05 { "terminated" } else { "active" },
                        "value": value(sum),
                        "dateSigned": stamp(signed),
                        "period": {"startDate": stamp(signed), "endDate": stamp(until)},
                    }));
                }
            }
        }
        let status = if cancelled {
            "cancelled"
        } else if winner.is_none() {
            "unsuccessful"
        } else if pending {
            "active"
        } else {
            "complete"
        };
        let submitted: Vec<usize> = {
            let mut seen = Vec::new();
            for bid in bids.iter().filter(|b| b.status != "invited" && b.status != "withdrawn") {
                for &t in &bid.tenderers {
                    if !seen.contains(&t) {
                        seen.push(t);
                    }
                }
            }
            seen
        };

        let buyer_org = &self.world.buyers[buyer];
        let entity_org = &self.world.entities[entity];
        let mut parties = Vec::with_capacity(people.len() + 2);
        let mut with_roles = |party: &Value, roles: &[&str]| {
            let mut party = party.clone();
            party["roles"] = json!(roles);
            parties.push(party);
        };
        with_roles(&buyer_org.party, &["buyer"]);
        with_roles(&entity_org.party, &["procuringEntity"]);
        for &t in &people {
            let roles: &[&str] = if suppliers.contains(&t) { &["tenderer", "supplier"] } else { &["tenderer"] };
            with_roles(&self.world.tenderers[t].party, roles);
        }

        let release_date = contracts
            .iter()
            .filter_map(|c| c["dateSigned"].as_str().map(str::to_owned))
            .max()
            .unwrap_or_else(|| stamp(if awards.is_empty() { end } else { award_date }));
        let mut tender = json!({
            "id": format!("{}-{}", 10_000_000 + n * 3, 1 + n % 3),
            "title": division_info.name,
            "status": status,
            "procuringEntity": {"id": entity_org.id, "name": entity_org.name},
            "value": value(money(estimate, cents)),
            "procurementMethod": method_code,
            "procurementMethodDetails": details,
            "mainProcurementCategory": division_info.category,
            "awardCriteria": if price_only { "priceOnly" } else { "ratedCriteria" },
            "numberOfTenderers": submitted.len(),
            "items": tender_items,
        });
        if has_period {
            tender["tenderPeriod"] = json!({"startDate": stamp(start), "endDate": stamp(end)});
        }
        let details: Vec<Value> = bids
            .iter()
            .enumerate()
            .map(|(i, bid)| {
                let mut detail = json!({
                    "id": format!("{}-bid-{}", n + 1, i + 1),
                    "status": bid.status,
                    "date": stamp(bid.date),
                    "tenderers": organizations(&bid.tenderers),
                });
                if let Some(tiyn) = bid.amount {
                    detail["value"] = value(tiyn);
                }
                detail
            })
            .collect();
        let mut release = json!({
            "ocid": ocid,
            "id": format!("{ocid}-{}", &release_date[..10]),
            "date": release_date,
            "tag": ["compiled"],
            "initiationType": "tender",
            "language": "ru",
            "parties": parties,
            "buyer": {"id": buyer_org.id, "name": buyer_org.name},
            "tender": tender,
            "bids": {"details": details},
        });
        if !awards.is_empty() {
            release["awards"] = Value::Array(awards);
        }
        if !contracts.is_empty() {
            release["contracts"] = Value::Array(contracts);
        }
        release
    }
}

/// Writes `count` releases, one a line, to `out`.
pub fn write(count: usize, seed: u64, out: impl Write) -> io::Result<()> {
    let mut out = io::BufWriter::with_capacity(1 << 20, out);
    let mut generator = Generator::new(seed);
    for n in 0..count {
        serde_json::to_writer(&mut out, &generator.release(n))?;
        out.write_all(b"\n")?;
    }
    out.flush()
}
