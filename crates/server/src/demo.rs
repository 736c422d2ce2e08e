//! `baton-server demo`: a generated team and a steady stream of realistic,
//! varied leads, so one command gives a working system to click through.

use std::time::Duration;

use baton_protocol::{
    Behaviour, Contact, Intent, LeadIntake, QuizAnswer, Score, ScoreItem, Source, Timestamp,
};

use crate::config::Config;

/// The demo's routing: two regional teams, an enterprise rule, threshold 50.
/// The source of the demo's intake key, its lead generator and its replayed history.
pub const SOURCE: &str = "demo";

pub fn config(sla_seconds: u64) -> Config {
    Config::from_toml(&format!(
        r#"
qualification_threshold = 50
fallback_team = "americas"

[regions]
emea = ["GB", "DE", "FR", "NL", "ES", "IT", "SE", "IE", "PL", "DK"]
americas = ["US", "CA", "BR", "MX"]

[[teams]]
name = "emea"
sla_seconds = {sla_seconds}
remind_at_percent = 50
account_matching = true

[[teams]]
name = "americas"
sla_seconds = {sla_seconds}
remind_at_percent = 50
account_matching = true

[[rules]]
name = "emea-by-country"
team = "emea"
when = [{{ field = "region", in = ["emea"] }}]

[[rules]]
name = "americas-by-country"
team = "americas"
when = [{{ field = "region", in = ["americas"] }}]
"#
    ))
    .expect("demo config is valid")
}

/// Demo people: (name, email, team, weight, max_open).
pub const REPS: &[(&str, &str, &str, u32, u32)] = &[
    ("Ava Rossi", "ava.rossi@demo.baton.test", "emea", 2, 25),
    ("Jonas Berg", "jonas.berg@demo.baton.test", "emea", 1, 15),
    (
        "Chloé Martin",
        "chloe.martin@demo.baton.test",
        "emea",
        1,
        15,
    ),
    (
        "Maya Patel",
        "maya.patel@demo.baton.test",
        "americas",
        2,
        25,
    ),
    (
        "Diego Alvarez",
        "diego.alvarez@demo.baton.test",
        "americas",
        1,
        15,
    ),
];
pub const MANAGER: (&str, &str) = ("Morgan Reyes", "morgan.reyes@demo.baton.test");

/// A small, fast, seedable generator (SplitMix64): demo data needs variety,
/// not cryptographic quality.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }
}

