//! Which account (company) a lead belongs to, so that routing can offer it
//! to the rep who already holds a lead of the same company.
//!
//! The email domain is the better key: people write their company's name
//! many ways but share its domain. A domain anyone can get an address at
//! (free or throwaway mail) says nothing about the company, so those fall
//! back to the company name as typed, normalised.

use baton_protocol::Contact;

/// The account a lead belongs to, for matching it to a rep who holds the
/// same company: "domain:acme.com" from the contact's email (lower-cased,
/// trimmed; free-mail and disposable-mail domains ignored), else
/// "company:acme" from the normalised company name; None when neither gives
/// one.
pub fn account_key(contact: &Contact) -> Option<String> {
    if let Some(domain) = contact.email.as_deref().and_then(company_domain) {
        return Some(format!("domain:{domain}"));
    }
    let company = normalise_company(contact.company.as_deref()?)?;
    Some(format!("company:{company}"))
}

/// The domain of `email` if it can stand for a company: the part after the
/// last `@`, lower-cased, without a trailing dot or a leading `www.` or
/// `mail.`. Subdomains are kept (`eu.acme.com`): telling `acme.co.uk` from
/// `eu.acme.com` needs the public suffix list, which is not worth carrying
/// for this.
fn company_domain(email: &str) -> Option<String> {
    let (local, domain) = email.trim().rsplit_once('@')?;
    if local.trim().is_empty() {
        return None;
    }
    let mut domain = domain.trim().trim_end_matches('.').to_lowercase();
    for prefix in ["www.", "mail."] {
        if let Some(rest) = domain.strip_prefix(prefix) {
            // `mail.ru` is a domain of its own, not a mail host of `ru`.
            if rest.contains('.') {
                domain = rest.to_string();
            }
            break;
        }
    }
    let well_formed = domain
        .split('.')
        .all(|label| !label.is_empty() && label.chars().all(|c| c.is_alphanumeric() || c == '-'));
    let tld = domain.rsplit('.').next().unwrap_or_default();
    // One label is a host, not a company (`localhost`); a numeric last label
    // is an IP address.
    if !well_formed || !domain.contains('.') || tld.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    if is_free_mail(&domain) || is_disposable_mail(&domain) {
        return None;
    }
    Some(domain)
}

/// Consumer mail domains: an address there says nothing about the company.
/// Sorted, for `binary_search`.
const FREE_MAIL: &[&str] = &[
    "126.com",
    "139.com",
    "163.com",
    "188.com",
    "aim.com",
    "alice.it",
    "aliyun.com",
    "aol.com",
    "att.net",
    "bellsouth.net",
    "bigpond.com",
    "bk.ru",
    "bluewin.ch",
    "btinternet.com",
    "charter.net",
    "comcast.net",
    "cox.net",
    "daum.net",
    "earthlink.net",
    "email.com",
    "fastmail.com",
    "fastmail.fm",
    "foxmail.com",
    "free.fr",
    "freenet.de",
    "gmail.com",
    "gmx.at",
    "gmx.ch",
    "gmx.com",
    "gmx.de",
    "gmx.net",
    "googlemail.com",
    "hanmail.net",
    "hey.com",
    "hotmail.co.uk",
    "hotmail.com",
    "hotmail.de",
    "hotmail.fr",
    "hotmail.it",
    "hushmail.com",
    "icloud.com",
    "inbox.ru",
    "interia.pl",
    "juno.com",
    "laposte.net",
    "libero.it",
    "list.ru",
    "live.co.uk",
    "live.com",
    "live.de",
    "live.fr",
    "live.it",
    "live.nl",
    "mac.com",
    "mail.com",
    "mail.ru",
    "mailbox.org",
    "me.com",
    "msn.com",
    "naver.com",
    "ntlworld.com",
    "o2.pl",
    "onet.pl",
    "optonline.net",
    "orange.fr",
    "outlook.com",
    "outlook.de",
    "outlook.fr",
    "pm.me",
    "posteo.de",
    "proton.me",
    "protonmail.ch",
    "protonmail.com",
    "qq.com",
    "rambler.ru",
    "rediffmail.com",
    "rocketmail.com",
    "rogers.com",
    "sbcglobal.net",
    "seznam.cz",
    "sfr.fr",
    "shaw.ca",
    "sina.com",
    "sky.com",
    "skynet.be",
    "sympatico.ca",
    "t-online.de",
    "talktalk.net",
    "telenet.be",
    "tin.it",
    "tiscali.it",
    "tuta.io",
    "tutanota.com",
    "verizon.net",
    "virgilio.it",
    "virginmedia.com",
    "wanadoo.fr",
    "web.de",
    "windowslive.com",
    "wp.pl",
    "ya.ru",
    "yahoo.co.jp",
    "yahoo.co.uk",
    "yahoo.com",
    "yahoo.de",
    "yahoo.fr",
    "yandex.com",
    "yandex.ru",
    "yeah.net",
    "ymail.com",
    "ziggo.nl",
    "zoho.com",
    "zohomail.com",
];

