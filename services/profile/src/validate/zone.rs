//! Time zones: IANA tz database names, checked against a list shipped in
//! the crate (`zones.txt`, tzdata 2025b, zones plus backward-compatible
//! links) instead of a tz crate: a profile only needs the name, not the
//! rules. Matching ignores ASCII case and returns the canonical spelling.
//! Refresh the list when tzdata adds zones (rare; names are never removed).

use std::sync::LazyLock;

use crate::ProfileError;

/// Every accepted name, sorted.
static NAMES: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    include_str!("zones.txt")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect()
});

/// Longest accepted name (the longest IANA name is 30 characters).
const ZONE_MAX: usize = 64;

/// Checks an IANA time zone name and returns its canonical spelling.
pub fn time_zone(field: &str, raw: &str) -> Result<String, ProfileError> {
    let found = (raw.len() <= ZONE_MAX)
        .then(|| NAMES.iter().find(|name| name.eq_ignore_ascii_case(raw)))
        .flatten();
    found.map(|name| (*name).to_owned()).ok_or_else(|| {
        ProfileError::field(
            field,
            "must be an IANA time zone name such as `Europe/Paris` or `America/Sao_Paulo`",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_zones_are_accepted_in_canonical_spelling() {
        assert!(NAMES.len() > 500);
        assert!(
            NAMES.windows(2).all(|w| w[0] < w[1]),
            "zones.txt must be sorted"
        );
        assert_eq!(time_zone("tz", "Europe/Paris").unwrap(), "Europe/Paris");
        assert_eq!(
            time_zone("tz", "america/sao_paulo").unwrap(),
            "America/Sao_Paulo"
        );
        assert_eq!(time_zone("tz", "UTC").unwrap(), "UTC");
        assert_eq!(time_zone("tz", "Asia/Kolkata").unwrap(), "Asia/Kolkata");
    }

    #[test]
    fn unknown_names_are_refused() {
        for raw in [
            "",
            "Mars/Olympus_Mons",
            "Europe/Pariss",
            "+02:00",
            "Factory",
            "Europe/Paris ",
        ] {
            assert!(time_zone("time_zone", raw).is_err(), "{raw:?} accepted");
        }
    }
}