const FIRST: &[&str] = &[
    "Emma", "Lukas", "Sofia", "Noah", "Olivia", "Liam", "Mia", "Elias", "Hannah", "Lucas", "Zoe",
    "Mateo", "Isla", "Oscar", "Freya", "Hugo", "Aisha", "Ravi", "Yuki", "Camila", "Nina", "Tomás",
    "Ingrid", "Kwame", "Priya", "Sean", "Lea", "Marek", "Ana", "Felix",
];
const LAST: &[&str] = &[
    "Schmidt",
    "Johnson",
    "García",
    "Müller",
    "Dubois",
    "Kowalski",
    "Andersson",
    "O'Brien",
    "Rossi",
    "Nakamura",
    "Silva",
    "Jensen",
    "van Dijk",
    "Novak",
    "Fischer",
    "Moreau",
    "Brown",
    "Okafor",
    "Sharma",
    "López",
    "Lindqvist",
    "Walsh",
    "Bauer",
    "Costa",
];
/// (company, domain, country, employees)
const COMPANIES: &[(&str, &str, &str, u32)] = &[
    ("Northwind Logistics", "northwind.example", "DE", 850),
    ("Brightline Health", "brightline.example", "US", 2400),
    ("Kestrel Analytics", "kestrel.example", "GB", 120),
    ("Solvik Energy", "solvik.example", "SE", 430),
    ("Atelier Numérique", "atelier-num.example", "FR", 60),
    ("Harbor & Finch", "harborfinch.example", "US", 35),
    ("Maple Ridge Software", "mapleridge.example", "CA", 210),
    ("Vela Pagamentos", "vela.example", "BR", 900),
    ("Delft Robotics", "delftrobotics.example", "NL", 300),
    ("Casa Verde Foods", "casaverde.example", "ES", 1500),
    ("Polar Byte", "polarbyte.example", "PL", 75),
    ("Quill & Ledger", "quill.example", "IE", 18),
    ("Tessera Cloud", "tessera.example", "US", 5200),
    ("Nordlys Media", "nordlys.example", "DK", 95),
    ("Ferro Industriale", "ferro.example", "IT", 640),
    ("Cobalt Freight", "cobalt.example", "MX", 380),
];
const TITLES: &[&str] = &[
    "VP Sales",
    "Head of Revenue Operations",
    "Sales Manager",
    "CMO",
    "Marketing Operations Lead",
    "CEO",
    "Director of Demand Generation",
    "Account Executive",
    "COO",
    "Growth Manager",
];
/// (channel, campaigns, utm_source, utm_medium)
const SOURCES: &[(&str, &[&str], &str, &str)] = &[
    (
        "webinar",
        &["speed-to-lead-masterclass", "q4-pipeline-webinar"],
        "zoom",
        "webinar",
    ),
    (
        "paid_search",
        &["brand-search", "lead-routing-keywords"],
        "google",
        "cpc",
    ),
    ("organic_search", &["blog"], "google", "organic"),
    (
        "content_download",
        &["state-of-handoff-report", "lead-scoring-playbook"],
        "website",
        "content",
    ),
    ("referral", &["customer-referral"], "referral", "referral"),
    (
        "event",
        &["saastr-booth", "revops-summit"],
        "event",
        "offline",
    ),
    ("partner", &["crm-partner-directory"], "partner", "partner"),
    (
        "linkedin_ads",
        &["abm-enterprise", "revops-leaders"],
        "linkedin",
        "paid_social",
    ),
];
/// (question, [(answer, points)])
const QUIZ: &[(&str, &[(&str, i32)])] = &[
    (
        "How many people are in your sales team?",
        &[
            ("1–5", 2),
            ("6–20", 8),
            ("21–100", 14),
            ("More than 100", 18),
        ],
    ),
    (
        "Which CRM do you use today?",
        &[
            ("Salesforce", 10),
            ("HubSpot", 8),
            ("Pipedrive", 6),
            ("Spreadsheets", 2),
            ("None yet", 0),
        ],
    ),
    (
        "How fast do you follow up on inbound leads today?",
        &[
            ("Within 5 minutes", 2),
            ("Within an hour", 6),
            ("Same day", 10),
            ("We don't measure it", 12),
        ],
    ),
    (
        "When do you want a solution in place?",
        &[
            ("This month", 16),
            ("This quarter", 12),
            ("Within 6 months", 6),
            ("Just researching", 0),
        ],
    ),
    (
        "Who else is involved in the decision?",
        &[("Just me", 8), ("My manager", 5), ("A buying committee", 6)],
    ),
];
const BEHAVIOURS: &[(&str, &str, i32)] = &[
    ("page_view", "Visited the pricing page", 8),
    (
        "page_view",
        "Read 'Why speed-to-lead matters' on the blog",
        2,
    ),
    ("video", "Watched the 4-minute product demo", 6),
    ("download", "Downloaded 'State of Lead Handoff 2026'", 4),
    ("webinar", "Attended the live webinar to the end", 6),
    ("email", "Opened 3 nurture emails this week", 2),
    ("trial", "Started a free trial", 12),
    ("form", "Requested a call back", 14),
];
const NEEDS: &[&str] = &[
    "Route inbound demo requests to the right rep within minutes",
    "Stop leads falling through the cracks between marketing and sales",
    "Measure speed-to-lead and SLA breaches per rep",
    "Replace a spreadsheet-based lead assignment process",
    "Agree with sales on what a qualified lead is",
];
const TIMELINES: &[&str] = &[
    "This month",
    "This quarter",
    "Next quarter",
    "Within 6 months",
    "Not decided",
];
const BUDGETS: &[&str] = &[
    "Under €10k",
    "€10k–50k",
    "€50k–150k",
    "Over €150k",
    "Not set",
];

