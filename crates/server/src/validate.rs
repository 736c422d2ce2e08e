//! Bounds and shape checks on what marketing pushes. Every failure names the
//! field (`contact.email`, `quiz[3].answer`) and says what would be accepted.

use baton_protocol::{LeadIntake, Timestamp};

use crate::error::{Error, Result};

/// Largest request body the API reads, in bytes.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
pub const MAX_QUIZ_ANSWERS: usize = 100;
pub const MAX_BEHAVIOURS: usize = 500;
pub const MAX_SCORE_ITEMS: usize = 100;

/// Checks a free-text field: length in characters; no control characters
/// other than tab and newline (they corrupt terminals, CSV exports and logs);
/// and no invisible or direction-changing characters (see
/// [`invisible_or_bidi`]), which let a lead show one thing in a notification,
/// the inbox or a spreadsheet and mean another.
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
    if let Some((c, name)) = invisible_or_bidi(value) {
        return Err(Error::field(
            field,
            format!(
                "contains an invisible or direction-changing character (U+{:04X} {name}); \
                 send plain text",
                u32::from(c)
            ),
        ));
    }
    Ok(())
}

const ZWNJ: char = '\u{200C}';
const ZWJ: char = '\u{200D}';
/// WAVING BLACK FLAG, the base of the emoji tag sequences (🏴 + tags =
/// subdivision flags such as England's).
const BLACK_FLAG: char = '\u{1F3F4}';

fn is_tag(c: char) -> bool {
    ('\u{E0000}'..='\u{E007F}').contains(&c)
}

/// The name of a character that is refused wherever it appears: bidi
/// controls, zero-width and invisible characters (fillers that render as
/// nothing), and the Unicode line and paragraph separators.
fn always_refused(c: char) -> Option<&'static str> {
    Some(match c {
        // Bidirectional controls: reorder what follows them on screen.
        '\u{061C}' => "ARABIC LETTER MARK",
        '\u{200E}' => "LEFT-TO-RIGHT MARK",
        '\u{200F}' => "RIGHT-TO-LEFT MARK",
        '\u{202A}' => "LEFT-TO-RIGHT EMBEDDING",
        '\u{202B}' => "RIGHT-TO-LEFT EMBEDDING",
        '\u{202C}' => "POP DIRECTIONAL FORMATTING",
        '\u{202D}' => "LEFT-TO-RIGHT OVERRIDE",
        '\u{202E}' => "RIGHT-TO-LEFT OVERRIDE",
        '\u{2066}' => "LEFT-TO-RIGHT ISOLATE",
        '\u{2067}' => "RIGHT-TO-LEFT ISOLATE",
        '\u{2068}' => "FIRST STRONG ISOLATE",
        '\u{2069}' => "POP DIRECTIONAL ISOLATE",
        // Zero-width and invisible characters.
        '\u{00AD}' => "SOFT HYPHEN",
        '\u{034F}' => "COMBINING GRAPHEME JOINER",
        '\u{115F}' => "HANGUL CHOSEONG FILLER",
        '\u{1160}' => "HANGUL JUNGSEONG FILLER",
        '\u{17B4}' => "KHMER VOWEL INHERENT AQ",
        '\u{17B5}' => "KHMER VOWEL INHERENT AA",
        '\u{180E}' => "MONGOLIAN VOWEL SEPARATOR",
        '\u{200B}' => "ZERO WIDTH SPACE",
        '\u{2060}' => "WORD JOINER",
        '\u{2061}' => "FUNCTION APPLICATION",
        '\u{2062}' => "INVISIBLE TIMES",
        '\u{2063}' => "INVISIBLE SEPARATOR",
        '\u{2064}' => "INVISIBLE PLUS",
        '\u{206A}' => "INHIBIT SYMMETRIC SWAPPING",
        '\u{206B}' => "ACTIVATE SYMMETRIC SWAPPING",
        '\u{206C}' => "INHIBIT ARABIC FORM SHAPING",
        '\u{206D}' => "ACTIVATE ARABIC FORM SHAPING",
        '\u{206E}' => "NATIONAL DIGIT SHAPES",
        '\u{206F}' => "NOMINAL DIGIT SHAPES",
        '\u{3164}' => "HANGUL FILLER",
        '\u{FEFF}' => "ZERO WIDTH NO-BREAK SPACE",
        '\u{FFA0}' => "HALFWIDTH HANGUL FILLER",
        '\u{FFF9}' => "INTERLINEAR ANNOTATION ANCHOR",
        '\u{FFFA}' => "INTERLINEAR ANNOTATION SEPARATOR",
        '\u{FFFB}' => "INTERLINEAR ANNOTATION TERMINATOR",
        // Line breaks that `\n`-based tools (CSV, terminals, logs) miss.
        '\u{2028}' => "LINE SEPARATOR",
        '\u{2029}' => "PARAGRAPH SEPARATOR",
        _ => return None,
    })
}