/// Brands with a consumer mail domain in many countries (`yahoo.co.jp`,
/// `hotmail.fr`, `gmx.at`), matched under any country or generic suffix
/// rather than listed one by one. Sorted.
const FREE_MAIL_BRANDS: &[&str] = &["gmx", "hotmail", "outlook", "yahoo", "yandex"];

/// Throwaway-address services: the same for every lead that uses them.
/// Sorted.
const DISPOSABLE_MAIL: &[&str] = &[
    "10minutemail.com",
    "burnermail.io",
    "discard.email",
    "dispostable.com",
    "emailondeck.com",
    "fakeinbox.com",
    "getnada.com",
    "grr.la",
    "guerrillamail.biz",
    "guerrillamail.com",
    "guerrillamail.de",
    "guerrillamail.info",
    "guerrillamail.net",
    "guerrillamail.org",
    "guerrillamailblock.com",
    "maildrop.cc",
    "mailinator.com",
    "mailnesia.com",
    "mintemail.com",
    "mohmal.com",
    "mytemp.email",
    "sharklasers.com",
    "spam4.me",
    "spamgourmet.com",
    "temp-mail.io",
    "temp-mail.org",
    "tempail.com",
    "tempmail.com",
    "tempmailo.com",
    "tempr.email",
    "throwawaymail.com",
    "trashmail.com",
    "trashmail.de",
    "yopmail.com",
    "yopmail.fr",
];

/// Whether `domain` (lower-case) is a free or consumer mail domain
/// (gmail.com, googlemail.com, yahoo.*, hotmail.*, outlook.*, live.com,
/// msn.com, icloud.com, me.com, mac.com, aol.com, gmx.*, web.de, mail.ru,
/// yandex.*, proton.me, protonmail.com, zoho.com, qq.com, 163.com, 126.com,
/// hey.com, fastmail.com, mail.com, t-online.de, orange.fr, free.fr,
/// libero.it, btinternet.com, comcast.net, …: about a hundred well-known
/// ones, in a sorted static list searched with `binary_search`, and the
/// `.*` brands under any country or generic suffix).
///
/// Upper-case letters and a trailing dot are tolerated all the same.
pub fn is_free_mail(domain: &str) -> bool {
    let domain = domain.trim_end_matches('.');
    if domain.bytes().any(|b| b.is_ascii_uppercase()) {
        return is_free_mail(&domain.to_ascii_lowercase());
    }
    if FREE_MAIL.binary_search(&domain).is_ok() {
        return true;
    }
    domain.split_once('.').is_some_and(|(brand, suffix)| {
        FREE_MAIL_BRANDS.binary_search(&brand).is_ok() && is_country_or_generic_suffix(suffix)
    })
}

fn is_disposable_mail(domain: &str) -> bool {
    DISPOSABLE_MAIL.binary_search(&domain).is_ok()
}

/// `com`, `de`, `co.uk`, `com.br`: what a brand's mail domain ends with in
/// one country or another.
fn is_country_or_generic_suffix(suffix: &str) -> bool {
    let country = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_lowercase());
    match suffix.split_once('.') {
        None => country(suffix) || matches!(suffix, "com" | "net" | "org"),
        Some((second, cc)) => {
            matches!(second, "co" | "com" | "ne" | "net" | "or" | "org") && country(cc)
        }
    }
}

/// Legal-form words dropped from the end of a company name. Sorted.
const LEGAL_SUFFIXES: &[&str] = &[
    "ab",
    "ag",
    "as",
    "bv",
    "co",
    "company",
    "corp",
    "corporation",
    "gmbh",
    "inc",
    "incorporated",
    "kg",
    "limited",
    "llc",
    "ltd",
    "nv",
    "oy",
    "plc",
    "pty",
    "sa",
    "sas",
    "spa",
    "srl",
];

