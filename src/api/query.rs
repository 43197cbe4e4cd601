//! Pure: values read from a URL query string, shared by the API, playback and the console.

use percent_encoding::percent_decode_str;

/// Every value of `name` in a query string, percent-decoded (`+` is a space).
pub(crate) fn query_values(query: &str, name: &str) -> Vec<String> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .filter(|(key, _)| *key == name)
        .map(|(_, value)| {
            percent_decode_str(&value.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_repeated_query_values() {
        assert_eq!(
            query_values("tagKeys=a&tagKeys=b%20c&other=x", "tagKeys"),
            vec!["a".to_owned(), "b c".to_owned()]
        );
    }

    #[test]
    fn a_missing_name_has_no_values() {
        assert!(query_values("a=1&b", "b").is_empty());
    }
}