/// Whether `c` may stand next to a ZWJ/ZWNJ: a visible non-ASCII character
/// (a letter of a joining script, an emoji, a variation selector or skin-tone
/// modifier), not a control, not a joiner itself and not in any refused set.
fn joinable(c: char) -> bool {
    !c.is_ascii()
        && !c.is_control()
        && c != ZWNJ
        && c != ZWJ
        && !is_tag(c)
        && always_refused(c).is_none()
}

/// The first character of `value` that is invisible or changes the direction
/// or layout of the text around it, with its short Unicode name.
///
/// - Bidi controls, zero-width/invisible characters and U+2028/U+2029 are
///   refused wherever they appear ([`always_refused`]).
/// - ZERO WIDTH NON-JOINER and ZERO WIDTH JOINER are needed in Persian and
///   Indic names and in emoji sequences (👩‍💻), so they are accepted when both
///   neighbours exist and are [`joinable`]; between ASCII letters ("Ev\u{200D}e")
///   or at either end they only serve to hide or split words.
/// - Tag characters (U+E0000–U+E007F) are accepted only inside an emoji tag
///   sequence, approximated as "the previous character is 🏴 U+1F3F4 or another
///   accepted tag character"; anywhere else they are invisible text. The rule
///   does not check that the run is a well-formed flag (letters/digits ended by
///   U+E007F CANCEL TAG).
pub fn invisible_or_bidi(value: &str) -> Option<(char, &'static str)> {
    let mut chars = value.chars().peekable();
    let mut prev: Option<char> = None;
    while let Some(c) = chars.next() {
        if let Some(name) = always_refused(c) {
            return Some((c, name));
        }
        if c == ZWNJ || c == ZWJ {
            let next = chars.peek().copied();
            if !(prev.is_some_and(joinable) && next.is_some_and(joinable)) {
                let name = if c == ZWJ {
                    "ZERO WIDTH JOINER"
                } else {
                    "ZERO WIDTH NON-JOINER"
                };
                return Some((c, name));
            }
        }
        if is_tag(c) && !prev.is_some_and(|p| p == BLACK_FLAG || is_tag(p)) {
            return Some((c, "TAG CHARACTER"));
        }
        prev = Some(c);
    }
    None
}

fn opt_text(field: &str, value: &Option<String>, max: usize) -> Result<()> {
    match value {
        Some(v) => text(field, v, 0, max),
        None => Ok(()),
    }
}

/// ASCII characters of an RFC 5322 dot-atom besides letters, digits and `.`.
const ATEXT_SPECIALS: &str = "!#$%&'*+/=?^_`{|}~-";

/// A letter or digit beyond ASCII, as RFC 6531 (internationalised email)
/// allows in both parts of an address.
fn intl_alnum(c: char) -> bool {
    !c.is_ascii() && c.is_alphanumeric()
}

/// What is wrong with `value` as an email address, if anything: exactly one
/// `@`; a dot-atom local part of 1–64 characters; a domain of 1–253
/// characters in at least two dot-separated labels of 1–63 letters, digits or
/// inner hyphens, the last of them not all digits. Lengths count characters.
fn email_problem(value: &str) -> Option<&'static str> {
    let mut parts = value.split('@');
    let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
        return Some("needs exactly one @");
    };

    if !(1..=64).contains(&local.chars().count()) {
        return Some("the part before @ must be 1 to 64 characters");
    }
    if !local.chars().all(|c| {
        c.is_ascii_alphanumeric() || c == '.' || ATEXT_SPECIALS.contains(c) || intl_alnum(c)
    }) {
        return Some("the part before @ has a character addresses cannot hold");
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Some("dots before @ may not be first, last or doubled");
    }

    if !(1..=253).contains(&domain.chars().count()) {
        return Some("the domain must be 1 to 253 characters");
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return Some("the domain needs a dot, as in example.com");
    }
    for label in &labels {
        if !(1..=63).contains(&label.chars().count()) {
            return Some("each part of the domain must be 1 to 63 characters");
        }
        if !label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || intl_alnum(c))
        {
            return Some("the domain may hold only letters, digits, hyphens and dots");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Some("a part of the domain may not start or end with a hyphen");
        }
    }
    if labels
        .last()
        .is_some_and(|tld| tld.chars().all(char::is_numeric))
    {
        return Some("the domain may not end in a number");
    }
    None
}