/// The company name `name` in one form for all its spellings: lower-case,
/// punctuation and accents folded to spaces/ASCII where simple, legal
/// suffixes dropped (inc, incorporated, llc, ltd, limited, gmbh, ag, sa, sas,
/// bv, nv, plc, co, corp, corporation, company, pty, srl, spa, oy, ab, as,
/// kg), words joined by single spaces; None if nothing is left.
///
/// Dots, apostrophes and slashes join rather than separate, so that
/// abbreviations stay one word: `A.C.M.E.` is `acme`, `S.A.` is the suffix
/// `sa`, `A/S` is `as`, `McDonald's` is `mcdonalds`. Suffixes are dropped
/// from the end only (`GmbH & Co. KG` entirely), so `AB InBev` keeps its `ab`.
/// Letters of other scripts are kept as they are, lower-cased.
pub fn normalise_company(name: &str) -> Option<String> {
    let mut folded = String::with_capacity(name.len());
    for c in name.chars() {
        match c {
            '.' | '\'' | '\u{2019}' | '\u{02BC}' | '`' | '\u{00B4}' | '/' => {}
            _ if is_combining_mark(c) => {}
            _ if c.is_alphanumeric() => c.to_lowercase().for_each(|l| push_folded(&mut folded, l)),
            _ => folded.push(' '),
        }
    }
    let mut words: Vec<&str> = folded.split_whitespace().collect();
    while words
        .last()
        .is_some_and(|w| LEGAL_SUFFIXES.binary_search(w).is_ok())
    {
        words.pop();
    }
    (!words.is_empty()).then(|| words.join(" "))
}

/// The accents of decomposed text (`u` + U+0308): dropped, as the
/// precomposed letters' accents are.
fn is_combining_mark(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036F}' | '\u{1AB0}'..='\u{1AFF}' | '\u{1DC0}'..='\u{1DFF}' | '\u{20D0}'..='\u{20FF}' | '\u{FE20}'..='\u{FE2F}')
}