/// One realistic lead; `n` keeps external ids unique within a run.
pub fn lead(rng: &mut Rng, n: u64, now: Timestamp) -> LeadIntake {
    let (company, domain, country, size) = *rng.pick(COMPANIES);
    let first = *rng.pick(FIRST);
    let last = *rng.pick(LAST);
    let (channel, campaigns, utm_source, utm_medium) = *rng.pick(SOURCES);
    let campaign = *rng.pick(campaigns);

    let mut breakdown = Vec::new();
    let mut quiz = Vec::new();
    for (question, answers) in QUIZ {
        if rng.chance(85) {
            let (answer, points) = *rng.pick(answers);
            quiz.push(QuizAnswer {
                question: (*question).into(),
                answer: answer.into(),
                points: Some(points),
            });
        }
    }
    let quiz_points: i32 = quiz.iter().filter_map(|q| q.points).sum();
    breakdown.push(ScoreItem {
        criterion: "Scorecard quiz".into(),
        points: quiz_points,
    });

    let mut behaviours = Vec::new();
    let mut behaviour_points = 0;
    for _ in 0..rng.below(5) + 1 {
        let (kind, detail, points) = *rng.pick(BEHAVIOURS);
        if behaviours
            .iter()
            .any(|b: &Behaviour| b.detail.as_deref() == Some(detail))
        {
            continue;
        }
        behaviour_points += points;
        let ago_min = rng.below(60 * 24 * 10) as i64;
        behaviours.push(Behaviour {
            kind: kind.into(),
            at: now.plus_millis(-ago_min * 60_000),
            detail: Some(detail.into()),
        });
    }
    behaviours.sort_by_key(|b| b.at);
    breakdown.push(ScoreItem {
        criterion: "Engagement".into(),
        points: behaviour_points,
    });
    let firmographic = match size {
        s if s >= 1000 => 15,
        s if s >= 200 => 10,
        s if s >= 50 => 6,
        _ => 2,
    };
    breakdown.push(ScoreItem {
        criterion: format!("Company size ({size} employees)"),
        points: firmographic,
    });
    if matches!(channel, "referral" | "partner" | "event") {
        breakdown.push(ScoreItem {
            criterion: format!("High-intent source ({channel})"),
            points: 8,
        });
    }
    let total: i32 = breakdown.iter().map(|b| b.points).sum();

    let email_local = format!("{}.{}", first, last)
        .to_lowercase()
        .replace(['\'', ' '], "")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                'x'
            }
        })
        .collect::<String>();
    LeadIntake {
        external_id: format!("demo-{}-{n}", now.millis()),
        source: Source {
            channel: channel.into(),
            campaign: Some(campaign.into()),
            utm_source: Some(utm_source.into()),
            utm_medium: Some(utm_medium.into()),
            utm_campaign: Some(campaign.into()),
            utm_term: None,
            utm_content: None,
        },
        contact: Contact {
            name: format!("{first} {last}"),
            email: Some(format!("{email_local}@{domain}")),
            company: Some(company.into()),
            title: Some((*rng.pick(TITLES)).into()),
            phone: rng.chance(70).then(|| {
                format!(
                    "+{} {}",
                    10 + rng.below(80),
                    100_000_000 + rng.below(899_999_999)
                )
            }),
            country: Some(country.into()),
            company_size: Some(size),
        },
        score: Score {
            value: total.clamp(0, 100) as u32,
            breakdown,
        },
        quiz,
        behaviours,
        intent: Intent {
            need: Some((*rng.pick(NEEDS)).into()),
            timeline: Some((*rng.pick(TIMELINES)).into()),
            budget: rng.chance(60).then(|| (*rng.pick(BUDGETS)).into()),
        },
    }
}

/// Time between generated leads for `per_minute` leads a minute.
pub fn interval(per_minute: u32) -> Option<Duration> {
    (per_minute > 0).then(|| Duration::from_millis(60_000 / u64::from(per_minute)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate;

    #[test]
    fn generated_leads_are_valid_varied_and_straddle_the_threshold() {
        let mut rng = Rng::new(7);
        let now = crate::clock::now();
        let leads: Vec<_> = (0..300).map(|n| lead(&mut rng, n, now)).collect();
        for l in &leads {
            validate::lead_intake(l.clone(), now).expect("demo lead passes intake validation");
        }
        let cfg = config(3600);
        let qualified = leads
            .iter()
            .filter(|l| l.score.value >= cfg.qualification_threshold)
            .count();
        assert!(
            qualified > 60 && qualified < 290,
            "{qualified} of 300 qualified"
        );
        let channels: std::collections::HashSet<_> =
            leads.iter().map(|l| l.source.channel.as_str()).collect();
        assert!(channels.len() >= 6);
        assert!(
            leads
                .iter()
                .all(|l| !l.quiz.is_empty() || l.score.value < 100)
        );
    }
}