/// Checks an email address's syntax (see [`email_problem`]). The message is
/// the documented one; what exactly was wrong is not part of the contract.
pub fn email(field: &str, value: &str) -> Result<()> {
    text(field, value, 3, 254)?;
    if email_problem(value).is_some() {
        return Err(Error::field(
            field,
            "is not an email address like name@example.com",
        ));
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
        let l = lead_intake(good(), crate::clock::now()).unwrap();
        assert_eq!(l.external_id, "mk-1");
        assert_eq!(l.contact.country.as_deref(), Some("GB"));
    }

    #[test]
    fn names_the_offending_field() {
        let now = crate::clock::now();
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

    fn message_of(r: Result<LeadIntake>) -> (String, String) {
        match r {
            Err(Error::InvalidField { field, message }) => (field, message),
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    #[test]
    fn refuses_invisible_and_direction_changing_characters() {
        let now = crate::clock::now();

        // Bidi override in a name: names the field and the character.
        let mut l = good();
        l.contact.name = "Eve \u{202E}gpj.exe".into();
        let (field, message) = message_of(lead_intake(l, now));
        assert_eq!(field, "contact.name");
        assert!(
            message.contains("U+202E RIGHT-TO-LEFT OVERRIDE"),
            "{message}"
        );

        // Zero-width space in a quiz answer.
        let mut l = good();
        l.quiz = vec![QuizAnswer {
            question: "Budget?".into(),
            answer: "ye\u{200B}s".into(),
            points: None,
        }];
        let (field, message) = message_of(lead_intake(l, now));
        assert_eq!(field, "quiz[0].answer");
        assert!(message.contains("U+200B ZERO WIDTH SPACE"), "{message}");

        // Line separator in the stated need.
        let mut l = good();
        l.intent.need = Some("CRM\u{2028}now".into());
        let (field, message) = message_of(lead_intake(l, now));
        assert_eq!(field, "intent.need");
        assert!(message.contains("U+2028 LINE SEPARATOR"), "{message}");

        // Soft hyphen and Hangul filler in the company.
        for bad in ["Acme\u{00AD}Corp", "\u{3164}"] {
            let mut l = good();
            l.contact.company = Some(bad.into());
            assert_eq!(field_of(lead_intake(l, now)), "contact.company", "{bad:?}");
        }

        // Isolates and BOM in a behaviour detail and a score criterion.
        let mut l = good();
        l.behaviours = vec![Behaviour {
            kind: "visit".into(),
            at: now,
            detail: Some("\u{2066}pricing\u{2069}".into()),
        }];
        assert_eq!(field_of(lead_intake(l, now)), "behaviours[0].detail");
        let mut l = good();
        l.score.breakdown = vec![baton_protocol::ScoreItem {
            criterion: "\u{FEFF}fit".into(),
            points: 1,
        }];
        assert_eq!(
            field_of(lead_intake(l, now)),
            "score.breakdown[0].criterion"
        );

        // Tab and newline stay allowed.
        let mut l = good();
        l.intent.need = Some("line one\n\tline two".into());
        lead_intake(l, now).unwrap();
    }

    #[test]
    fn every_listed_character_is_refused_with_its_code_point() {
        let listed = [
            0x061C, 0x200E, 0x200F, 0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068,
            0x2069, 0x200B, 0x2060, 0x2061, 0x2062, 0x2063, 0x2064, 0xFEFF, 0x180E, 0x00AD, 0x034F,
            0x115F, 0x1160, 0x3164, 0xFFA0, 0x17B4, 0x17B5, 0x206A, 0x206B, 0x206C, 0x206D, 0x206E,
            0x206F, 0xFFF9, 0xFFFA, 0xFFFB, 0x2028, 0x2029,
        ];
        for cp in listed {
            let c = char::from_u32(cp).unwrap();
            // Between non-ASCII letters too: only ZWJ/ZWNJ get that leeway.
            for value in [format!("a{c}b"), format!("é{c}ü"), c.to_string()] {
                let err = text("contact.title", &value, 0, 200).unwrap_err();
                let Error::InvalidField { field, message } = err else {
                    panic!("not a field error");
                };
                assert_eq!(field, "contact.title");
                assert!(message.contains(&format!("U+{cp:04X} ")), "{message}");
            }
        }
    }

    #[test]
    fn joiners_only_between_non_ascii_characters() {
        let ok = |v: &str| text("contact.name", v, 1, 200);
        // Emoji ZWJ sequences, with skin tones and variation selectors.
        ok("👩\u{200D}💻").unwrap();
        ok("Ada 👩🏽\u{200D}💻 Lovelace").unwrap();
        ok("👁\u{FE0F}\u{200D}🗨\u{FE0F}").unwrap();
        // Persian with ZWNJ ("I want"), and a Hindi word with a ZWJ.
        ok("می\u{200C}خواهم").unwrap();
        ok("क्\u{200D}ष").unwrap();

        for bad in [
            "Ev\u{200D}e",             // between ASCII letters
            "Eve\u{200C}",             // at the end
            "\u{200D}👩",              // at the start
            "é\u{200D}e",              // one neighbour ASCII
            "👩\u{200D}\u{200D}💻",    // doubled
            "👩\u{200D}\u{202E}💻",    // next to a refused character
            "می\u{200C}\u{200B}خواهم", // next to a zero-width space
        ] {
            let err = ok(bad).unwrap_err();
            assert!(
                matches!(&err, Error::InvalidField { field, .. } if field == "contact.name"),
                "{bad:?}: {err:?}"
            );
        }
        let err = ok("Ev\u{200D}e").unwrap_err().to_string();
        assert!(err.contains("U+200D ZERO WIDTH JOINER"), "{err}");
    }

    #[test]
    fn tag_characters_only_in_emoji_tag_sequences() {
        // England's flag: 🏴 + tags "gbeng" + CANCEL TAG.
        let england = "🏴\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}";
        text("note", &format!("Go {england}!"), 0, 200).unwrap();
        // Tag characters carrying hidden ASCII after ordinary text.
        for bad in ["hi\u{E0069}\u{E0067}\u{E006E}", "\u{E007F}", "a\u{E0001}"] {
            let err = text("note", bad, 0, 200).unwrap_err().to_string();
            assert!(err.contains("TAG CHARACTER"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn email_syntax() {
        for good in [
            "o'brien+test@leads.test",
            "a.b@sub.example.co",
            "üser@exämple.de",
            "ada@example.com",
            "x_y-z{1}~!#$%&*/=?^`|@a-b.example",
            "a@b.xn--p1ai",
            "日本@例え.テスト",
        ] {
            assert_eq!(email_problem(good), None, "{good:?}");
            email("contact.email", good).unwrap();
        }
        for (bad, why) in [
            ("<a@b.com>", "has a character"),
            ("\"a\"@b.com", "has a character"),
            ("a@b", "needs a dot"),
            ("a..b@c.com", "doubled"),
            (".a@c.com", "first"),
            ("a.@c.com", "last"),
            ("a@-b.com", "hyphen"),
            ("a@b-.com", "hyphen"),
            ("a@b.123", "number"),
            ("a b@c.com", "has a character"),
            ("a@b@c.com", "exactly one @"),
            ("abc", "exactly one @"),
            ("@b.com", "1 to 64"),
            ("a@.com", "1 to 63"),
            ("a@b.com.", "1 to 63"),
            ("a@b_c.com", "only letters"),
            ("a@b.c om", "only letters"),
        ] {
            let problem = email_problem(bad).unwrap_or_else(|| panic!("{bad:?} accepted"));
            assert!(problem.contains(why), "{bad:?}: {problem}");
            let err = email("contact.email", bad).unwrap_err();
            assert!(
                matches!(&err, Error::InvalidField { field, message }
                    if field == "contact.email"
                        && message == "is not an email address like name@example.com"),
                "{bad:?}: {err:?}"
            );
        }
        let long_local = format!("{}@example.com", "a".repeat(65));
        assert!(email_problem(&long_local).unwrap().contains("1 to 64"));
        let long_label = format!("a@{}.com", "b".repeat(64));
        assert!(email_problem(&long_label).unwrap().contains("1 to 63"));
        let max_label = format!("a@{}.com", "b".repeat(63));
        assert_eq!(email_problem(&max_label), None);
    }
}
