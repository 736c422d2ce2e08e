//! Bounds and shape checks on what marketing pushes. Every failure names the
//! field (`contact.email`, `quiz[3].answer`) and says what would be accepted.

use baton_protocol::{LeadIntake, Timestamp};

use crate::error::{Error, Result};

/// Largest request body the API reads, in bytes.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
pub const MAX_QUIZ_ANSWERS: usize = 100;
pub const MAX_BEHAVIOURS: usize = 500;
pub const MAX_SCORE_ITEMS: usize = 100;

/// Checks a free-text field: length in characters, and no control characters
/// other than tab and newline (they corrupt terminals, CSV exports and logs).
pub fn text(field: &str, value: &str, min: usize, max: usize) -> Result<()> {
    let len = value.chars().count();
    if len < min || (min > 0 && value.trim().is_empty()) {
        return Err(Error::field(field, "must not be empty"));
    }
    if len > max {
        return Err(Error::field(
            field,
            format!("is {len} characters long; at most {max} are accepted"),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(Error::field(
            field,
            "contains control characters; send plain text",
        ));
    }
    Ok(())
}

fn opt_text(field: &str, value: &Option<String>, max: usize) -> Result<()> {
    match value {
        Some(v) => text(field, v, 0, max),
        None => Ok(()),
    }
}

fn email(field: &str, value: &str) -> Result<()> {
    text(field, value, 3, 254)?;
    let bad = || {
        Err(Error::field(
            field,
            "is not an email address like name@example.com",
        ))
    };
    let Some((local, domain)) = value.rsplit_once('@') else {
        return bad();
    };
    if local.is_empty()
        || domain.len() < 3
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
        || value.chars().any(char::is_whitespace)
    {
        return bad();
    }
    Ok(())
}

/// Validates and normalises (country upper-cased, ids trimmed) an intake.
pub fn lead_intake(mut lead: LeadIntake, now: Timestamp) -> Result<LeadIntake> {
    lead.external_id = lead.external_id.trim().to_string();
    text("external_id", &lead.external_id, 1, 128)?;

    let s = &lead.source;
    text("source.channel", &s.channel, 1, 64)?;
    opt_text("source.campaign", &s.campaign, 200)?;
    opt_text("source.utm_source", &s.utm_source, 200)?;
    opt_text("source.utm_medium", &s.utm_medium, 200)?;
    opt_text("source.utm_campaign", &s.utm_campaign, 200)?;
    opt_text("source.utm_term", &s.utm_term, 200)?;
    opt_text("source.utm_content", &s.utm_content, 200)?;

    let c = &mut lead.contact;
    text("contact.name", &c.name, 1, 200)?;
    if let Some(e) = &c.email {
        email("contact.email", e)?;
    }
    opt_text("contact.company", &c.company, 200)?;
    opt_text("contact.title", &c.title, 200)?;
    if let Some(p) = &c.phone {
        text("contact.phone", p, 3, 40)?;
        if !p
            .chars()
            .all(|ch| ch.is_ascii_digit() || " +-().".contains(ch))
        {
            return Err(Error::field(
                "contact.phone",
                "may hold only digits, spaces and + - ( ) .",
            ));
        }
    }
    if c.email.is_none() && c.phone.is_none() {
        return Err(Error::field(
            "contact.email",
            "a lead needs an email or a phone number so sales can reach it",
        ));
    }
    if let Some(country) = &mut c.country {
        if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(Error::field(
                "contact.country",
                "must be an ISO 3166-1 alpha-2 code such as DE or US",
            ));
        }
        country.make_ascii_uppercase();
    }
    if let Some(size) = c.company_size
        && size > 10_000_000
    {
        return Err(Error::field(
            "contact.company_size",
            "must be a number of employees up to 10000000",
        ));
    }

    if lead.score.value > 100 {
        return Err(Error::field("score.value", "must be between 0 and 100"));
    }
    if lead.score.breakdown.len() > MAX_SCORE_ITEMS {
        return Err(Error::field(
            "score.breakdown",
            format!("has more than {MAX_SCORE_ITEMS} items"),
        ));
    }
    for (i, item) in lead.score.breakdown.iter().enumerate() {
        text(
            &format!("score.breakdown[{i}].criterion"),
            &item.criterion,
            1,
            200,
        )?;
        if !(-1000..=1000).contains(&item.points) {
            return Err(Error::field(
                format!("score.breakdown[{i}].points"),
                "must be between -1000 and 1000",
            ));
        }
    }

    if lead.quiz.len() > MAX_QUIZ_ANSWERS {
        return Err(Error::field(
            "quiz",
            format!("has more than {MAX_QUIZ_ANSWERS} answers"),
        ));
    }
    for (i, qa) in lead.quiz.iter().enumerate() {
        text(&format!("quiz[{i}].question"), &qa.question, 1, 500)?;
        text(&format!("quiz[{i}].answer"), &qa.answer, 1, 2000)?;
        if qa.points.is_some_and(|p| !(-1000..=1000).contains(&p)) {
            return Err(Error::field(
                format!("quiz[{i}].points"),
                "must be between -1000 and 1000",
            ));
        }
    }

    if lead.behaviours.len() > MAX_BEHAVIOURS {
        return Err(Error::field(
            "behaviours",
            format!("has more than {MAX_BEHAVIOURS} entries"),
        ));
    }
    let earliest: Timestamp = "2000-01-01T00:00:00Z".parse().expect("constant");
    let latest = now.plus_millis(24 * 3600 * 1000);
    for (i, b) in lead.behaviours.iter().enumerate() {
        text(&format!("behaviours[{i}].kind"), &b.kind, 1, 64)?;
        opt_text(&format!("behaviours[{i}].detail"), &b.detail, 1000)?;
        if b.at < earliest || b.at > latest {
            return Err(Error::field(
                format!("behaviours[{i}].at"),
                "must be a time between the year 2000 and one day from now",
            ));
        }
    }

    opt_text("intent.need", &lead.intent.need, 1000)?;
    opt_text("intent.timeline", &lead.intent.timeline, 200)?;
    opt_text("intent.budget", &lead.intent.budget, 200)?;
    Ok(lead)
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_protocol::{Behaviour, Contact, QuizAnswer, Score, Source};

    fn good() -> LeadIntake {
        LeadIntake {
            external_id: " mk-1 ".into(),
            source: Source {
                channel: "webinar".into(),
                ..Default::default()
            },
            contact: Contact {
                name: "Ada Lovelace".into(),
                email: Some("ada@example.com".into()),
                country: Some("gb".into()),
                ..Default::default()
            },
            score: Score {
                value: 70,
                breakdown: vec![],
            },
            quiz: vec![],
            behaviours: vec![],
            intent: Default::default(),
        }
    }

    fn field_of(r: Result<LeadIntake>) -> String {
        match r {
            Err(Error::InvalidField { field, .. }) => field,
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    #[test]
    fn normalises_what_it_accepts() {
        let l = lead_intake(good(), Timestamp::now()).unwrap();
        assert_eq!(l.external_id, "mk-1");
        assert_eq!(l.contact.country.as_deref(), Some("GB"));
    }

    #[test]
    fn names_the_offending_field() {
        let now = Timestamp::now();
        let mut l = good();
        l.contact.email = Some("not-an-email".into());
        assert_eq!(field_of(lead_intake(l, now)), "contact.email");

        let mut l = good();
        l.score.value = 101;
        assert_eq!(field_of(lead_intake(l, now)), "score.value");

        let mut l = good();
        l.quiz = vec![
            QuizAnswer {
                question: "q".into(),
                answer: "a".into(),
                points: None,
            },
            QuizAnswer {
                question: "q2".into(),
                answer: "x".repeat(2001),
                points: None,
            },
        ];
        assert_eq!(field_of(lead_intake(l, now)), "quiz[1].answer");

        let mut l = good();
        l.behaviours = vec![Behaviour {
            kind: "visit".into(),
            at: now.plus_millis(3 * 24 * 3600 * 1000),
            detail: None,
        }];
        assert_eq!(field_of(lead_intake(l, now)), "behaviours[0].at");

        let mut l = good();
        l.contact.name = "Eve\u{1b}[2J".into();
        assert_eq!(field_of(lead_intake(l, now)), "contact.name");

        let mut l = good();
        l.contact.email = None;
        assert_eq!(field_of(lead_intake(l, now)), "contact.email");

        let mut l = good();
        l.contact.country = Some("Germany".into());
        assert_eq!(field_of(lead_intake(l, now)), "contact.country");
    }
}