/// Pushes lower-case `c`, a Latin letter with an accent or a ligature as
/// its plain ASCII letters (`ü` as `u`, `ß` as `ss`), anything else as is.
fn push_folded(out: &mut String, c: char) {
    let plain = match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => "a",
        'æ' => "ae",
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => "c",
        'ď' | 'đ' | 'ð' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => "e",
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => "g",
        'ĥ' | 'ħ' => "h",
        'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => "i",
        'ĳ' => "ij",
        'ĵ' => "j",
        'ķ' => "k",
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' => "l",
        'ñ' | 'ń' | 'ņ' | 'ň' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ŏ' | 'ő' => "o",
        'œ' => "oe",
        'ŕ' | 'ŗ' | 'ř' => "r",
        'ś' | 'ŝ' | 'ş' | 'š' | 'ș' => "s",
        'ß' => "ss",
        'ţ' | 'ť' | 'ŧ' | 'ț' => "t",
        'þ' => "th",
        'ù' | 'ú' | 'û' | 'ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => "u",
        'ŵ' => "w",
        'ý' | 'ÿ' | 'ŷ' => "y",
        'ź' | 'ż' | 'ž' => "z",
        _ if is_combining_mark(c) => "",
        _ => {
            out.push(c);
            return;
        }
    };
    out.push_str(plain);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(email: Option<&str>, company: Option<&str>) -> Contact {
        Contact {
            name: "Someone".into(),
            email: email.map(Into::into),
            company: company.map(Into::into),
            title: None,
            phone: None,
            country: None,
            company_size: None,
        }
    }

    fn key(email: Option<&str>, company: Option<&str>) -> Option<String> {
        account_key(&contact(email, company))
    }

    #[test]
    fn people_of_one_company_share_its_domain() {
        let want = Some("domain:acme.com".to_string());
        assert_eq!(key(Some("jane.doe@acme.com"), Some("Acme Corp")), want);
        assert_eq!(key(Some("JOHN@ACME.COM"), Some("ACME")), want);
        assert_eq!(key(Some("  bob@Acme.com.  "), None), want);
        assert_eq!(key(Some("ops@www.acme.com"), Some("Other")), want);
        assert_eq!(key(Some("ops@mail.acme.com"), None), want);
        // The last `@` is the one that counts.
        assert_eq!(key(Some("\"a@b\"@acme.com"), None), want);
        // Subdomains other than www/mail stay: no public suffix list.
        assert_eq!(
            key(Some("eva@eu.acme.com"), None),
            Some("domain:eu.acme.com".into())
        );
        assert_eq!(
            key(Some("eva@acme.co.uk"), None),
            Some("domain:acme.co.uk".into())
        );
        // The demo's domains.
        assert_eq!(
            key(Some("ava@northwind.example"), Some("Northwind Logistics")),
            Some("domain:northwind.example".into())
        );
    }

    #[test]
    fn free_and_throwaway_mail_falls_back_to_the_company() {
        for email in [
            "jane@gmail.com",
            "jane@GoogleMail.com",
            "jane@yahoo.co.jp",
            "jane@hotmail.fr",
            "jane@gmx.at",
            "jane@outlook.com.br",
            "jane@mail.ru",
            "jane@proton.me",
            "jane@t-online.de",
            "jane@mailinator.com",
            "jane@yopmail.com",
        ] {
            assert_eq!(
                key(Some(email), Some("ACME, Inc.")),
                Some("company:acme".into()),
                "{email}"
            );
            assert_eq!(key(Some(email), None), None, "{email}");
        }
    }

    #[test]
    fn what_is_free_mail() {
        for d in [
            "gmail.com",
            "googlemail.com",
            "yahoo.com",
            "yahoo.de",
            "yahoo.com.au",
            "hotmail.co.uk",
            "outlook.de",
            "live.com",
            "msn.com",
            "icloud.com",
            "me.com",
            "mac.com",
            "aol.com",
            "gmx.net",
            "gmx.ch",
            "web.de",
            "mail.ru",
            "yandex.ru",
            "yandex.com.tr",
            "proton.me",
            "protonmail.com",
            "zoho.com",
            "qq.com",
            "163.com",
            "126.com",
            "hey.com",
            "fastmail.com",
            "mail.com",
            "t-online.de",
            "orange.fr",
            "free.fr",
            "libero.it",
            "btinternet.com",
            "comcast.net",
            "Gmail.com",
            "gmail.com.",
        ] {
            assert!(is_free_mail(d), "{d}");
        }
        for d in [
            "acme.com",
            "yahoo-inc.com",
            "mail.acme.com",
            "gmail.acme.com",
            "outlook.acme.com",
            "yahoo.company",
            "com",
            "",
        ] {
            assert!(!is_free_mail(d), "{d}");
        }
    }

    #[test]
    fn the_lists_are_sorted_lower_case_and_without_repeats() {
        for list in [FREE_MAIL, FREE_MAIL_BRANDS, DISPOSABLE_MAIL, LEGAL_SUFFIXES] {
            assert!(list.windows(2).all(|w| w[0] < w[1]), "{list:?}");
            assert!(list.iter().all(|d| *d == d.to_lowercase()), "{list:?}");
        }
        assert!(FREE_MAIL.len() >= 60);
    }

    #[test]
    fn company_names_normalise_to_one_form() {
        for name in [
            "ACME, Inc.",
            "Acme Inc",
            "acme",
            "  Acme  ",
            "Acme Incorporated",
            "ACME Corp.",
            "Acme Corporation",
            "Acme Co.",
            "Acme LLC",
            "Acme Ltd.",
            "Acme Pty Ltd",
            "A.C.M.E. Inc.",
            "Acme GmbH & Co. KG",
            "ACME S.A.",
            "Acme A/S",
        ] {
            assert_eq!(normalise_company(name).as_deref(), Some("acme"), "{name}");
        }
        let cases = [
            ("Müller GmbH", "muller"),
            ("MÜLLER GMBH", "muller"),
            ("Mu\u{0308}ller GmbH", "muller"),
            ("Société Générale S.A.", "societe generale"),
            ("Straße & Söhne AG", "strasse sohne"),
            ("Ørsted A/S", "orsted"),
            ("Łódź Żywiec Sp", "lodz zywiec sp"),
            ("Harbor & Finch", "harbor finch"),
            ("McDonald's Corporation", "mcdonalds"),
            ("AB InBev", "ab inbev"),
            ("The Company Store", "the company store"),
            ("3M Company", "3m"),
            ("Atelier Numérique", "atelier numerique"),
            ("トヨタ自動車", "トヨタ自動車"),
        ];
        for (name, want) in cases {
            assert_eq!(normalise_company(name).as_deref(), Some(want), "{name}");
        }
    }

    #[test]
    fn nothing_to_key_on() {
        for name in ["", "   ", "Inc.", "GmbH & Co. KG", "!!! ---", "Company"] {
            assert_eq!(normalise_company(name), None, "{name:?}");
        }
        assert_eq!(key(None, None), None);
        assert_eq!(key(None, Some("")), None);
        assert_eq!(key(None, Some("Ltd")), None);
        for email in [
            "",
            "no-at-sign",
            "jane@",
            "@acme.com",
            "jane@localhost",
            "jane@192.168.0.1",
            "jane@acme..com",
            "jane@acme com",
            "Jane <jane@acme.com>",
        ] {
            assert_eq!(key(Some(email), None), None, "{email:?}");
        }
        // A bad email still leaves the company.
        assert_eq!(
            key(Some("jane@"), Some("Acme GmbH")),
            Some("company:acme".into())
        );
    }
}
